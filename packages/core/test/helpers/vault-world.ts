/**
 * A vault talking to the mixi emulator over real HTTP on loopback, sharing the emulator's virtual clock
 * (so "15 minutes later" is one call, for both sides).
 */
import { consentAs, createMixiEmulator, type MixiEmulator, type MixiEmulatorOptions, mixiEndpoints } from '@tokenvault/mixi-emulator';
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
      return consentAs(authorizationUrl, { username, decision });
    },
    async close() {
      await running.close();
    },
  };
  world.newVault();
  return world;
}
