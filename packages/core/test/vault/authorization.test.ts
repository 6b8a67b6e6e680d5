import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  AuthorizationExpiredError,
  ClientRejectedError,
  InvalidArgumentError,
  StateMismatchError,
  type VaultEventMap,
} from '../../src/index';
import { startVaultWorld, type VaultWorld } from '../helpers/vault-world';

let w: VaultWorld;
beforeAll(async () => {
  w = await startVaultWorld();
});
afterAll(() => w.close());

const uniq = (p: string) => `${p}-${Math.random().toString(36).slice(2, 10)}`;

describe('authorization through the emulator consent page', () => {
  it('begins, consents, exchanges the code and stores the grant', async () => {
    const grantId = uniq('alice');
    const transitions: VaultEventMap['transition'][] = [];
    const off = w.vault.on('transition', (e) => e.grantId === grantId && transitions.push(e));
    const t0 = w.clock.now();
    const begun = await w.vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile', 'r_voice'], display: 'pc' });
    const t1 = w.clock.now();
    const url = new URL(begun.url);
    expect(url.pathname).toBe('/connect_authorize.pl');
    expect(url.searchParams.get('client_id')).toBe(w.clientId);
    expect(url.searchParams.get('scope')).toBe('r_profile r_voice');
    expect(url.searchParams.get('state')).toBe(begun.state);
    expect(url.searchParams.get('server_state')).toBeTruthy();
    // The deadline is the code's 3-minute lifetime, from the moment the authorization began.
    expect(begun.deadline).toBeGreaterThanOrEqual(t0 + 180_000);
    expect(begun.deadline).toBeLessThanOrEqual(t1 + 180_000);
    expect((await w.vault.inspect(grantId))?.state).toBe('awaitingCode');

    const callback = await w.consent(begun.url);
    const info = await w.vault.completeAuthorization(callback);
    off();
    expect(info).toMatchObject({ grantId, client: 'mixi', state: 'authorized', hasAccessToken: true, hasRefreshToken: true });
    expect(info.scope).toEqual(['r_profile', 'r_voice']);
    expect(transitions.map((t) => `${t.from}>${t.to}`)).toEqual(['null>awaitingCode', 'awaitingCode>authorized']);

    const token = await w.vault.getAccessToken(grantId);
    const me = await fetch(`${w.url}/2/people/@me/@self`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(w.emulator.counters.snapshot().tokenRequests.authorization_code).toBeGreaterThan(0);
  });

  it('refuses the same callback twice (single-use state)', async () => {
    const grantId = uniq('replay');
    const { url } = await w.vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile'] });
    const callback = await w.consent(url);
    await w.vault.completeAuthorization(callback);
    const before = await w.store.get(grantId);
    await expect(w.vault.completeAuthorization(callback)).rejects.toBeInstanceOf(StateMismatchError);
    expect(await w.store.get(grantId)).toBe(before);
  });

  it('refuses a forged, missing or tampered state without touching the store', async () => {
    const grantId = uniq('forged');
    const { url } = await w.vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile'] });
    const callback = new URL(await w.consent(url));
    const before = await w.store.get(grantId);
    const forged = new URL(callback);
    forged.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    await expect(w.vault.completeAuthorization(forged)).rejects.toBeInstanceOf(StateMismatchError);
    const missing = new URL(callback);
    missing.searchParams.delete('state');
    await expect(w.vault.completeAuthorization(missing)).rejects.toBeInstanceOf(StateMismatchError);
    await expect(w.vault.completeAuthorization({ state: 'a'.repeat(5000), code: 'x' })).rejects.toBeInstanceOf(StateMismatchError);
    await expect(w.vault.completeAuthorization({ state: callback.searchParams.get('state')! })).rejects.toBeInstanceOf(StateMismatchError);
    expect(await w.store.get(grantId)).toBe(before);
    // The genuine callback still works afterwards.
    expect((await w.vault.completeAuthorization(callback)).state).toBe('authorized');
  });

  it('accepts a caller-chosen state (a session hash) and the parameters as an object', async () => {
    const grantId = uniq('session');
    const state = 'session-hash-0123456789abcdef';
    const { url } = await w.vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile'], state });
    expect(new URL(url).searchParams.get('state')).toBe(state);
    const callback = new URL(await w.consent(url));
    const info = await w.vault.completeAuthorization(Object.fromEntries(callback.searchParams));
    expect(info.state).toBe('authorized');
  });

  it('handles a denial: AccessDeniedError and the grant goes back to unauthorized', async () => {
    const grantId = uniq('denied');
    const { url } = await w.vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile'] });
    const callback = await w.consent(url, { decision: 'deny' });
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    await expect(w.vault.completeAuthorization(callback)).rejects.toBeInstanceOf(AccessDeniedError);
    const info = await w.vault.inspect(grantId);
    expect(info).toMatchObject({ state: 'unauthorized', pendingAuthorizationUntil: null });
    expect(info?.lastError?.code).toBe('access_denied');
  });

  it('refuses a callback after the 3-minute deadline', async () => {
    const grantId = uniq('late');
    const { url } = await w.vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile'] });
    const callback = await w.consent(url);
    w.emulator.clock.advance(180_001);
    await expect(w.vault.completeAuthorization(callback)).rejects.toBeInstanceOf(AuthorizationExpiredError);
    expect((await w.vault.inspect(grantId))?.state).toBe('unauthorized');
    // The expired state is consumed too.
    await expect(w.vault.completeAuthorization(callback)).rejects.toBeInstanceOf(StateMismatchError);
  });

  it('asks for a wider scope while the old tokens keep working', async () => {
    const grantId = uniq('upgrade');
    const first = await w.vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile'] });
    await w.vault.completeAuthorization(await w.consent(first.url));
    const oldToken = await w.vault.getAccessToken(grantId);
    const second = await w.vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile', 'r_voice'] });
    expect(await w.vault.getAccessToken(grantId)).toBe(oldToken);
    const info = await w.vault.completeAuthorization(await w.consent(second.url));
    expect(info.scope).toEqual(['r_profile', 'r_voice']);
    expect(await w.vault.getAccessToken(grantId)).not.toBe(oldToken);
  });

  it('uses the feature-phone consent page with guid=ON for Docomo', async () => {
    const { url } = await w.vault.beginAuthorization({ grantId: uniq('keitai'), client: 'mixi', scope: ['r_profile'], device: 'featurePhone', docomo: true });
    const parsed = new URL(url);
    expect(parsed.pathname).toBe('/m/connect_authorize.pl');
    expect(parsed.searchParams.get('guid')).toBe('ON');
  });

  it('rejects bad arguments with coded TypeErrors', async () => {
    await expect(w.vault.beginAuthorization({ grantId: '', client: 'mixi', scope: [] })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(w.vault.beginAuthorization({ grantId: 'x', client: 'mixi', scope: ['has space'] })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(w.vault.beginAuthorization({ grantId: 'x', client: 'mixi', scope: [], state: 'short' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(w.vault.beginAuthorization({ grantId: 'x', client: 'nope', scope: [] })).rejects.toMatchObject({ code: 'unknown_client' });
  });

  it('marks the client rejected when the code exchange answers invalid_client', async () => {
    const vault = w.newVault({ clients: [{ id: 'mixi', provider: w.vault.client('mixi').provider, clientId: w.clientId, clientSecret: 'wrong-secret', redirectUri: 'https://app.example/callback' }] });
    const grantId = uniq('badsecret');
    const { url } = await vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile'] });
    await expect(vault.completeAuthorization(await w.consent(url))).rejects.toBeInstanceOf(ClientRejectedError);
    expect(vault.isClientRejected('mixi')).toBe(true);
    expect((await vault.inspect(grantId))?.state).toBe('unauthorized');
  });

  it('never shows the state, code or secrets in what it returns or throws', async () => {
    const grantId = uniq('leak');
    const { url, state } = await w.vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile'] });
    const callback = new URL(await w.consent(url));
    const code = callback.searchParams.get('code')!;
    const info = await w.vault.completeAuthorization(callback);
    const record = await w.store.get(grantId);
    const token = await w.vault.getAccessToken(grantId);
    const shown = [JSON.stringify(info), inspect(info, { depth: 9 }), JSON.stringify(record), inspect(record, { depth: 9 }), inspect(w.vault, { depth: 9 })].join('\n');
    for (const secret of [state, code, token, record!.refreshToken!.reveal(), w.clientSecret]) expect(shown).not.toContain(secret);
    const error = await w.vault.completeAuthorization(callback).catch((e: unknown) => e);
    const thrown = [String(error), JSON.stringify(error), inspect(error, { depth: 9 })].join('\n');
    for (const secret of [state, code, token, w.clientSecret]) expect(thrown).not.toContain(secret);
  });
});
