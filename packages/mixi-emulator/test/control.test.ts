import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionDroppedError, createMixiEmulator, EmulatorError, type CountersSnapshot, type FaultRule, type GrantInfo, type MintedGrant, type ServiceCredentials } from '../src/index';
import { bodyOf, callApi, expectOAuthError, jsonOf, postForm, postJson, refresh, registerService, startEmulator, type Harness } from './support/harness';

describe('control API: availability', () => {
  it('is absent unless enabled', async () => {
    const h = await startEmulator();
    try {
      const res = await fetch(`${h.url}/_emulator/counters`);
      expect(res.status).toBe(404);
      await jsonOf(res);
    } finally {
      await h.close();
    }
  });

  it('refuses to be enabled on a non-loopback address', async () => {
    const emulator = createMixiEmulator({ control: true });
    await expect(emulator.listen({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'control_not_loopback' });
    await expect(emulator.listen({ host: '::' })).rejects.toBeInstanceOf(EmulatorError);
  });

  it('refuses a peer that is not on loopback, even when served by someone else', async () => {
    const emulator = createMixiEmulator({ control: true });
    const fakeNode = { incoming: { headers: {}, socket: { remoteAddress: '192.0.2.7' } } };
    const res = await emulator.app.fetch(new Request('http://mixi.test/_emulator/counters'), fakeNode as never);
    expect(res.status).toBe(403);
    const local = await emulator.app.fetch(new Request('http://mixi.test/_emulator/counters'), { incoming: { headers: {}, socket: { remoteAddress: '::ffff:127.0.0.1' } } } as never);
    expect(local.status).toBe(200);
  });

  it('rejects bad listen options with a coded error', async () => {
    const emulator = createMixiEmulator();
    await expect(emulator.listen({ port: 70_000 })).rejects.toMatchObject({ code: 'invalid_input', field: 'port' });
  });
});

describe('control API over HTTP', () => {
  let h: Harness;
  let client: ServiceCredentials;
  const control = (path: string) => `${h.url}/_emulator${path}`;
  beforeAll(async () => {
    h = await startEmulator({ control: true });
    client = registerService(h.emulator);
  });
  afterAll(() => h.close());

  describe('virtual clock', () => {
    it('reads, advances and sets the clock, and every lifetime follows it', async () => {
      const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
      const before = await jsonOf<{ now: number; offsetMs: number }>(await fetch(control('/clock')));
      const advanced = await jsonOf<{ now: number; offsetMs: number }>(await postJson(control('/clock/advance'), { ms: 900_000 }));
      expect(advanced.offsetMs - before.offsetMs).toBe(900_000);
      const res = await callApi(h, '/2/people/@me/@self', grant.accessToken);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="The access token expired"');
      const set = await jsonOf<{ now: number }>(await postJson(control('/clock/set'), { now: 2_000_000_000_000 }));
      expect(set.now).toBeGreaterThanOrEqual(2_000_000_000_000);
      expect(h.emulator.clock.now()).toBeGreaterThanOrEqual(2_000_000_000_000);
    });

    it.each([{ ms: -1 }, { ms: 'soon' }, { ms: Number.MAX_VALUE * 10 }, { minutes: 5 }, {}])('refuses advance body %j with 400', async (body) => {
      const res = await postJson(control('/clock/advance'), body);
      expect(res.status).toBe(400);
      expect((await jsonOf(res)).error).toBe('invalid_request');
    });
  });

  describe('fault injection', () => {
    const addFault = async (rule: unknown) => {
      const res = await postJson(control('/faults'), rule);
      expect(res.status).toBe(201);
      return jsonOf<FaultRule>(res);
    };
    const clear = () => fetch(control('/faults'), { method: 'DELETE' });

    it('answers 503 with Retry-After for the matching grant type only, N times', async () => {
      await addFault({ endpoint: 'token', grantType: 'refresh_token', times: 2, respond: { status: 503, headers: { 'Retry-After': '2' }, body: { error: 'temporarily_unavailable' } } });
      const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
      const serverState = await postForm(`${h.url}/2/token`, { grant_type: 'server_state', client_id: client.clientId });
      expect(serverState.status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const res = await refresh(h, client, grant.refreshToken);
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('2');
        expect(await res.json()).toEqual({ error: 'temporarily_unavailable' });
      }
      // Nothing rotated during the outage: the original token still works, and the rule is spent.
      expect((await refresh(h, client, grant.refreshToken)).status).toBe(200);
      expect((await jsonOf<{ faults: unknown[] }>(await fetch(control('/faults')))).faults).toEqual([]);
    });

    it('drops the connection without touching state', async () => {
      await addFault({ endpoint: 'token', grantType: 'refresh_token', drop: true, times: 1 });
      const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
      await expect(refresh(h, client, grant.refreshToken)).rejects.toThrow();
      expect(h.emulator.getGrant(grant.grantId).refreshCount).toBe(0);
      expect((await refresh(h, client, grant.refreshToken)).status).toBe(200);
    });

    it('loses the answer after rotating: the client never sees the new token and its retry is a reuse', async () => {
      await addFault({ endpoint: 'token', grantType: 'refresh_token', loseAnswer: true, times: 1 });
      const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
      await expect(refresh(h, client, grant.refreshToken)).rejects.toThrow();
      expect(h.emulator.getGrant(grant.grantId).refreshCount).toBe(1);
      await expectOAuthError(await refresh(h, client, grant.refreshToken), 401, 'invalid_grant');
      expect(h.emulator.getGrant(grant.grantId).revokedReason).toBe('refresh_token_reuse');
    });

    it('can lose the answer as a 500 instead of a dropped connection', async () => {
      await addFault({ endpoint: 'token', grantType: 'refresh_token', loseAnswer: { status: 500, body: 'upstream failed' }, times: 1 });
      const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
      const res = await refresh(h, client, grant.refreshToken);
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('upstream failed');
      expect(h.emulator.getGrant(grant.grantId).refreshCount).toBe(1);
    });

    it('delays an answer and then answers normally', async () => {
      await addFault({ endpoint: 'api', delayMs: 50, times: 1 });
      const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
      const res = await callApi(h, '/2/people/@me/@self', grant.accessToken);
      expect(res.status).toBe(200);
      expect((await jsonOf<{ entry: { id: string } }>(res)).entry.id).toBe(grant.userId);
    });

    it('matches API paths by prefix and counts faulted API calls by the injected status', async () => {
      h.emulator.counters.reset();
      await addFault({ endpoint: 'api', path: '/2/voice/*', respond: { status: 503 } });
      const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile r_voice' });
      expect((await callApi(h, '/2/voice/statuses/@me/user_timeline', grant.accessToken)).status).toBe(503);
      expect((await callApi(h, '/2/people/@me/@self', grant.accessToken)).status).toBe(200);
      await clear();
      expect((await callApi(h, '/2/voice/statuses/@me/user_timeline', grant.accessToken)).status).toBe(200);
      const snapshot = h.emulator.counters.snapshot();
      expect(snapshot.apiCalls.byStatus).toEqual({ '503': 1, '200': 2 });
      expect(snapshot.faultsApplied).toBe(1);
    });

    it('faults the authorization pages and the dashboard too', async () => {
      await addFault({ endpoint: 'authorize', respond: { status: 503 }, times: 1 });
      await addFault({ endpoint: 'dashboard', drop: true, times: 1 });
      expect((await fetch(`${h.url}/connect_authorize.pl?client_id=${client.clientId}`)).status).toBe(503);
      await expect(fetch(`${h.url}/dashboard`)).rejects.toThrow();
      expect((await fetch(`${h.url}/dashboard`)).status).toBe(200);
    });

    it('removes one rule by id', async () => {
      const rule = await addFault({ endpoint: 'api', respond: { status: 503 } });
      expect((await fetch(control(`/faults/${rule.id}`), { method: 'DELETE' })).status).toBe(204);
      expect((await fetch(control(`/faults/${rule.id}`), { method: 'DELETE' })).status).toBe(404);
    });

    it.each([
      [{ endpoint: 'nowhere', drop: true }, 'endpoint'],
      [{ endpoint: 'api', grantType: 'refresh_token', drop: true }, 'grantType'],
      [{ endpoint: 'token', drop: true, respond: { status: 503 } }, 'respond'],
      [{ endpoint: 'token' }, 'respond'],
      [{ endpoint: 'token', respond: { status: 42 } }, 'respond.status'],
      [{ endpoint: 'token', respond: { status: 503, headers: { 'Bad Header': 'x' } } }, 'respond.headers'],
      [{ endpoint: 'token', drop: true, times: 0 }, 'times'],
      [{ endpoint: 'token', drop: true, surprise: 1 }, 'surprise'],
    ])('refuses rule %j naming %s', async (rule, field) => {
      const res = await postJson(control('/faults'), rule);
      expect(res.status).toBe(400);
      expect((await jsonOf(res)).field).toBe(field);
    });

    it('in-process, a dropped connection rejects the fetch with ConnectionDroppedError', async () => {
      const emulator = createMixiEmulator();
      emulator.faults.add({ endpoint: 'dashboard', drop: true });
      await expect(emulator.fetch(new Request('http://mixi.test/dashboard'))).rejects.toBeInstanceOf(ConnectionDroppedError);
    });
  });

  describe('counters', () => {
    it('are exact over HTTP and reset to zero', async () => {
      await fetch(control('/counters/reset'), { method: 'POST' });
      const grants = h.emulator.mintGrants({ clientId: client.clientId, scope: 'r_profile', count: 3 });
      for (const g of grants) await refresh(h, client, g.refreshToken);
      await refresh(h, client, grants[0]!.refreshToken);
      const snapshot = await jsonOf<CountersSnapshot>(await fetch(control('/counters')));
      expect(snapshot.tokenRequests).toEqual({ authorization_code: 0, refresh_token: 4, server_state: 0, other: 0, total: 4 });
      expect(snapshot.refreshes).toEqual({
        total: 3,
        grants: 3,
        maxPerGrant: 1,
        perGrant: Object.fromEntries(grants.map((g) => [g.grantId, 1])),
      });
      expect(snapshot.reuseDetections).toBe(1);
      expect(snapshot.invalidGrant).toBe(1);
      const compact = await jsonOf<CountersSnapshot>(await fetch(control('/counters?perGrant=false')));
      expect(compact.refreshes).not.toHaveProperty('perGrant');
      expect((await fetch(control('/counters/reset'), { method: 'POST' })).status).toBe(204);
      expect(h.emulator.counters.snapshot().refreshes.total).toBe(0);
    });
  });

  describe('helpers', () => {
    it('registers a confirmed service in one call', async () => {
      const res = await postJson(control('/services'), { name: 'Ctl', description: 'd', redirectUrl: 'http://127.0.0.1:9/cb', inquiryEmail: 'c@example.com' });
      const creds = await jsonOf<ServiceCredentials>(res);
      expect(res.status).toBe(201);
      expect(h.emulator.getService(creds.clientId).status).toBe('confirmed');
    });

    it('mints one grant and batches of grants whose tokens work', async () => {
      const one = await jsonOf<MintedGrant>(await postJson(control('/grants'), { clientId: client.clientId, scope: 'r_profile r_voice', username: 'minty' }));
      expect(one).toMatchObject({ clientId: client.clientId, scope: 'r_profile r_voice', tokenType: 'Bearer', expiresIn: 900 });
      expect((await callApi(h, '/2/people/@me/@self', one.accessToken)).status).toBe(200);
      const batch = await jsonOf<{ grants: MintedGrant[] }>(await postJson(control('/grants/batch'), { clientId: client.clientId, scope: ['r_profile'], count: 50 }));
      expect(batch.grants).toHaveLength(50);
      expect(new Set(batch.grants.map((g) => g.userId)).size).toBe(50);
      expect((await refresh(h, client, batch.grants[49]!.refreshToken)).status).toBe(200);
    });

    it.each([
      [{ clientId: 'nope', scope: 'r_profile' }, 404],
      [{ scope: 'r_profile' }, 400],
      [{ clientId: 'x', scope: 7 }, 400],
    ])('refuses a bad mint request %j', async (body, status) => {
      const res = await postJson(control('/grants'), body);
      expect(res.status).toBe(status);
      await jsonOf(res);
    });

    it('refuses a batch count out of range and a bad scope', async () => {
      expect((await postJson(control('/grants/batch'), { clientId: client.clientId, scope: 'r_profile', count: 0 })).status).toBe(400);
      expect((await postJson(control('/grants/batch'), { clientId: client.clientId, scope: 'r_nope', count: 1 })).status).toBe(400);
    });

    it('finds a grant from any of its tokens, old or new', async () => {
      const grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
      const rotated = await jsonOf<{ refresh_token: string }>(await refresh(h, client, grant.refreshToken));
      for (const body of [{ refreshToken: grant.refreshToken }, { refreshToken: rotated.refresh_token }, { accessToken: grant.accessToken }]) {
        const found = await jsonOf<GrantInfo>(await postJson(control('/grants/lookup'), body));
        expect(found.grantId).toBe(grant.grantId);
      }
      expect((await postJson(control('/grants/lookup'), { accessToken: 'none' })).status).toBe(404);
      expect((await postJson(control('/grants/lookup'), {})).status).toBe(400);
      const info = await jsonOf<GrantInfo>(await fetch(control(`/grants/${grant.grantId}`)));
      expect(info).toMatchObject({ status: 'active', refreshCount: 1, origin: 'minted', clientId: client.clientId });
      expect((await fetch(control('/grants/grant-999999'))).status).toBe(404);
    });

    it('revokes a grant, expires its tokens, and revokes a user’s grants', async () => {
      const a = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile', username: 'victim' });
      const b = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile', username: 'victim' });
      const c = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });

      await fetch(control(`/grants/${c.grantId}/expire-access-token`), { method: 'POST' });
      const expired = await callApi(h, '/2/people/@me/@self', c.accessToken);
      expect(expired.headers.get('www-authenticate')).toContain('The access token expired');
      await fetch(control(`/grants/${c.grantId}/expire-refresh-token`), { method: 'POST' });
      await expectOAuthError(await refresh(h, client, c.refreshToken), 401, 'invalid_grant');

      const revoked = await jsonOf<{ revoked: number }>(await fetch(control(`/users/victim/revoke-grants?clientId=${client.clientId}`), { method: 'POST' }));
      expect(revoked.revoked).toBe(2);
      for (const g of [a, b]) await expectOAuthError(await refresh(h, client, g.refreshToken), 401, 'invalid_grant');

      const d = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile' });
      const info = await jsonOf<GrantInfo>(await fetch(control(`/grants/${d.grantId}/revoke`), { method: 'POST' }));
      expect(info).toMatchObject({ status: 'revoked', revokedReason: 'revoked' });
      expect((await fetch(control('/users/nobody-here/revoke-grants'), { method: 'POST' })).status).toBe(404);
    });
  });

  it('answers control requests with bad bodies with JSON 400, never 500', async () => {
    for (const path of ['/clock/advance', '/faults', '/grants', '/grants/batch', '/services', '/grants/lookup']) {
      const res = await fetch(control(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
      expect(res.status).toBe(400);
      await bodyOf(res);
    }
  });
});
