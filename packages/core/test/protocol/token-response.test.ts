import { describe, expect, it } from 'vitest';
import { InvalidResponseError, OAuthError, ProviderUnavailableError } from '../../src/errors/errors';
import { processTokenResponse } from '../../src/protocol/index';
import { NOW, answer, seedTokenAnswer } from './fixtures';

const process = (status: number, body: string | object, headers?: Record<string, string>) =>
  processTokenResponse(answer(status, body, headers), { now: NOW });

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('processTokenResponse: valid answers', () => {
  it('reads the seed answer', () => {
    const t = process(200, seedTokenAnswer);
    expect(t.accessToken.reveal()).toBe('c2be2257f3dae3df4efcb010ae6eea');
    expect(t.refreshToken?.reveal()).toBe('39c5662a2e8b87d41c1eebe79f68af');
    expect(t.tokenType).toBe('Bearer');
    expect(t.expiresAt).toBe(NOW + 900_000);
    expect(t.scope).toEqual(['r_profile', 'r_voice']);
    expect(t.idToken).toBeNull();
  });

  it('keeps id_token when present', () => {
    expect(process(200, { ...seedTokenAnswer, id_token: 'eyJ.x.y' }).idToken?.reveal()).toBe('eyJ.x.y');
  });

  it('gives a null refresh token when the answer has none, so the engine keeps the old one', () => {
    const { refresh_token: _, ...rest } = seedTokenAnswer;
    expect(process(200, rest).refreshToken).toBeNull();
    expect(process(200, { ...rest, refresh_token: null }).refreshToken).toBeNull();
  });

  it('accepts token_type in any case, and its absence, as Bearer', () => {
    expect(process(200, { ...seedTokenAnswer, token_type: 'bEaReR' }).tokenType).toBe('bEaReR');
    const { token_type: _, ...rest } = seedTokenAnswer;
    expect(process(200, rest).tokenType).toBe('Bearer');
  });

  it('accepts a numeric string and a fractional expires_in; absent gives null', () => {
    expect(process(200, { ...seedTokenAnswer, expires_in: '900' }).expiresAt).toBe(NOW + 900_000);
    expect(process(200, { ...seedTokenAnswer, expires_in: 1.5 }).expiresAt).toBe(NOW + 1500);
    const { expires_in: _, ...rest } = seedTokenAnswer;
    expect(process(200, rest).expiresAt).toBeNull();
  });

  it('gives null scope when absent and splits on any whitespace', () => {
    const { scope: _, ...rest } = seedTokenAnswer;
    expect(process(200, rest).scope).toBeNull();
    expect(process(200, { ...seedTokenAnswer, scope: ' a  b\tc ' }).scope).toEqual(['a', 'b', 'c']);
    expect(process(200, { ...seedTokenAnswer, scope: '' }).scope).toEqual([]);
  });

  it('accepts any 2xx and a UTF-8 BOM-free body with surrounding whitespace', () => {
    expect(process(201, `  ${JSON.stringify(seedTokenAnswer)}\n`).accessToken.reveal()).toBe(seedTokenAnswer.access_token);
  });
});

describe('processTokenResponse: malformed answers', () => {
  it.each<[string, string | object, string]>([
    ['missing access_token', { token_type: 'Bearer', expires_in: 900 }, 'token answer has no "access_token"'],
    ['null access_token', { ...seedTokenAnswer, access_token: null }, 'token answer has no "access_token"'],
    ['numeric access_token', { ...seedTokenAnswer, access_token: 12345 }, 'token answer "access_token" must be a non-empty string'],
    ['empty access_token', { ...seedTokenAnswer, access_token: '' }, 'token answer "access_token" must be a non-empty string'],
    ['token_type mac', { ...seedTokenAnswer, token_type: 'mac' }, 'token answer "token_type" must be "Bearer"'],
    ['numeric token_type', { ...seedTokenAnswer, token_type: 1 }, 'token answer "token_type" must be a non-empty string when present'],
    ['expires_in 0', { ...seedTokenAnswer, expires_in: 0 }, 'token answer "expires_in" must be a positive number'],
    ['expires_in -1', { ...seedTokenAnswer, expires_in: -1 }, 'token answer "expires_in" must be a positive number'],
    ['expires_in "abc"', { ...seedTokenAnswer, expires_in: 'abc' }, 'token answer "expires_in" must be a positive number'],
    ['expires_in "-5"', { ...seedTokenAnswer, expires_in: '-5' }, 'token answer "expires_in" must be a positive number'],
    ['expires_in true', { ...seedTokenAnswer, expires_in: true }, 'token answer "expires_in" must be a positive number'],
    ['expires_in 1e308', { ...seedTokenAnswer, expires_in: 1e308 }, 'token answer "expires_in" is out of range'],
    ['numeric scope', { ...seedTokenAnswer, scope: 42 }, 'token answer "scope" must be a string when present'],
    ['array scope', { ...seedTokenAnswer, scope: ['r_profile'] }, 'token answer "scope" must be a string when present'],
    ['empty refresh_token', { ...seedTokenAnswer, refresh_token: '' }, 'token answer "refresh_token" must be a non-empty string when present'],
    ['numeric id_token', { ...seedTokenAnswer, id_token: 7 }, 'token answer "id_token" must be a non-empty string when present'],
    ['HTML page with 200', '<html><body>Welcome</body></html>', 'token answer is not JSON'],
    ['empty body', '', 'token answer is empty'],
    ['blank body', '  \n', 'token answer is empty'],
    ['array body', [seedTokenAnswer], 'token answer must be a JSON object'],
    ['null body', 'null', 'token answer must be a JSON object'],
    ['string body', '"c2be2257"', 'token answer must be a JSON object'],
    ['truncated JSON', '{"access_token":"c2be', 'token answer is not JSON'],
  ])('%s → InvalidResponseError', (_, body, message) => {
    const e = thrown(() => process(200, body));
    expect(e).toBeInstanceOf(InvalidResponseError);
    expect((e as InvalidResponseError).message).toBe(message);
    expect((e as InvalidResponseError).status).toBe(200);
    expect((e as InvalidResponseError).code).toBe('invalid_response');
  });

  it('names the content type of a 200 HTML page', () => {
    expect(() => process(200, '<html></html>', { 'content-type': 'text/html; charset=utf-8' })).toThrow(
      'token answer is not JSON (content-type "text/html; charset=utf-8")',
    );
  });

  it('keeps no body as cause for a 2xx it could not read', () => {
    expect((thrown(() => process(200, 'access_token c2be2257')) as Error).cause).toBeUndefined();
  });
});

describe('processTokenResponse: error answers', () => {
  it.each([
    [400, 'invalid_grant'],
    [401, 'invalid_grant'],
    [400, 'invalid_client'],
    [401, 'invalid_client'],
    [400, 'unsupported_grant_type'],
    [400, 'x_vendor_specific_code'],
  ])('%i {"error":"%s"} → OAuthError with the code verbatim', (status, error) => {
    const e = thrown(() => process(status, { error, error_description: 'because' }));
    expect(e).toBeInstanceOf(OAuthError);
    expect(e).toMatchObject({ code: 'oauth_error', error, status, description: 'because' });
  });

  it('reads a 401 with a JSON body but no error as invalid_grant (mixi: expired refresh token)', () => {
    for (const body of [{}, { message: 'Expired refresh token would never work' }]) {
      const e = thrown(() => process(401, body));
      expect(e).toBeInstanceOf(OAuthError);
      expect(e).toMatchObject({ error: 'invalid_grant', status: 401 });
    }
  });

  it('reads a 200 carrying an error and no access_token as an OAuthError', () => {
    expect(thrown(() => process(200, { error: 'invalid_grant' }))).toMatchObject({ error: 'invalid_grant', status: 200 });
  });

  it.each([
    [400, '<html><h1>Bad Request</h1></html>', 'token answer with status 400 is not an OAuth error body'],
    [401, 'Authorization Required', 'token answer with status 401 is not an OAuth error body'],
    [400, '{"error":42}', 'token answer with status 400 is not an OAuth error body'],
    [403, '[]', 'token answer with status 403 is not an OAuth error body'],
    [302, '', 'token answer with status 302 is not an OAuth error body'],
  ])('%i non-OAuth body → InvalidResponseError', (status, body, message) => {
    const e = thrown(() => process(status, body));
    expect(e).toBeInstanceOf(InvalidResponseError);
    expect(e).toMatchObject({ message, status });
  });

  it.each([500, 502, 503, 504, 429, 408])('%i → ProviderUnavailableError', (status) => {
    const e = thrown(() => process(status, '<html>Service Unavailable</html>'));
    expect(e).toBeInstanceOf(ProviderUnavailableError);
    expect(e).toMatchObject({ code: 'provider_unavailable', status, retryAt: undefined });
  });

  it('a 500 HTML page keeps its redacted text as cause', () => {
    const e = thrown(() => process(500, '<html>boom refresh_token=39c5662a</html>')) as Error;
    expect(e.cause).toBe('<html>boom refresh_token=[redacted]</html>');
  });

  it('a 503 even with an OAuth error body stays transient', () => {
    expect(thrown(() => process(503, { error: 'temporarily_unavailable' }))).toBeInstanceOf(ProviderUnavailableError);
  });

  it('503 with Retry-After seconds', () => {
    expect(thrown(() => process(503, '', { 'retry-after': '120' }))).toMatchObject({ status: 503, retryAt: NOW + 120_000 });
  });

  it('503 with Retry-After as an HTTP-date', () => {
    const at = NOW + 3_600_000;
    expect(thrown(() => process(503, '', { 'retry-after': new Date(at).toUTCString() }))).toMatchObject({
      retryAt: Math.floor(at / 1000) * 1000,
    });
  });

  it('429 with Retry-After', () => {
    expect(thrown(() => process(429, '{"error":"slow_down"}', { 'retry-after': '7' }))).toMatchObject({
      status: 429,
      retryAt: NOW + 7000,
    });
  });

  it('refuses a non-finite now', () => {
    expect(() => processTokenResponse(answer(200, seedTokenAnswer), { now: Number.NaN })).toThrow('now must be a finite number');
  });
});
