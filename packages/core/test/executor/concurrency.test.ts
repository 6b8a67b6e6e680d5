import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExecutorWorld, payloads, recordEvents, startWorld } from '../helpers/executor-fixtures';

describe('vault.fetch: many callers, one expiry', () => {
  let world: ExecutorWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.close());

  /** The global fetch, except that the emulator's clock jumps past expiry as the `at`-th API call leaves. */
  function expiringMidFlight(at: number, lifetimeMs: number): typeof fetch {
    let apiCalls = 0;
    return (input, init) => {
      if (String(input).includes('/2/people/') && ++apiCalls === at) world.emulator.clock.advance(lifetimeMs);
      return fetch(input, init);
    };
  }

  it('100 concurrent fetches with the clock moved past expiry mid-flight: exactly one refresh, 100 OK', async () => {
    const { grantId, minted } = await world.grant();
    const vault = world.vault({ fetch: expiringMidFlight(50, minted.expiresIn * 1000) });
    const events = recordEvents(vault, ['retry', 'refreshed', 'response']);

    const responses = await Promise.all(Array.from({ length: 100 }, () => vault.fetch(grantId, 'people/@me/@self')));

    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ entry: { id: string } }>));
    expect(new Set(bodies.map((b) => b.entry.id))).toEqual(new Set([minted.userId]));
    expect(world.emulator.counters.refreshesOf(minted.grantId)).toBe(1);
    expect(payloads(events, 'refreshed')).toHaveLength(1);
    // Every call sent after the jump met the expired token and was retried once, with the new one.
    const retries = payloads(events, 'retry');
    expect(retries.length).toBeGreaterThanOrEqual(51);
    expect(retries.every((r) => r.reason === 'token_expired' && r.attempt === 2)).toBe(true);
    expect(payloads(events, 'response').every((r) => r.status === 200)).toBe(true);
    expect((await vault.inspect(grantId))?.state).toBe('authorized');
  });

  it('two vaults on one store (two processes), 50 fetches each, clock moved mid-flight: still one refresh', async () => {
    const { grantId, minted } = await world.grant();
    const jump = expiringMidFlight(40, minted.expiresIn * 1000);
    const a = world.vault({ fetch: jump });
    const b = world.vault({ fetch: jump });
    const calls = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).fetch(grantId, 'people/@me/@self'));
    const responses = await Promise.all(calls);
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(world.emulator.counters.refreshesOf(minted.grantId)).toBe(1);
    expect(world.emulator.counters.snapshot().invalidGrant).toBe(0);
  });
});
