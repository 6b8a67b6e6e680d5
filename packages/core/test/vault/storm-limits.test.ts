/**
 * What keeps a storm of expiries orderly in one process: at most `maxConcurrentRefreshes` refreshes at
 * once (the rest queue before taking a lease), and one budget of store re-reads per second shared by
 * every wait for another process's refresh (`leasePollsPerSecond`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyGrantEvent, type Clock, createGrantRecord, type FetchLike, memoryStore, Secret } from '../../src/index';
import { startVaultWorld, type VaultWorld } from '../helpers/vault-world';

const FIFTEEN_MINUTES = 15 * 60_000;
let w: VaultWorld;
afterEach(() => w?.close());

describe('a storm of expiries in one process', () => {
  it('runs at most maxConcurrentRefreshes token requests at once, and refreshes every grant exactly once', async () => {
    let inFlight = 0;
    let most = 0;
    const counting: FetchLike = async (input, init) => {
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        return await fetch(input, init);
      } finally {
        inFlight--;
      }
    };
    w = await startVaultWorld({ vault: { maxConcurrentRefreshes: 3, fetch: counting } });
    const grants = Array.from({ length: 20 }, (_, i) => `g${i}`);
    const seeded = await Promise.all(grants.map((id) => w.seedGrant(id)));
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    const tokens = await Promise.all(grants.flatMap((id) => Array.from({ length: 5 }, () => w.vault.getAccessToken(id))));
    expect(new Set(tokens).size).toBe(grants.length);
    expect(most).toBe(3);
    for (const s of seeded) expect(w.emulator.counters.refreshesOf(s.emulatorGrantId)).toBe(1);
  });

  it('spreads the re-reads of many waits for another process over the shared budget', async () => {
    const store = memoryStore();
    // A clock that moves only when slept on, and remembers what each wait asked for.
    let t = Date.UTC(2026, 0, 1);
    const slept: number[] = [];
    const clock: Clock = {
      now: () => t,
      sleep: async (ms: number) => {
        slept.push(ms);
        await Promise.resolve();
        t += ms;
      },
    };
    w = await startVaultWorld({ store });
    const vault = w.newVault({ clock, leasePollsPerSecond: 100, pollIntervalMs: { min: 10, max: 50 } });
    const grants = Array.from({ length: 40 }, (_, i) => `g${i}`);
    for (const id of grants) {
      await store.create({ ...seededRecord(id), version: 1 });
    }
    // Another process holds every lease for a minute, and the tokens have expired.
    for (const id of grants) {
      const r = (await store.get(id))!;
      await store.compareAndSet(applyGrantEvent({ ...r, accessTokenExpiresAt: t - 1 }, { type: 'refresh.start', now: t, owner: 'elsewhere', leaseUntil: t + 60_000 })!, r.version);
    }
    const waits = grants.map((id) => vault.getAccessToken(id).catch((e: unknown) => e));
    // Let every wait start and poll once (their first sleeps grow as the others join), then look at
    // what they ask to sleep from then on.
    for (let i = 0; i < 50 && slept.length < 2 * grants.length; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(slept.length).toBeGreaterThanOrEqual(2 * grants.length);
    // 40 waits sharing 100 re-reads per second: each sleeps at least 400 ms, not the 10 ms minimum.
    const steady = slept.slice(grants.length, 2 * grants.length);
    for (const ms of steady) expect(ms).toBeGreaterThanOrEqual(400);
    t += 120_000; // past every lease: the waits end (and take the leases over, or give up)
    await Promise.all(waits);
  });
});

/** An authorized record with tokens minted at the emulator, as the vault's importGrant would write it. */
function seededRecord(grantId: string) {
  const minted = w.emulator.mintGrant({ clientId: w.clientId, scope: ['r_profile'] });
  const at = Date.UTC(2026, 0, 1);
  return applyGrantEvent(createGrantRecord({ grantId, client: 'mixi', now: at }), {
    type: 'tokens.import',
    now: at,
    tokens: {
      accessToken: new Secret(minted.accessToken),
      refreshToken: new Secret(minted.refreshToken),
      expiresAt: at + 900_000,
      tokenType: 'Bearer',
      scope: ['r_profile'],
      idToken: null,
    },
  })!;
}
