import { describe, expect, it } from 'vitest';
import { CorruptRecordError } from '@tokenvault/core';
import type { DriverFailure } from '../src/driver-errors';
import { withStoreRetry, type RetryContext } from '../src/store-retry';

/** A virtual clock: sleeping advances time instantly, and every delay is recorded. */
function context(policy: Partial<RetryContext['policy']>, classify: (e: unknown) => DriverFailure = () => 'retry') {
  let now = 0;
  const delays: number[] = [];
  const ctx: RetryContext = {
    policy: { maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 10_000, initialDelayMs: 10, maxDelayMs: 100, ...policy },
    classify,
    clock: { now: () => now, sleep: async (ms) => void (delays.push(ms), (now += ms)) },
    random: () => 0.5,
  };
  return { ctx, delays };
}

const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

describe('withStoreRetry', () => {
  it('retries with growing, capped, jittered delays until the operation succeeds', async () => {
    const { ctx, delays } = context({});
    let calls = 0;
    const result = await withStoreRetry(ctx, 'op', async () => {
      if (++calls < 6) throw busy;
      return 'done';
    });
    expect(result).toBe('done');
    expect(delays).toEqual([5, 10, 20, 40, 50]);
  });

  it('stops at the attempt bound with a StoreError that keeps the driver code', async () => {
    const { ctx } = context({ maxAttempts: 3 });
    let calls = 0;
    const error = await withStoreRetry(ctx, 'compareAndSet', async () => {
      calls++;
      throw busy;
    }).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(error).toMatchObject({ code: 'store_error', cause: { code: 'SQLITE_BUSY' } });
    expect((error as Error).message).toMatch(/^compareAndSet \(gave up after 3 attempts/);
  });

  it('stops at the time bound', async () => {
    const { ctx, delays } = context({ maxElapsedMs: 60 });
    await expect(withStoreRetry(ctx, 'op', async () => Promise.reject(busy))).rejects.toMatchObject({ code: 'store_error' });
    expect(delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(60);
  });

  it('fails at once on an error that is not transient, and lets its own errors through untouched', async () => {
    const { ctx } = context({}, () => 'fail');
    let calls = 0;
    await expect(withStoreRetry(ctx, 'op', async () => Promise.reject((calls++, busy)))).rejects.toMatchObject({ code: 'store_error' });
    expect(calls).toBe(1);
    const corrupt = new CorruptRecordError('alice', 'bad');
    await expect(withStoreRetry(context({}).ctx, 'op', async () => Promise.reject(corrupt))).rejects.toBe(corrupt);
  });

  it('tells later attempts that an earlier one broke off ambiguously', async () => {
    const { ctx } = context({}, () => 'retry-ambiguous');
    const seen: boolean[] = [];
    await withStoreRetry(ctx, 'op', async (ambiguous) => {
      seen.push(ambiguous);
      if (seen.length < 2) throw busy;
      return true;
    });
    expect(seen).toEqual([false, true]);
  });
});
