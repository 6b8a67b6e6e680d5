import { InvalidArgumentError } from '../errors/errors';
import { type RetryPolicy, resolveRetryPolicy } from '../util/retry';

/** Where `vault.fetch` puts the access token. Never both. */
export type TokenPlacement = 'header' | 'query';

/**
 * How `vault.fetch` calls APIs. Every field has a default; set them per vault (`createVault({ executor })`)
 * or per call (`init.tokenvault`).
 */
export interface ExecutorOptions {
  /**
   * Retries of transient failures (network errors, attempt timeouts, 5xx, 503 — mixi's rate limit —,
   * 429, 408): jittered exponential backoff, bounded in attempts and total time; a `Retry-After` is
   * waited out first. Default: the vault's retry defaults (3 retries, 200 ms → 5 s, 20 s in total).
   */
  readonly retry: RetryPolicy;
  /**
   * Time for the whole call, ms: waiting for a token (another process's refresh included), every
   * attempt, every backoff. Past it the call rejects with a `TimeoutError` DOMException. It ends when
   * `vault.fetch` resolves: reading the body is the caller's. `Infinity` turns it off. Default 30,000.
   */
  readonly timeoutMs: number;
  /**
   * Time one attempt may wait for the response headers, ms. An attempt that runs out is a transient
   * failure (retried like a network error). Default 10,000.
   */
  readonly attemptTimeoutMs: number;
  /**
   * Retry non-idempotent methods (POST, PATCH, …) on transient failures too. Default false: a POST
   * that failed in flight may have been processed, and sending it again could act twice. (A `401` for
   * an expired token is retried whatever the method: the API refused the request without acting on it.)
   */
  readonly retryNonIdempotent: boolean;
  /**
   * Largest request body kept for replay, bytes. A larger body is sent once and never replayed, like a
   * stream. Default 1 MiB.
   */
  readonly maxReplayBodyBytes: number;
}

/**
 * What a vault's `executor` option accepts: any subset of {@link ExecutorOptions}, the retry policy
 * partial too (`{ retry: { retries: 5 } }` keeps the other retry defaults).
 */
export type ExecutorSettings = Omit<Partial<ExecutorOptions>, 'retry'> & { readonly retry?: Partial<RetryPolicy> | undefined };

/**
 * Per-call settings of `vault.fetch`, passed as `init.tokenvault`; each one overrides the vault's.
 *
 * @example
 * await vault.fetch('alice', 'voice/statuses', {
 *   method: 'POST',
 *   body: new URLSearchParams({ status: 'hello' }),
 *   tokenvault: { retryNonIdempotent: true, timeoutMs: 5_000 },
 * });
 */
export interface VaultFetchOptions {
  /** `header` (`Authorization: Bearer`) or `query` (`access_token`). Default: the client's `tokenPlacement`. */
  readonly placement?: TokenPlacement | undefined;
  readonly retryNonIdempotent?: boolean | undefined;
  readonly timeoutMs?: number | undefined;
  readonly attemptTimeoutMs?: number | undefined;
  /** A partial policy merged over the vault's, or `false` for no transient retries at all. */
  readonly retry?: Partial<RetryPolicy> | false | undefined;
  readonly maxReplayBodyBytes?: number | undefined;
}

const DEFAULTS = {
  timeoutMs: 30_000,
  attemptTimeoutMs: 10_000,
  maxReplayBodyBytes: 1024 * 1024,
} as const;

function positive(name: string, value: unknown, fallback: number, allowInfinity: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new InvalidArgumentError(`executor option "${name}" must be a positive number${allowInfinity ? ' (or Infinity)' : ''}`);
  }
  return value;
}

function retryPolicy(partial: Partial<RetryPolicy> | undefined, base?: RetryPolicy): RetryPolicy {
  try {
    return resolveRetryPolicy(base ? { ...base, ...partial } : partial);
  } catch (e) {
    // resolveRetryPolicy throws a plain TypeError; callers branch on tokenvault's coded errors.
    throw new InvalidArgumentError(`executor option "retry": ${(e as Error).message}`);
  }
}

/**
 * Fills in the executor defaults and checks every number, so mistakes surface at `createVault`.
 *
 * @example
 * resolveExecutorOptions({ timeoutMs: 5_000 }).attemptTimeoutMs // 10_000
 */
export function resolveExecutorOptions(partial: ExecutorSettings | undefined): ExecutorOptions {
  if (partial !== undefined && (typeof partial !== 'object' || partial === null)) {
    throw new InvalidArgumentError('vault option "executor" must be an object');
  }
  const retryNonIdempotent = partial?.retryNonIdempotent ?? false;
  if (typeof retryNonIdempotent !== 'boolean') throw new InvalidArgumentError('executor option "retryNonIdempotent" must be a boolean');
  return {
    retry: retryPolicy(partial?.retry),
    timeoutMs: positive('timeoutMs', partial?.timeoutMs, DEFAULTS.timeoutMs, true),
    attemptTimeoutMs: positive('attemptTimeoutMs', partial?.attemptTimeoutMs, DEFAULTS.attemptTimeoutMs, true),
    retryNonIdempotent,
    maxReplayBodyBytes: positive('maxReplayBodyBytes', partial?.maxReplayBodyBytes, DEFAULTS.maxReplayBodyBytes, false),
  };
}

/**
 * The vault's executor options with one call's overrides applied. Returns `base` itself when the call
 * overrides nothing, so the common call allocates nothing here.
 */
export function resolveCallOptions(base: ExecutorOptions, call: VaultFetchOptions | undefined): ExecutorOptions {
  if (call === undefined) return base;
  if (typeof call !== 'object' || call === null) throw new InvalidArgumentError('"init.tokenvault" must be an object');
  const { retry, retryNonIdempotent } = call;
  if (retryNonIdempotent !== undefined && typeof retryNonIdempotent !== 'boolean') {
    throw new InvalidArgumentError('"init.tokenvault.retryNonIdempotent" must be a boolean');
  }
  if (retry !== undefined && retry !== false && (typeof retry !== 'object' || retry === null)) {
    throw new InvalidArgumentError('"init.tokenvault.retry" must be a partial retry policy or false');
  }
  return {
    retry: retry === undefined ? base.retry : retry === false ? { ...base.retry, retries: 0 } : retryPolicy(retry, base.retry),
    timeoutMs: positive('timeoutMs', call.timeoutMs, base.timeoutMs, true),
    attemptTimeoutMs: positive('attemptTimeoutMs', call.attemptTimeoutMs, base.attemptTimeoutMs, true),
    retryNonIdempotent: retryNonIdempotent ?? base.retryNonIdempotent,
    maxReplayBodyBytes: positive('maxReplayBodyBytes', call.maxReplayBodyBytes, base.maxReplayBodyBytes, false),
  };
}

/** Checks a placement given per call (the per-client one is checked by `resolveClient`). */
export function checkPlacement(value: unknown, fallback: TokenPlacement): TokenPlacement {
  if (value === undefined) return fallback;
  if (value !== 'header' && value !== 'query') throw new InvalidArgumentError('"init.tokenvault.placement" must be "header" or "query"');
  return value;
}
