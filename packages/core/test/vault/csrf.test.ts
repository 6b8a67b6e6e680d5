import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthorizationExpiredError,
  type GrantStore,
  InvalidArgumentError,
  memoryStore,
  parseCallback,
  providers,
  RedirectUriMismatchError,
  redirectMatches,
  StateMismatchError,
  type Vault,
} from '../../src/index';
import { REDIRECT_URI, startVaultWorld, type VaultWorld } from '../helpers/vault-world';

/** A store that counts what was asked of it: "refused before any store access" is checked, not assumed. */
function countingStore(inner: GrantStore): GrantStore & { reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'findByStateHash' || prop === 'get' || prop === 'compareAndSet' || prop === 'create') reads++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return Object.assign(proxy, { reads: () => reads });
}

const STATE_KEY = 'state-key-for-tests-0123456789abcdef';
const uniq = (p: string) => `${p}-${Math.random().toString(36).slice(2, 10)}`;

let w: VaultWorld;
let store: ReturnType<typeof countingStore>;
let vault: Vault;
beforeAll(async () => {
  store = countingStore(memoryStore());
  w = await startVaultWorld({ store });
  vault = w.newVault({ stateKey: STATE_KEY });
});
afterAll(() => w.close());

/** Begins in `sessionId`, consents, and returns the callback URL (not yet completed). */
async function consented(sessionId: string | undefined, grantId = uniq('g')): Promise<{ grantId: string; callback: URL }> {
  const { url } = await vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile'], ...(sessionId !== undefined && { sessionId }) });
  return { grantId, callback: new URL(await w.consent(url)) };
}

/** Runs `attempt` and checks it touched nothing in the store. */
async function refusedBeforeStore(attempt: () => Promise<unknown>, error: abstract new (...args: never[]) => Error): Promise<void> {
  const before = store.reads();
  await expect(attempt()).rejects.toBeInstanceOf(error);
  expect(store.reads(), 'store calls made by a refused callback').toBe(before);
}

describe('session-bound states (stateKey + sessionId)', () => {
  it('issues random.HMAC states and completes in the same session', async () => {
    const { grantId, callback } = await consented('session-alice');
    const state = callback.searchParams.get('state') as string;
    expect(state).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect((await vault.completeAuthorization(callback, { sessionId: 'session-alice' })).grantId).toBe(grantId);
  });

  it('refuses a state issued for another session (login CSRF) before touching the store, and the genuine one still works', async () => {
    // The attacker begins an authorization in their own session and gets the victim's browser to land on it.
    const { callback } = await consented('session-attacker');
    await refusedBeforeStore(() => vault.completeAuthorization(callback, { sessionId: 'session-victim' }), StateMismatchError);
    expect((await vault.completeAuthorization(callback, { sessionId: 'session-attacker' })).state).toBe('authorized');
  });

  it('refuses a forged state: a changed random part, a changed MAC, a MAC under another key', async () => {
    const { callback } = await consented('session-1');
    const state = callback.searchParams.get('state') as string;
    const [random, mac] = state.split('.') as [string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const other = w.newVault({ stateKey: 'another-state-key-0123456789abcdefgh' });
    const { url } = await other.beginAuthorization({ grantId: uniq('other'), client: 'mixi', scope: ['r_profile'], sessionId: 'session-1' });
    const foreign = new URL(url).searchParams.get('state') as string;
    for (const forged of [`${flip(random, 3)}.${mac}`, `${random}.${flip(mac, 5)}`, foreign, `${random}.${mac}x`]) {
      const bad = new URL(callback);
      bad.searchParams.set('state', forged);
      await expect(vault.completeAuthorization(bad, { sessionId: 'session-1' })).rejects.toBeInstanceOf(StateMismatchError);
    }
    expect((await vault.completeAuthorization(callback, { sessionId: 'session-1' })).state).toBe('authorized');
  });

  it('refuses a replayed state', async () => {
    const { callback } = await consented('session-2');
    await vault.completeAuthorization(callback, { sessionId: 'session-2' });
    await expect(vault.completeAuthorization(callback, { sessionId: 'session-2' })).rejects.toBeInstanceOf(StateMismatchError);
  });

  it('refuses an expired state, and it stays refused', async () => {
    const { grantId, callback } = await consented('session-3');
    w.emulator.clock.advance(180_001);
    await expect(vault.completeAuthorization(callback, { sessionId: 'session-3' })).rejects.toBeInstanceOf(AuthorizationExpiredError);
    expect((await vault.inspect(grantId))?.state).toBe('unauthorized');
    await expect(vault.completeAuthorization(callback, { sessionId: 'session-3' })).rejects.toBeInstanceOf(StateMismatchError);
  });

  it('will not drop the binding silently: a bound state without a sessionId, or a sessionId with an unbound state', async () => {
    const bound = await consented('session-4');
    await refusedBeforeStore(() => vault.completeAuthorization(bound.callback), StateMismatchError);
    const unbound = await consented(undefined);
    await refusedBeforeStore(() => vault.completeAuthorization(unbound.callback, { sessionId: 'session-4' }), StateMismatchError);
    expect((await vault.completeAuthorization(unbound.callback)).state).toBe('authorized');
    expect((await vault.completeAuthorization(bound.callback, { sessionId: 'session-4' })).state).toBe('authorized');
  });

  it('refuses misuse with coded TypeErrors', async () => {
    await expect(w.vault.beginAuthorization({ grantId: 'x', client: 'mixi', scope: [], sessionId: 's' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(w.vault.completeAuthorization({ state: 'a'.repeat(22), code: 'c' }, { sessionId: 's' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(vault.beginAuthorization({ grantId: 'x', client: 'mixi', scope: [], sessionId: 's', state: 'x'.repeat(20) })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(vault.beginAuthorization({ grantId: 'x', client: 'mixi', scope: [], sessionId: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => w.newVault({ stateKey: 'too short' })).toThrow(InvalidArgumentError);
  });
});

describe('the redirect URI must match exactly', () => {
  it('refuses a callback at another origin or path before touching the store', async () => {
    const { callback } = await consented(undefined);
    for (const elsewhere of ['https://evil.example/callback', 'https://app.example/callback2', 'https://app.example/Callback', 'http://app.example/callback', 'https://app.example:8443/callback']) {
      const moved = new URL(elsewhere);
      moved.search = callback.search;
      await refusedBeforeStore(() => vault.completeAuthorization(moved), RedirectUriMismatchError);
      await refusedBeforeStore(() => vault.completeAuthorization(moved.toString()), RedirectUriMismatchError);
      // A bare path (Node's req.url) is checked on its path.
      if (moved.pathname !== '/callback') await refusedBeforeStore(() => vault.completeAuthorization(`${moved.pathname}${moved.search}`), RedirectUriMismatchError);
    }
    await refusedBeforeStore(() => vault.completeAuthorization(`//evil.example/callback${callback.search}`), RedirectUriMismatchError);
    expect((await vault.completeAuthorization(`${callback.pathname}${callback.search}`)).state).toBe('authorized');
  });

  it('checks the redirect URI of the authorization itself, not merely of some configured client', async () => {
    const provider = w.vault.client('mixi').provider;
    const two = w.newVault({
      clients: [
        { id: 'mixi', provider, clientId: w.clientId, clientSecret: w.clientSecret, redirectUri: REDIRECT_URI },
        { id: 'other', provider, clientId: 'other-app', clientSecret: 'other-secret', redirectUri: 'https://other.example/cb' },
      ],
    });
    const { url } = await two.beginAuthorization({ grantId: uniq('two'), client: 'mixi', scope: ['r_profile'] });
    const callback = new URL(await w.consent(url));
    const atOther = new URL(`https://other.example/cb${callback.search}`);
    await expect(two.completeAuthorization(atOther)).rejects.toBeInstanceOf(RedirectUriMismatchError);
    // Nothing was consumed: the genuine callback completes.
    expect((await two.completeAuthorization(callback)).state).toBe('authorized');
  });

  it('compares origin, path and the registered query exactly; mixi’s desktop page is served by its authorization host', () => {
    const mixi = providers.mixi({ authorizationEndpoint: 'http://127.0.0.1:8787/connect_authorize.pl' });
    const at = (url: string) => {
      const { location, params } = parseCallback(url);
      return (registered: string) => redirectMatches(location!, params, registered, mixi);
    };
    expect(at('https://app.example/cb?code=c&state=s')('https://app.example/cb')).toBe(true);
    expect(at('https://app.example/cb/?code=c')('https://app.example/cb')).toBe(false);
    expect(at('https://app.example/cb?tenant=1&code=c')('https://app.example/cb?tenant=1')).toBe(true);
    expect(at('https://app.example/cb?tenant=2&code=c')('https://app.example/cb?tenant=1')).toBe(false);
    expect(at('/cb?code=c')('https://app.example/cb')).toBe(true);
    expect(at('//app.example/cb?code=c')('https://app.example/cb')).toBe(false);
    const desktop = 'https://mixi.jp/connect_authorize_success.html';
    expect(at('http://127.0.0.1:8787/connect_authorize_success.html?code=c')(desktop)).toBe(true);
    expect(at('http://127.0.0.1:9999/connect_authorize_success.html?code=c')(desktop)).toBe(false);
    expect(at('https://mixi.jp/connect_authorize_success.html?code=c')(desktop)).toBe(true);
    const oauth2 = providers.oauth2({ authorizationEndpoint: 'http://127.0.0.1:8787/connect_authorize.pl', tokenEndpoint: 'http://127.0.0.1:8787/token' });
    const { location, params } = parseCallback('http://127.0.0.1:8787/connect_authorize_success.html?code=c');
    expect(redirectMatches(location!, params, desktop, oauth2)).toBe(false);
  });
});
