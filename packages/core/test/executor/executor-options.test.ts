import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors';
import { checkPlacement, resolveCallOptions, resolveExecutorOptions } from '../../src/executor/executor-options';
import { defaultRetryPolicy } from '../../src/util/retry';

describe('executor options', () => {
  it('has documented defaults', () => {
    expect(resolveExecutorOptions(undefined)).toEqual({
      retry: defaultRetryPolicy,
      timeoutMs: 30_000,
      attemptTimeoutMs: 10_000,
      retryNonIdempotent: false,
      maxReplayBodyBytes: 1024 * 1024,
    });
  });

  it('merges a partial retry policy over the defaults and allows Infinity timeouts', () => {
    const options = resolveExecutorOptions({ retry: { retries: 7 }, timeoutMs: Number.POSITIVE_INFINITY });
    expect(options.retry).toEqual({ ...defaultRetryPolicy, retries: 7 });
    expect(options.timeoutMs).toBe(Number.POSITIVE_INFINITY);
  });

  it.each<[string, object]>([
    ['a zero timeout', { timeoutMs: 0 }],
    ['a negative attempt timeout', { attemptTimeoutMs: -1 }],
    ['NaN', { timeoutMs: Number.NaN }],
    ['an infinite body limit', { maxReplayBodyBytes: Number.POSITIVE_INFINITY }],
    ['a string', { timeoutMs: '10' }],
    ['a negative retry count', { retry: { retries: -1 } }],
    ['a non-boolean opt-in', { retryNonIdempotent: 'yes' }],
  ])('refuses %s with InvalidArgumentError', (_, partial) => {
    expect(() => resolveExecutorOptions(partial as never)).toThrow(InvalidArgumentError);
  });

  it('per call: returns the vault\'s options untouched when nothing is overridden', () => {
    const base = resolveExecutorOptions({});
    expect(resolveCallOptions(base, undefined)).toBe(base);
  });

  it('per call: overrides what is given, merges retry, and retry: false means no retries', () => {
    const base = resolveExecutorOptions({ retry: { retries: 5, minTimeoutMs: 50 } });
    const call = resolveCallOptions(base, { timeoutMs: 1_000, retry: { retries: 1 }, retryNonIdempotent: true });
    expect(call).toEqual({ ...base, timeoutMs: 1_000, retryNonIdempotent: true, retry: { ...base.retry, retries: 1 } });
    expect(resolveCallOptions(base, { retry: false }).retry).toEqual({ ...base.retry, retries: 0 });
    expect(() => resolveCallOptions(base, { timeoutMs: -5 })).toThrow(InvalidArgumentError);
    expect(() => resolveCallOptions(base, { retry: 3 as never })).toThrow(InvalidArgumentError);
    expect(() => resolveCallOptions(base, 'fast' as never)).toThrow(InvalidArgumentError);
  });

  it('checks a per-call placement', () => {
    expect(checkPlacement(undefined, 'query')).toBe('query');
    expect(checkPlacement('header', 'query')).toBe('header');
    expect(() => checkPlacement('both', 'header')).toThrow(InvalidArgumentError);
  });
});
