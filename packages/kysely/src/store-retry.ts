import { InvalidArgumentError, TokenVaultError, type Clock } from '@tokenvault/core';
import { toStoreError, type DriverFailure } from './driver-errors';

/**
 * How a store retries a statement the database refused for a moment (SQLITE_BUSY, a serialization
 * failure, a dropped connection). Delays are jittered (full jitter) and grow exponentially; the
 * retries stop at whichever bound comes first.
 */
export interface StoreRetryOptions {
  /** Most attempts in all (the first included). SQLite default: unbounded (time bounds it); PostgreSQL: 5. */
  readonly maxAttempts?: number;
  /** Give up once this long has passed since the first attempt, ms. Default 10,000. */
  readonly maxElapsedMs?: number;
  /** Upper bound of the first delay, ms. SQLite default 5; PostgreSQL 25. */
  readonly initialDelayMs?: number;
  /** Upper bound of any delay, ms. SQLite default 250; PostgreSQL 1,000. */
  readonly maxDelayMs?: number;
}

export type ResolvedRetryPolicy = Required<StoreRetryOptions>;

export function resolveRetryPolicy(defaults: ResolvedRetryPolicy, options: StoreRetryOptions | undefined): ResolvedRetryPolicy {
  const policy = { ...defaults, ...options };
  for (const [name, value] of Object.entries(policy)) {
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new InvalidArgumentError(`retry option "${name}" must be a non-negative number`);
    }
  }
  return policy;
}

export interface RetryContext {
  readonly policy: ResolvedRetryPolicy;
  readonly classify: (e: unknown) => DriverFailure;
  readonly clock: Pick<Clock, 'now' | 'sleep'>;
  readonly random: () => number;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the policy's bounds are reached; a driver error that
 * reaches the caller is always a `StoreError`. `attempt` learns whether an earlier attempt broke
 * off ambiguously (the connection dropped mid-statement), so a write can check whether it landed.
 *
 * @example
 * const changed = await withStoreRetry(ctx, 'compareAndSet', (ambiguous) => update(ambiguous));
 */
export async function withStoreRetry<T>(ctx: RetryContext, operation: string, attempt: (afterAmbiguousFailure: boolean) => Promise<T>): Promise<T> {
  const started = ctx.clock.now();
  let ambiguous = false;
  for (let n = 1; ; n++) {
    try {
      return await attempt(ambiguous);
    } catch (e) {
      // Our own errors (a corrupt row, a state-hash conflict, a bad argument) are answers, not glitches.
      if (e instanceof TokenVaultError || e instanceof InvalidArgumentError) throw e;
      const kind = ctx.classify(e);
      if (kind === 'fail') throw toStoreError(operation, e);
      if (kind === 'retry-ambiguous') ambiguous = true;
      const ceiling = Math.min(ctx.policy.maxDelayMs, ctx.policy.initialDelayMs * 2 ** Math.min(n - 1, 30));
      const delay = Math.round(ctx.random() * ceiling);
      if (n >= ctx.policy.maxAttempts || ctx.clock.now() - started + delay > ctx.policy.maxElapsedMs) {
        throw toStoreError(`${operation} (gave up after ${n} attempts in ${ctx.clock.now() - started} ms)`, e);
      }
      await ctx.clock.sleep(delay);
    }
  }
}
