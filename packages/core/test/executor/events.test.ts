import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/util/clock';
import { defaultRetryPolicy } from '../../src/util/retry';
import type { VaultEventMap } from '../../src/vault/vault-events';
import { type ExecutorWorld, startWorld } from '../helpers/executor-fixtures';

/** A clock that moves only when told to, or when something sleeps on it. */
function manualClock(): { clock: Clock; advance: (ms: number) => void } {
  let now = Date.now();
  return {
    clock: {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

/**
 * The executor builds (and times) an event only when someone listens to it. These are the cases where
 * skipping must not change what a listener sees.
 */
describe('vault.fetch events, listened to or not', () => {
  let world: ExecutorWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.close());
  beforeEach(() => world.emulator.faults.clear());

  it('a `retry` listener alone (no `request` listener) still gets the delay since the failed attempt ended', async () => {
    const { clock } = manualClock();
    const vault = world.vault({ clock, executor: { retry: { ...defaultRetryPolicy, minTimeoutMs: 1, maxTimeoutMs: 2 } } });
    const retries: Array<VaultEventMap['retry']> = [];
    vault.on('retry', (e) => retries.push(e));
    const { grantId } = await world.grant({ clock });
    world.emulator.faults.add({ endpoint: 'api', times: 1, respond: { status: 503, headers: { 'Retry-After': '2' } } });
    expect((await vault.fetch(grantId, 'people/@me/@self')).status).toBe(200);
    expect(retries).toEqual([expect.objectContaining({ attempt: 2, reason: 'transient', status: 503, retryAfterMs: 2000 })]);
    // The Retry-After wait is the only time that passed on the manual clock since the 503 arrived.
    expect(retries[0]!.delayMs).toBe(2000);
  });

  it('a listener that subscribes while a call is in flight gets that call\'s `request` and `response`, timed from their start', async () => {
    const { clock, advance } = manualClock();
    const seen: Array<{ name: 'request' | 'response'; durationMs: number; attempts?: number }> = [];
    const subscribing: typeof fetch = (input, init) => {
      // The request takes 250 ms on the vault's clock, and someone subscribes meanwhile.
      advance(250);
      vault.on('request', (e) => seen.push({ name: 'request', durationMs: e.durationMs }));
      vault.on('response', (e) => seen.push({ name: 'response', durationMs: e.durationMs, attempts: e.attempts }));
      return fetch(input, init);
    };
    const vault = world.vault({ clock, fetch: subscribing });
    const { grantId } = await world.grant({ clock });
    expect((await vault.fetch(grantId, 'people/@me/@self')).status).toBe(200);
    expect(seen).toEqual([
      { name: 'request', durationMs: 250 },
      { name: 'response', durationMs: 250, attempts: 1 },
    ]);
  });
});
