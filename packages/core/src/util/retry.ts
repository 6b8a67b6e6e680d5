import pRetry from 'p-retry';
import { ProviderUnavailableError } from '../errors/errors';
import type { Clock } from './clock';

/**
 * How transient failures are retried: jittered exponential backoff, bounded in attempts and in total
 * time. Used for token requests by the vault and for API calls by the executor.
 */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 3. */
  readonly retries: number;
  /** First backoff delay, ms. Default 200. */
  readonly minTimeoutMs: number;
  /** Largest backoff delay, ms. Default 5,000. */
  readonly maxTimeoutMs: number;
  /** Give up once this much time has passed since the first attempt, ms. Default 20,000. */
  readonly maxRetryTimeMs: number;
  /** The longest `Retry-After` worth waiting for, ms; a longer one ends the retries. Default 30,000. */
  readonly maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  retries: 3,
  minTimeoutMs: 200,
  maxTimeoutMs: 5_000,
  maxRetryTimeMs: 20_000,
  maxRetryAfterMs: 30_000,
};

/** Fills the gaps in a partial policy and checks the numbers. */
export function resolveRetryPolicy(partial: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy = { ...defaultRetryPolicy, ...partial };
  for (const [key, value] of Object.entries(policy)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new TypeError(`retry policy "${key}" must be a non-negative number`);
    }
  }
  return policy;
}

export interface RetryRun {
  readonly clock: Clock;
  readonly signal?: AbortSignal | undefined;
  /**
   * No attempt starts at or after this time on `clock` (a lease's end, say), epoch ms. Checked on the
   * injected clock before every attempt, the first and every retry, since p-retry's own budget runs on
   * the real one; a wait (backoff, `Retry-After`) that would end at or after it ends the retries at
   * once, with the last failure.
   */
  readonly deadline?: number | undefined;
  /** Whether an error is worth another attempt. */
  readonly isRetryable: (error: unknown) => boolean;
  /** Called before each retry (for events and logs). */
  readonly onRetry?: ((error: unknown, attempt: number) => void) | undefined;
  /**
   * What the waits between attempts and the `maxRetryTimeMs` budget are measured on.
   * - `'clock'`: on `clock` (`clock.sleep`, `clock.now()`), like every other time in the vault: a
   *   virtual clock sees every wait, and budget, deadline and lease are on one clock. The vault's
   *   token-endpoint requests use it.
   * - `'timers'` (default): p-retry's own `setTimeout` backoff and `performance.now()` budget. The
   *   executor uses it (its per-attempt and whole-call timeouts are real timers too).
   * The `deadline` and `Retry-After` waits are on `clock` either way.
   */
  readonly waitOn?: 'clock' | 'timers' | undefined;
  /** Backoff jitter for `waitOn: 'clock'`: a number in [0, 1). Default `Math.random`. */
  readonly random?: (() => number) | undefined;
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or the policy is spent; then
 * rethrows the last error. A `retryAt` on a {@link ProviderUnavailableError} (from `Retry-After`) is
 * honoured before the next attempt, within the budget.
 *
 * @example
 * const tokens = await withRetry(() => sendAndProcess(), policy, { clock, isRetryable: isTransient });
 */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy, run: RetryRun): Promise<T> {
  const { clock } = run;
  const onClock = run.waitOn === 'clock';
  const started = clock.now();
  const deadline = run.deadline ?? Number.POSITIVE_INFINITY;
  // On the clock, the whole budget is one deadline: the earlier of the caller's and maxRetryTimeMs.
  const end = onClock ? Math.min(deadline, started + policy.maxRetryTimeMs) : deadline;
  const budget = Math.min(policy.maxRetryTimeMs, deadline - started);
  if (budget <= 0) throw new ProviderUnavailableError('no time is left to make this request (its deadline has passed)');
  const nonRetryable = new WeakSet<object>();
  let lastFailure: Error | undefined;
  /** Ends the retries with `error` (p-retry rethrows it as the result). */
  const giveUp = (error: Error): Error => {
    nonRetryable.add(error);
    return error;
  };
  return pRetry(
    async (n) => {
      // Time passes between attempts that p-retry does not see (a wait on a virtual clock, a stalled
      // process): an attempt that would start past the deadline is not made. What the caller learns is
      // the failure that made us retry, not a made-up one.
      if (n > 1 && clock.now() >= end && lastFailure !== undefined) throw giveUp(lastFailure);
      try {
        return await attempt(n);
      } catch (error) {
        // p-retry never retries plain TypeErrors and would wrap non-errors: classify here instead.
        const failure = error instanceof Error ? error : new ProviderUnavailableError('request failed', {}, { cause: error });
        if (!run.isRetryable(error)) nonRetryable.add(failure);
        lastFailure = failure;
        throw failure;
      }
    },
    {
      retries: policy.retries,
      ...(onClock
        ? // p-retry counts attempts and classifies; the waits are ours, on the clock (below).
          { minTimeout: 0, maxTimeout: 0, randomize: false }
        : { minTimeout: policy.minTimeoutMs, maxTimeout: policy.maxTimeoutMs, factor: 2, randomize: true, maxRetryTime: budget }),
      signal: run.signal,
      shouldRetry: ({ error }) => !nonRetryable.has(error) && run.isRetryable(error),
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        if (nonRetryable.has(error) || retriesLeft === 0) return;
        const now = clock.now();
        let wait = onClock ? backoff(policy, attemptNumber, run.random ?? Math.random) : 0;
        if (error instanceof ProviderUnavailableError && error.retryAt !== undefined) {
          const asked = error.retryAt - now;
          if (asked > policy.maxRetryAfterMs) {
            giveUp(error);
            return;
          }
          wait = Math.max(wait, asked);
        }
        // The next attempt would start at now + wait at the earliest: at or past the end, do not wait
        // for it (in 'timers' mode p-retry's own backoff comes on top, and it checks its own budget).
        if (now + wait >= end || now - started + wait >= budget) {
          giveUp(error);
          return;
        }
        if (wait > 0) await clock.sleep(wait, run.signal);
        run.onRetry?.(error, attemptNumber);
      },
    },
  );
}

/** p-retry's backoff: `minTimeoutMs × 2^(n−1)`, randomised by a factor in [1, 2), at most `maxTimeoutMs`. */
function backoff(policy: RetryPolicy, attemptNumber: number, random: () => number): number {
  return Math.min(Math.round((1 + random()) * policy.minTimeoutMs * 2 ** (attemptNumber - 1)), policy.maxTimeoutMs);
}
