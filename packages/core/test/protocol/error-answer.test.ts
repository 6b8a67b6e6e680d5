import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors/errors';
import { isTransientStatus, parseOAuthErrorBody, parseRetryAfter } from '../../src/protocol/index';

const NOW = Date.UTC(2015, 9, 21, 7, 0, 0);

describe('isTransientStatus', () => {
  it.each([500, 502, 503, 504, 599, 429, 408])('%i is transient', (s) => expect(isTransientStatus(s)).toBe(true));
  it.each([200, 301, 400, 401, 403, 404, 600])('%i is not', (s) => expect(isTransientStatus(s)).toBe(false));
});

describe('parseRetryAfter', () => {
  it.each<[string | null | undefined, number | undefined]>([
    ['120', NOW + 120_000],
    [' 0 ', NOW],
    ['Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 28)],
    ['wed, 21 oct 2015 07:28:00 gmt', Date.UTC(2015, 9, 21, 7, 28)],
    ['Wednesday, 21-Oct-15 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 28)],
    ['Wed Oct 21 07:28:00 2015', Date.UTC(2015, 9, 21, 7, 28)],
    ['Sun Nov  1 07:28:00 2015', Date.UTC(2015, 10, 1, 7, 28)],
    ['Tue, 20 Oct 2015 07:28:00 GMT', NOW],
    ['Sat, 31 Feb 2015 07:28:00 GMT', undefined],
    ['Wed, 21 Oct 2015 25:28:00 GMT', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['2015-10-21T07:28:00Z', undefined],
    ['9'.repeat(400), undefined],
    ['', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('%j → %s', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('parseOAuthErrorBody', () => {
  it('reads error, description and status', () => {
    const e = parseOAuthErrorBody(400, '{"error":"invalid_grant","error_description":"code expired"}');
    expect(e).toBeInstanceOf(OAuthError);
    expect(e).toMatchObject({ error: 'invalid_grant', description: 'code expired', status: 400 });
    expect(e?.message).toBe('the provider answered 400 with OAuth error "invalid_grant": code expired');
  });

  it('turns a 401 JSON object without error into invalid_grant, but not other statuses', () => {
    expect(parseOAuthErrorBody(401, '{}')?.error).toBe('invalid_grant');
    expect(parseOAuthErrorBody(400, '{}')).toBeUndefined();
    expect(parseOAuthErrorBody(401, '{"error":null}')).toBeUndefined();
  });

  it.each(['', 'not json', '[]', '"invalid_grant"', '{"error":""}', '{"error":7}', 'null'])('ignores %j', (text) => {
    expect(parseOAuthErrorBody(400, text)).toBeUndefined();
  });

  it('drops a non-string description and redacts secrets inside a string one', () => {
    expect(parseOAuthErrorBody(400, '{"error":"x","error_description":5}')?.description).toBeUndefined();
    expect(parseOAuthErrorBody(400, '{"error":"x","error_description":"bad refresh_token=RT1"}')?.description).toBe(
      'bad refresh_token=[redacted]',
    );
  });

  it('keeps the redacted body as cause', () => {
    expect(parseOAuthErrorBody(400, '{"error":"x","code":"abc"}')?.cause).toBe('{"error":"x","code":"[redacted]"}');
  });
});
