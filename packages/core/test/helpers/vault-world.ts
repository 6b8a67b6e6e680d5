/**
 * A vault talking to the mixi emulator over real HTTP on loopback, sharing the emulator's virtual clock
 * (so "15 minutes later" is one call, for both sides).
 */
import { createMixiEmulator, type MixiEmulator, type MixiEmulatorOptions, mixiEndpoints } from '@tokenvault/mixi-emulator';
import { createVault, type Clock, type GrantStore, memoryStore, providers, systemClock, type Vault, type VaultOptions } from '../../src/index';

export const REDIRECT_URI = 'https://app.example/callback';

export interface VaultWorld {
  readonly emulator: MixiEmulator;
  readonly url: string;
  readonly clientId: string;
  clientSecret: string;
  readonly store: GrantStore;
  readonly clock: Clock;
  /** A vault (another "process") on the shared store; `vaults[0]` is `vault`. */
  readonly vault: Vault;
  newVault(options?: Partial<VaultOptions>): Vault;
  /** Mints a grant at the emulator and imports its tokens into the store as `grantId`. */
  seedGrant(grantId: string, scope?: readonly string[]): Promise<{ emulatorGrantId: string; accessToken: string; refreshToken: string }>;
  /** Runs the consent page as a browser would (login, Allow or Deny) and returns the callback URL. */
  consent(authorizationUrl: string, options?: { username?: string; decision?: 'allow' | 'deny' }): Promise<string>;
  close(): Promise<void>;
}

/** Fast retries for tests: backoff in milliseconds, not seconds. */
export const TEST_RETRY = { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5, maxRetryTimeMs: 2_000, maxRetryAfterMs: 5_000 } as const;

export async function startVaultWorld(
  options: { emulator?: MixiEmulatorOptions; vault?: Partial<VaultOptions>; store?: GrantStore } = {},
): Promise<VaultWorld> {
  const emulator = createMixiEmulator({ autoCreateUsers: true, ...options.emulator });
  const running = await emulator.listen({ port: 0 });
  const credentials = emulator.registerService({
    name: 'tokenvault tests',
    description: 'a test service',
    redirectUrl: REDIRECT_URI,
    inquiryEmail: 'dev@app.example',
  });
  const store = options.store ?? memoryStore();
  const clock: Clock = { now: () => emulator.clock.now(), sleep: systemClock.sleep };
  const provider = providers.mixi(mixiEndpoints(running.url));
  const vaults: Vault[] = [];
  const world: VaultWorld = {
    emulator,
    url: running.url,
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    store,
    clock,
    get vault() {
      return vaults[0] as Vault;
    },
    newVault(extra = {}) {
      const vault = createVault({
        store,
        clock,
        clients: [{ id: 'mixi', provider, clientId: world.clientId, clientSecret: world.clientSecret, redirectUri: REDIRECT_URI }],
        retry: TEST_RETRY,
        pollIntervalMs: { min: 2, max: 10 },
        requestTimeoutMs: 2_000,
        leaseMs: 5_000,
        ...options.vault,
        ...extra,
      });
      vaults.push(vault);
      return vault;
    },
    async seedGrant(grantId, scope = ['r_profile', 'r_voice']) {
      const minted = emulator.mintGrant({ clientId: world.clientId, scope });
      await world.vault.importGrant({
        grantId,
        client: 'mixi',
        accessToken: minted.accessToken,
        refreshToken: minted.refreshToken,
        expiresAt: clock.now() + minted.expiresIn * 1000,
        scope: minted.scope.split(' '),
      });
      return { emulatorGrantId: minted.grantId, accessToken: minted.accessToken, refreshToken: minted.refreshToken };
    },
    async consent(authorizationUrl, { username = `user${Math.random().toString(36).slice(2, 10)}`, decision = 'allow' } = {}) {
      return driveConsent(running.url, authorizationUrl, username, decision);
    },
    async close() {
      await running.close();
    },
  };
  world.newVault();
  return world;
}

/** Login + consent over HTTP with a cookie jar, as a browser would; returns the redirect's URL. */
async function driveConsent(base: string, authorizationUrl: string, username: string, decision: 'allow' | 'deny'): Promise<string> {
  const cookies = new Map<string, string>();
  const keep = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return res;
  };
  const headers = () => (cookies.size ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {});
  const get = async (url: string) => keep(await fetch(new URL(url, base), { headers: headers(), redirect: 'manual' }));
  const post = async (url: string, fields: Record<string, string>) =>
    keep(
      await fetch(new URL(url, base), {
        method: 'POST',
        headers: { ...headers(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
        redirect: 'manual',
      }),
    );
  const field = (html: string, name: string) => {
    const value = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
    if (value === undefined) throw new Error(`no ${name} field on the page`);
    return value.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  };
  const loginPage = await (await get(authorizationUrl)).text();
  const login = await post('/login', { username, password: 'password', return_to: field(loginPage, 'return_to') });
  if (login.status !== 303) throw new Error(`login answered ${login.status}`);
  const consentPage = await (await get(login.headers.get('location') as string)).text();
  const action = /<form id="consent-form" method="post" action="([^"]+)"/.exec(consentPage)?.[1];
  if (!action) throw new Error('no consent form on the page');
  const decided = await post(action.replaceAll('&amp;', '&'), {
    request_id: field(consentPage, 'request_id'),
    csrf_token: field(consentPage, 'csrf_token'),
    decision,
  });
  const location = decided.headers.get('location');
  if (decided.status !== 302 || !location) throw new Error(`the consent decision answered ${decided.status}`);
  return location;
}
