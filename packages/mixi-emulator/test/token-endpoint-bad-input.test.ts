import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceCredentials } from '../src/index';
import { bodyOf, expectOAuthError, jsonOf, postForm, registerService, startEmulator, type Harness } from './support/harness';

describe('token endpoint: bad input', () => {
  let h: Harness;
  let client: ServiceCredentials;
  let token: string;
  beforeAll(async () => {
    h = await startEmulator({ maxBodyBytes: 4096 });
    client = registerService(h.emulator);
    token = `${h.url}/2/token`;
  });
  afterAll(() => h.close());
  const creds = () => ({ client_id: client.clientId, client_secret: client.clientSecret });

  it('takes POST only (405, Allow: POST, JSON error)', async () => {
    const res = await fetch(token);
    await expectOAuthError(res, 405, 'invalid_request');
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('refuses a body that is not form-encoded', async () => {
    const json = await fetch(token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'refresh_token' }) });
    await expectOAuthError(json, 400, 'invalid_request');
    const none = await fetch(token, { method: 'POST', body: 'grant_type=refresh_token' });
    await expectOAuthError(none, 400, 'invalid_request');
  });

  it('refuses a missing grant_type with invalid_request and an unknown one with unsupported_grant_type', async () => {
    await expectOAuthError(await postForm(token, creds()), 400, 'invalid_request');
    await expectOAuthError(await postForm(token, { grant_type: 'password', ...creds() }), 400, 'unsupported_grant_type');
    await expectOAuthError(await postForm(token, { grant_type: 'client_credentials', ...creds() }), 400, 'unsupported_grant_type');
  });

  it('refuses a repeated parameter', async () => {
    const body = `grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id=${client.clientId}&client_secret=${client.clientSecret}`;
    const res = await fetch(token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    await expectOAuthError(res, 400, 'invalid_request');
  });

  it('refuses parameters in the query string', async () => {
    const res = await postForm(`${token}?client_secret=${client.clientSecret}`, { grant_type: 'server_state', client_id: client.clientId });
    await expectOAuthError(res, 400, 'invalid_request');
  });

  it('refuses a missing code or refresh_token with invalid_request', async () => {
    await expectOAuthError(await postForm(token, { grant_type: 'authorization_code', ...creds() }), 400, 'invalid_request');
    await expectOAuthError(await postForm(token, { grant_type: 'authorization_code', code: '', ...creds() }), 400, 'invalid_request');
    await expectOAuthError(await postForm(token, { grant_type: 'refresh_token', ...creds() }), 400, 'invalid_request');
  });

  it('refuses an unknown scope on refresh with invalid_scope', async () => {
    const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
    await expectOAuthError(await postForm(token, { grant_type: 'refresh_token', refresh_token: grant.refreshToken, scope: 'r_nothing', ...creds() }), 400, 'invalid_scope');
  });

  it('refuses an oversized body with 413 and a JSON error', async () => {
    const res = await postForm(token, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(5000), ...creds() });
    await expectOAuthError(res, 413, 'invalid_request');
  });

  it('refuses an oversized chunked body (no Content-Length) too', async () => {
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(`x${i}=${'y'.repeat(1000)}&`));
        controller.close();
      },
    });
    const res = await fetch(token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    await expectOAuthError(res, 413, 'invalid_request');
  });

  it('counts every token request by grant type and every error by code', async () => {
    const before = h.emulator.counters.snapshot();
    await postForm(token, { grant_type: 'server_state', client_id: client.clientId });
    await postForm(token, { grant_type: 'password', ...creds() });
    const after = h.emulator.counters.snapshot();
    expect(after.tokenRequests.server_state).toBe(before.tokenRequests.server_state + 1);
    expect(after.tokenRequests.other).toBe(before.tokenRequests.other + 1);
    expect(after.tokenErrors.unsupported_grant_type).toBe((before.tokenErrors.unsupported_grant_type ?? 0) + 1);
  });

  it('never answers 500 or a stack trace, whatever the form body', async () => {
    const field = fc.constantFrom('grant_type', 'client_id', 'client_secret', 'code', 'refresh_token', 'redirect_uri', 'server_state', 'scope', 'x');
    const value = fc.oneof(
      fc.constantFrom('authorization_code', 'refresh_token', 'server_state', client.clientId, client.clientSecret, '', '%', '%zz', '\u0000', 'r_profile'),
      fc.string({ maxLength: 40 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(field, value), { maxLength: 8 }), fc.constantFrom('application/x-www-form-urlencoded', 'text/plain', ''), async (pairs, type) => {
        const body = pairs.map(([k, v]) => `${k}=${v}`).join('&');
        const res = await fetch(token, { method: 'POST', headers: type ? { 'content-type': type } : {}, body });
        const json = await jsonOf(res);
        expect(res.status === 200 || typeof json.error === 'string').toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('answers a raw garbage body with JSON, not a crash', async () => {
    const res = await fetch(token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new Uint8Array([0xff, 0xfe, 0x00, 0x26, 0x3d]) });
    expect((await bodyOf(res)).startsWith('{')).toBe(true);
    expect(res.status).toBe(400);
  });
});
