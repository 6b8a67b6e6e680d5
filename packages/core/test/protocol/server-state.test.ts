import { describe, expect, it } from 'vitest';
import { InvalidResponseError, OAuthError, ProviderUnavailableError } from '../../src/errors/errors';
import { processServerStateResponse } from '../../src/protocol/index';
import { NOW, answer } from './fixtures';

describe('processServerStateResponse', () => {
  it('reads server_state and its lifetime', () => {
    const s = processServerStateResponse(answer(200, { server_state: 'ss-abc', expires_in: 1800 }), NOW);
    expect(s.serverState.reveal()).toBe('ss-abc');
    expect(s.expiresAt).toBe(NOW + 1_800_000);
    expect(JSON.stringify(s)).not.toContain('ss-abc');
  });

  it('gives a null deadline without expires_in', () => {
    expect(processServerStateResponse(answer(200, { server_state: 'x' }), NOW).expiresAt).toBeNull();
  });

  it.each<[number, string | object, unknown, string]>([
    [200, {}, InvalidResponseError, 'server_state answer has no "server_state"'],
    [200, { server_state: 5 }, InvalidResponseError, 'server_state answer "server_state" must be a non-empty string'],
    [200, { server_state: 'x', expires_in: 0 }, InvalidResponseError, 'server_state answer "expires_in" must be a positive number'],
    [200, '<html/>', InvalidResponseError, 'server_state answer is not JSON'],
    [400, { error: 'invalid_client' }, OAuthError, 'the provider answered 400 with OAuth error "invalid_client"'],
    [503, '', ProviderUnavailableError, 'the provider answered the server_state request with 503'],
  ])('%i %j → typed error', (status, body, type, message) => {
    const call = () => processServerStateResponse(answer(status, body), NOW);
    expect(call).toThrow(type as never);
    expect(call).toThrow(message);
  });
});
