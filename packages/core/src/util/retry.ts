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
   * injected clock before every attempt, since p-retry's own budget runs on the real one.
   */
  readonly deadline?: number | undefined;
  /** Whether an error is worth another attempt. */
  readonly isRetryable: (error: unknown) => boolean;
  /** Called before each retry (for events and logs). */
  readonly onRetry?: ((error: unknown, attempt: number) => void) | undefined;
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
  const started = run.clock.now();
  const budget = Math.min(policy.maxRetryTimeMs, (run.deadline ?? Number.POSITIVE_INFINITY) - started);
  if (budget <= 0) throw new ProviderUnavailableError('no time is left to make this request (its deadline has passed)');
  const nonRetryable = new WeakSet<object>();
  return pRetry(
    async (n) => {
      try {
        return await attempt(n);
      } catch (error) {
        // p-retry never retries plain TypeErrors and would wrap non-errors: classify here instead.
        if (!run.isRetryable(error) && typeof error === 'object' && error !== null) nonRetryable.add(error);
        throw error instanceof Error ? error : new ProviderUnavailableError('request failed', {}, { cause: error });
      }
    },
    {
      retries: policy.retries,
      minTimeout: policy.minTimeoutMs,
      maxTimeout: policy.maxTimeoutMs,
      factor: 2,
      randomize: true,
      maxRetryTime: budget,
      signal: run.signal,
      shouldRetry: ({ error }) => !nonRetryable.has(error) && run.isRetryable(error),
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        if (nonRetryable.has(error) || retriesLeft === 0) return;
        if (error instanceof ProviderUnavailableError && error.retryAt !== undefined) {
          const wait = error.retryAt - run.clock.now();
          const elapsed = run.clock.now() - started;
          if (wait > policy.maxRetryAfterMs || elapsed + wait > budget) {
            nonRetryable.add(error);
            return;
          }
          if (wait > 0) await run.clock.sleep(wait, run.signal);
        }
        run.onRetry?.(error, attemptNumber);
      },
    },
  );
}
