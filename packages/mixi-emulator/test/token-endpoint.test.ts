import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceCredentials } from '../src/index';
import {
  authorizeUrl,
  Browser,
  callApi,
  ensureUser,
  exchangeCode,
  expectOAuthError,
  jsonOf,
  obtainCode,
  postForm,
  refresh,
  registerService,
  startEmulator,
  type Harness,
} from './support/harness';

interface TokenBody {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope: string;
  id_token?: string;
}

describe('token endpoint: authorization_code grant', () => {
  let h: Harness;
  let client: ServiceCredentials;
  beforeAll(async () => {
    h = await startEmulator();
    client = registerService(h.emulator);
  });
  afterAll(() => h.close());

  it('exchanges a code for the seed-shaped token answer, never cacheable', async () => {
    const { code, location } = await obtainCode(h, client, { scope: 'r_profile r_voice' });
    expect(location.searchParams.get('state')).toBe('st');
    const res = await exchangeCode(h, client, code);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await jsonOf<TokenBody>(res);
    expect(Object.keys(body)).toEqual(['refresh_token', 'expires_in', 'access_token', 'token_type', 'scope']);
    expect(body).toMatchObject({ expires_in: 900, token_type: 'Bearer', scope: 'r_profile r_voice' });
    expect(body.access_token).toMatch(/^[0-9a-f]{30}$/);
    expect(body.refresh_token).toMatch(/^[0-9a-f]{30}$/);
    expect((await callApi(h, '/2/people/@me/@self', body.access_token)).status).toBe(200);
  });

  it('accepts a redirect_uri equal to the registered one and refuses any other with 400 invalid_grant', async () => {
    const first = await obtainCode(h, client);
    const wrong = await exchangeCode(h, client, first.code, { redirect_uri: 'http://127.0.0.1:9/other' });
    await expectOAuthError(wrong, 400, 'invalid_grant');
    // A mismatch does not burn the code: the right request still works.
    const right = await exchangeCode(h, client, first.code, { redirect_uri: 'http://127.0.0.1:9/callback' });
    expect(right.status).toBe(200);
  });

  it('answers a reused code with 401 invalid_grant and revokes the grant it produced', async () => {
    const { code } = await obtainCode(h, client);
    const first = await jsonOf<TokenBody>(await exchangeCode(h, client, code));
    const before = h.emulator.counters.snapshot().codeReuseDetections;
    await expectOAuthError(await exchangeCode(h, client, code), 401, 'invalid_grant');
    expect(h.emulator.counters.snapshot().codeReuseDetections).toBe(before + 1);
    const api = await callApi(h, '/2/people/@me/@self', first.access_token);
    expect(api.status).toBe(401);
    expect(h.emulator.findGrant({ accessToken: first.access_token })?.revokedReason).toBe('code_reuse');
  });

  it('lets a code live 3 minutes on the virtual clock and answers an expired one with 401 invalid_grant', async () => {
    const early = await obtainCode(h, client);
    h.emulator.clock.advance(170_000);
    expect((await exchangeCode(h, client, early.code)).status).toBe(200);

    const late = await obtainCode(h, client);
    h.emulator.clock.advance(180_000);
    const body = await expectOAuthError(await exchangeCode(h, client, late.code), 401, 'invalid_grant');
    expect(body.error_description).toMatch(/expired/);
  });

  it('binds a code to its client: another client gets 401 invalid_grant, as for an unknown code', async () => {
    const other = registerService(h.emulator, { name: 'Other' });
    const { code } = await obtainCode(h, client);
    await expectOAuthError(await exchangeCode(h, other, code), 401, 'invalid_grant');
    await expectOAuthError(await exchangeCode(h, client, 'f'.repeat(32)), 401, 'invalid_grant');
  });

  it('honours a configured expires_in', async () => {
    const short = await startEmulator({ accessTokenLifetimeSec: 60 });
    try {
      const c = registerService(short.emulator);
      const { code } = await obtainCode(short, c);
      const body = await jsonOf<TokenBody>(await exchangeCode(short, c, code));
      expect(body.expires_in).toBe(60);
      short.emulator.clock.advance(60_000);
      expect((await callApi(short, '/2/people/@me/@self', body.access_token)).status).toBe(401);
    } finally {
      await short.close();
    }
  });
});

describe('token endpoint: server_state grant', () => {
  let h: Harness;
  let client: ServiceCredentials;
  beforeAll(async () => {
    h = await startEmulator();
    client = registerService(h.emulator);
  });
  afterAll(() => h.close());

  async function serverState(extra: Record<string, string> = {}): Promise<string> {
    const res = await postForm(`${h.url}/2/token`, { grant_type: 'server_state', client_id: client.clientId, ...extra });
    const body = await jsonOf<{ server_state: string; expires_in: number }>(res);
    expect(res.status).toBe(200);
    expect(body.expires_in).toBe(1800);
    return body.server_state;
  }

  it('issues a server_state with client_id alone, and with the right secret, but not with a wrong one', async () => {
    expect(await serverState()).toMatch(/^[0-9a-f]{32}$/);
    expect(await serverState({ client_secret: client.clientSecret })).toMatch(/^[0-9a-f]{32}$/);
    const wrong = await postForm(`${h.url}/2/token`, { grant_type: 'server_state', client_id: client.clientId, client_secret: 'nope' });
    await expectOAuthError(wrong, 401, 'invalid_client');
    const unknown = await postForm(`${h.url}/2/token`, { grant_type: 'server_state', client_id: 'deadbeef' });
    await expectOAuthError(unknown, 401, 'invalid_client');
  });

  it('binds the code to the server_state: the exchange must send the same one', async () => {
    const value = await serverState();
    const { code } = await obtainCode(h, client, { server_state: value });
    await expectOAuthError(await exchangeCode(h, client, code), 400, 'invalid_grant');
    await expectOAuthError(await exchangeCode(h, client, code, { server_state: await serverState() }), 400, 'invalid_grant');
    expect((await exchangeCode(h, client, code, { server_state: value })).status).toBe(200);
  });

  it('refuses a server_state on the exchange when the authorization request carried none', async () => {
    const { code } = await obtainCode(h, client);
    await expectOAuthError(await exchangeCode(h, client, code, { server_state: await serverState() }), 400, 'invalid_grant');
  });

  it('uses a server_state once: a second authorization request with it is refused', async () => {
    const value = await serverState();
    await obtainCode(h, client, { server_state: value });
    const browser = new Browser(h.url);
    ensureUser(h, 'replayer');
    const login = await browser.get(authorizeUrl(h.url, { client_id: client.clientId, response_type: 'code', scope: 'r_profile', server_state: value }));
    expect(login.status).toBe(302);
    expect(new URL(login.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it('with openid, returns an id_token: an HS256 JWT signed with the client secret', async () => {
    const value = await serverState();
    const { code } = await obtainCode(h, client, { scope: 'openid r_profile', server_state: value, nonce: 'n-0S6' }, 'oidc-user');
    const body = await jsonOf<TokenBody>(await exchangeCode(h, client, code, { server_state: value }));
    const [header, payload, signature] = body.id_token!.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    const expected = createHmac('sha256', client.clientSecret).update(`${header}.${payload}`).digest('base64url');
    expect(signature).toBe(expected);
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const grant = h.emulator.findGrant({ accessToken: body.access_token })!;
    expect(claims).toMatchObject({ iss: 'https://mixi.jp', sub: grant.userId, aud: client.clientId, nonce: 'n-0S6' });
    expect(claims.exp - claims.iat).toBe(900);
  });
});

describe('token endpoint: refresh_token grant', () => {
  let h: Harness;
  let client: ServiceCredentials;
  beforeAll(async () => {
    h = await startEmulator();
    client = registerService(h.emulator);
  });
  afterAll(() => h.close());

  it('rotates the refresh token on every refresh and counts refreshes per grant', async () => {
    const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
    const first = await jsonOf<TokenBody>(await refresh(h, client, grant.refreshToken));
    expect(first.refresh_token).not.toBe(grant.refreshToken);
    expect(first.access_token).not.toBe(grant.accessToken);
    const second = await jsonOf<TokenBody>(await refresh(h, client, first.refresh_token!));
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(h.emulator.counters.refreshesOf(grant.grantId)).toBe(2);
    expect(h.emulator.getGrant(grant.grantId).refreshCount).toBe(2);
    // The earlier access token stays valid until its own expiry.
    expect((await callApi(h, '/2/people/@me/@self', grant.accessToken)).status).toBe(200);
  });

  it('detects a rotated refresh token used again and revokes the whole grant', async () => {
    const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
    const rotated = await jsonOf<TokenBody>(await refresh(h, client, grant.refreshToken));
    const before = h.emulator.counters.snapshot();
    const reuse = await expectOAuthError(await refresh(h, client, grant.refreshToken), 401, 'invalid_grant');
    expect(reuse.error_description).toMatch(/reuse/);
    const after = h.emulator.counters.snapshot();
    expect(after.reuseDetections).toBe(before.reuseDetections + 1);
    expect(after.invalidGrant).toBe(before.invalidGrant + 1);
    // The newest refresh token and access token die with the grant.
    await expectOAuthError(await refresh(h, client, rotated.refresh_token!), 401, 'invalid_grant');
    const api = await callApi(h, '/2/people/@me/@self', rotated.access_token);
    expect(api.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="The access token was revoked"');
    expect(h.emulator.getGrant(grant.grantId)).toMatchObject({ status: 'revoked', revokedReason: 'refresh_token_reuse' });
  });

  it('answers a revoked grant, and an unknown refresh token, with 401 invalid_grant', async () => {
    const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
    h.emulator.revokeGrant(grant.grantId);
    await expectOAuthError(await refresh(h, client, grant.refreshToken), 401, 'invalid_grant');
    await expectOAuthError(await refresh(h, client, '0'.repeat(30)), 401, 'invalid_grant');
  });

  it('refuses a refresh token of another client as unknown', async () => {
    const other = registerService(h.emulator, { name: 'Other' });
    const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
    await expectOAuthError(await refresh(h, other, grant.refreshToken), 401, 'invalid_grant');
    expect((await refresh(h, client, grant.refreshToken)).status).toBe(200);
  });

  it('answers an expired refresh token with 401 and a JSON invalid_grant', async () => {
    const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
    h.emulator.expireRefreshToken(grant.grantId);
    const body = await expectOAuthError(await refresh(h, client, grant.refreshToken), 401, 'invalid_grant');
    expect(body.error_description).toMatch(/expired/);
  });

  it('narrows scope on request and refuses a wider one with invalid_scope', async () => {
    const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile r_voice' });
    await expectOAuthError(await refresh(h, client, grant.refreshToken, { scope: 'r_profile w_voice' }), 400, 'invalid_scope');
    const narrowed = await jsonOf<TokenBody>(await refresh(h, client, grant.refreshToken, { scope: 'r_voice' }));
    expect(narrowed.scope).toBe('r_voice');
    expect((await callApi(h, '/2/people/@me/@self', narrowed.access_token)).status).toBe(403);
  });
});

describe('token endpoint: refresh options', () => {
  async function withEmulator(options: Parameters<typeof startEmulator>[0], test: (h: Harness, c: ServiceCredentials) => Promise<void>) {
    const h = await startEmulator(options);
    try {
      await test(h, registerService(h.emulator));
    } finally {
      await h.close();
    }
  }

  it('expires refresh tokens after refreshTokenLifetimeMs', () =>
    withEmulator({ refreshTokenLifetimeMs: 60_000 }, async (h, c) => {
      const grant = h.emulator.mintGrant({ clientId: c.clientId, scope: 'r_profile' });
      const fresh = await jsonOf<TokenBody>(await refresh(h, c, grant.refreshToken));
      h.emulator.clock.advance(60_000);
      await expectOAuthError(await refresh(h, c, fresh.refresh_token!), 401, 'invalid_grant');
    }));

  it("with reuseDetection 'reject', refuses the reused token but keeps the grant alive", () =>
    withEmulator({ reuseDetection: 'reject' }, async (h, c) => {
      const grant = h.emulator.mintGrant({ clientId: c.clientId, scope: 'r_profile' });
      const rotated = await jsonOf<TokenBody>(await refresh(h, c, grant.refreshToken));
      await expectOAuthError(await refresh(h, c, grant.refreshToken), 401, 'invalid_grant');
      expect(h.emulator.counters.snapshot().reuseDetections).toBe(1);
      expect((await refresh(h, c, rotated.refresh_token!)).status).toBe(200);
    }));

  it('without rotation, returns the same refresh token every time', () =>
    withEmulator({ rotateRefreshTokens: false }, async (h, c) => {
      const grant = h.emulator.mintGrant({ clientId: c.clientId, scope: 'r_profile' });
      const a = await jsonOf<TokenBody>(await refresh(h, c, grant.refreshToken));
      const b = await jsonOf<TokenBody>(await refresh(h, c, grant.refreshToken));
      expect([a.refresh_token, b.refresh_token]).toEqual([grant.refreshToken, grant.refreshToken]);
      expect(h.emulator.counters.snapshot().reuseDetections).toBe(0);
    }));

  it('with omitRefreshTokenOnRefresh, answers without refresh_token and the old one keeps working', () =>
    withEmulator({ omitRefreshTokenOnRefresh: true }, async (h, c) => {
      const grant = h.emulator.mintGrant({ clientId: c.clientId, scope: 'r_profile' });
      const a = await jsonOf<TokenBody>(await refresh(h, c, grant.refreshToken));
      expect(a).not.toHaveProperty('refresh_token');
      expect((await refresh(h, c, grant.refreshToken)).status).toBe(200);
    }));

  it('with revokeAccessTokenOnRefresh, the previous access token dies at the refresh', () =>
    withEmulator({ revokeAccessTokenOnRefresh: true }, async (h, c) => {
      const grant = h.emulator.mintGrant({ clientId: c.clientId, scope: 'r_profile' });
      const a = await jsonOf<TokenBody>(await refresh(h, c, grant.refreshToken));
      expect((await callApi(h, '/2/people/@me/@self', grant.accessToken)).status).toBe(401);
      expect((await callApi(h, '/2/people/@me/@self', a.access_token)).status).toBe(200);
    }));
});

describe('token endpoint: client authentication', () => {
  let h: Harness;
  let client: ServiceCredentials;
  beforeAll(async () => {
    h = await startEmulator();
    client = registerService(h.emulator);
  });
  afterAll(() => h.close());
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

  it('accepts HTTP Basic as well as client_secret_post', async () => {
    const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
    const res = await postForm(
      `${h.url}/2/token`,
      { grant_type: 'refresh_token', refresh_token: grant.refreshToken },
      { authorization: basic(client.clientId, client.clientSecret) },
    );
    expect(res.status).toBe(200);
  });

  it('refuses credentials in both places with 400 invalid_request', async () => {
    const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
    const res = await postForm(
      `${h.url}/2/token`,
      { grant_type: 'refresh_token', refresh_token: grant.refreshToken, client_id: client.clientId, client_secret: client.clientSecret },
      { authorization: basic(client.clientId, client.clientSecret) },
    );
    await expectOAuthError(res, 400, 'invalid_request');
  });

  it('answers wrong, missing and unknown credentials with 401 invalid_client', async () => {
    const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
    const base = { grant_type: 'refresh_token', refresh_token: grant.refreshToken };
    await expectOAuthError(await postForm(`${h.url}/2/token`, { ...base, client_id: client.clientId, client_secret: 'wrong' }), 401, 'invalid_client');
    await expectOAuthError(await postForm(`${h.url}/2/token`, { ...base, client_id: client.clientId }), 401, 'invalid_client');
    await expectOAuthError(await postForm(`${h.url}/2/token`, base), 401, 'invalid_client');
    await expectOAuthError(await postForm(`${h.url}/2/token`, { ...base, client_id: 'abc', client_secret: 'def' }), 401, 'invalid_client');
    const wrongBasic = await postForm(`${h.url}/2/token`, base, { authorization: basic(client.clientId, 'wrong') });
    await expectOAuthError(wrongBasic, 401, 'invalid_client');
    expect(wrongBasic.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const malformedBasic = await postForm(`${h.url}/2/token`, base, { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` });
    await expectOAuthError(malformedBasic, 401, 'invalid_client');
    await expectOAuthError(await postForm(`${h.url}/2/token`, base, { authorization: 'Bearer abc' }), 400, 'invalid_request');
  });
});
