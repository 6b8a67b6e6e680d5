import { describe, expect, it } from 'vitest';
import { classifyBearerError, type BearerProblem } from '../../src/protocol/index';

const h = (value?: string) => new Headers(value === undefined ? {} : { 'www-authenticate': value });

describe('classifyBearerError', () => {
  it.each<[number, string | undefined, BearerProblem]>([
    [200, 'Bearer error="invalid_token"', { kind: 'none' }],
    [204, undefined, { kind: 'none' }],
    [401, 'Bearer error="invalid_token", error_description="The access token expired"', { kind: 'expired', description: 'The access token expired' }],
    [401, 'Bearer error="invalid_token", error_description="Token EXPIRED at noon"', { kind: 'expired', description: 'Token EXPIRED at noon' }],
    [401, 'Bearer error="invalid_token", error_description="The access token was revoked"', { kind: 'invalid_token', description: 'The access token was revoked' }],
    [401, 'Bearer error="invalid_token"', { kind: 'invalid_token' }],
    [401, 'Bearer error="invalid_token", error_description=""', { kind: 'invalid_token' }],
    [401, "OAuth error='expired_token'", { kind: 'expired' }],
    [401, 'oauth error="expired_token"', { kind: 'expired' }],
    [401, 'BEARER error="INVALID_TOKEN"', { kind: 'invalid_token' }],
    [401, 'Bearer error="insufficient_scope", scope="r_profile r_voice"', { kind: 'insufficient_scope', scope: ['r_profile', 'r_voice'] }],
    [403, 'Bearer error="insufficient_scope"', { kind: 'insufficient_scope', scope: [] }],
    [400, 'Bearer error="invalid_request", error_description="bad"', { kind: 'invalid_request', description: 'bad' }],
    [401, 'Bearer error="something_new"', { kind: 'unknown', error: 'something_new' }],
    [401, undefined, { kind: 'unknown' }],
    [401, 'Bearer realm="api"', { kind: 'unknown' }],
    [401, 'Basic realm="api"', { kind: 'unknown' }],
    [401, '"""garbage', { kind: 'unknown' }],
    [403, undefined, { kind: 'none' }],
    [500, 'Basic realm="x"', { kind: 'none' }],
    [401, 'Basic realm="x", Bearer realm="y", Bearer error="invalid_token"', { kind: 'invalid_token' }],
  ])('%i %s', (status, header, expected) => {
    expect(classifyBearerError(status, h(header))).toEqual(expected);
  });

  it('reads challenges from repeated headers', () => {
    const headers = new Headers();
    headers.append('www-authenticate', 'Basic realm="x"');
    headers.append('www-authenticate', 'Bearer error="expired_token"');
    expect(classifyBearerError(401, headers)).toEqual({ kind: 'expired' });
  });
});
