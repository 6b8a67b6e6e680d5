import { describe, expect, it } from 'vitest';
import { ProviderUnavailableError } from '../../src/errors/errors';
import type { Clock } from '../../src/util/clock';
import { type RetryPolicy, withRetry } from '../../src/util/retry';

const T0 = 1_700_000_000_000;
const POLICY: RetryPolicy = { retries: 3, minTimeoutMs: 200, maxTimeoutMs: 5_000, maxRetryTimeMs: 20_000, maxRetryAfterMs: 30_000 };

/** A virtual clock: `sleep` moves it forward at once (plus `overshoot`, a process that slept too long). */
function virtualClock(overshoot = 0) {
  const sleeps: number[] = [];
  let now = T0;
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms + overshoot;
    },
  };
  return { clock, sleeps, advance: (ms: number) => (now += ms), at: () => now - T0 };
}

/** An attempt function that fails transiently `failures` times (recording when each attempt started), then succeeds. */
function flaky(failures: number, make: () => Error = () => new ProviderUnavailableError('503')) {
  const startedAt: number[] = [];
  return {
    startedAt,
    attempt: (at: () => number) => async () => {
      startedAt.push(at());
      if (startedAt.length <= failures) throw make();
      return 'ok';
    },
  };
}

const retryable = (e: unknown) => e instanceof ProviderUnavailableError;

describe("withRetry on the vault's clock (waitOn: 'clock')", () => {
  it('waits out the backoff on the clock, jittered from the given source, and succeeds', async () => {
    const v = virtualClock();
    const f = flaky(2);
    await expect(withRetry(f.attempt(v.at), POLICY, { clock: v.clock, isRetryable: retryable, waitOn: 'clock', random: () => 0.5 })).resolves.toBe('ok');
    expect(v.sleeps).toEqual([300, 600]); // 1.5 × 200 × 2^(n−1)
    expect(f.startedAt).toEqual([0, 300, 900]);
  });

  it('starts no attempt at or after the deadline: a wait that would end there ends the retries with the last failure', async () => {
    const v = virtualClock();
    const first = new ProviderUnavailableError('503 first');
    const f = flaky(5, () => first);
    const run = withRetry(f.attempt(v.at), { ...POLICY, minTimeoutMs: 1_000 }, { clock: v.clock, isRetryable: retryable, waitOn: 'clock', random: () => 0, deadline: T0 + 1_000 });
    await expect(run).rejects.toBe(first);
    expect(f.startedAt).toEqual([0]);
    expect(v.sleeps).toEqual([]);
  });

  it('checks the deadline again after a wait that overran it (a paused process)', async () => {
    const v = virtualClock(60_000);
    const f = flaky(5);
    await expect(withRetry(f.attempt(v.at), POLICY, { clock: v.clock, isRetryable: retryable, waitOn: 'clock', random: () => 0, deadline: T0 + 15_000 })).rejects.toThrow('503');
    expect(f.startedAt).toEqual([0]);
    expect(v.sleeps).toEqual([200]);
  });

  it('honours Retry-After on the clock, but not one that would run past the deadline', async () => {
    const v = virtualClock();
    const retryAfter = (seconds: number) => () => new ProviderUnavailableError('503', { retryAt: v.clock.now() + seconds * 1000 });
    const twoSeconds = flaky(1, retryAfter(2));
    await expect(withRetry(twoSeconds.attempt(v.at), POLICY, { clock: v.clock, isRetryable: retryable, waitOn: 'clock', random: () => 0, deadline: T0 + 15_000 })).resolves.toBe('ok');
    expect(twoSeconds.startedAt).toEqual([0, 2_000]);

    const w = virtualClock();
    const tooLong = flaky(1, () => new ProviderUnavailableError('503', { retryAt: w.clock.now() + 15_000 }));
    await expect(withRetry(tooLong.attempt(w.at), POLICY, { clock: w.clock, isRetryable: retryable, waitOn: 'clock', random: () => 0, deadline: T0 + 15_000 })).rejects.toThrow('503');
    expect(tooLong.startedAt).toEqual([0]);
    expect(w.sleeps).toEqual([]);
  });

  it('keeps maxRetryTimeMs on the clock', async () => {
    const v = virtualClock();
    const f = flaky(10);
    await expect(withRetry(f.attempt(v.at), { ...POLICY, retries: 10, minTimeoutMs: 4_000, maxTimeoutMs: 4_000, maxRetryTimeMs: 10_000 }, { clock: v.clock, isRetryable: retryable, waitOn: 'clock', random: () => 0 })).rejects.toThrow('503');
    expect(f.startedAt).toEqual([0, 4_000, 8_000]);
  });

  it('does not retry what is not retryable', async () => {
    const v = virtualClock();
    const f = flaky(1, () => new TypeError('bug'));
    await expect(withRetry(f.attempt(v.at), POLICY, { clock: v.clock, isRetryable: retryable, waitOn: 'clock' })).rejects.toThrow('bug');
    expect(f.startedAt).toEqual([0]);
  });
});

describe("withRetry on p-retry's timers (the default)", () => {
  it('checks the deadline on the clock before a retry, too', async () => {
    const v = virtualClock();
    const f = flaky(5);
    const attempt = f.attempt(v.at);
    const run = withRetry(async () => {
      const result = attempt();
      v.advance(16_000); // the attempt took long on the injected clock
      return result;
    }, { ...POLICY, minTimeoutMs: 0, maxTimeoutMs: 0 }, { clock: v.clock, isRetryable: retryable, deadline: T0 + 15_000 });
    await expect(run).rejects.toThrow('503');
    expect(f.startedAt).toEqual([0]);
  });
});
