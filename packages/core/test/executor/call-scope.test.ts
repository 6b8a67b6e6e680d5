import { describe, expect, it } from 'vitest';
import { CallScope } from '../../src/executor/call-scope';
import { rejection, until } from '../helpers/executor-fixtures';

/** A response whose arrival the test decides, and whose body records being cancelled. */
function pendingResponse() {
  let cancelled = false;
  let arrive!: (res: Response) => void;
  let fail!: (e: unknown) => void;
  const promise = new Promise<Response>((resolve, reject) => {
    arrive = resolve;
    fail = reject;
  });
  const response = () =>
    new Response(
      new ReadableStream({
        cancel() {
          cancelled = true;
        },
      }),
    );
  return { promise, arrive: () => arrive(response()), fail, cancelled: () => cancelled };
}

describe('CallScope.attempt', () => {
  it('resolves with the response when it comes first', async () => {
    const scope = new CallScope(undefined, 60_000);
    const late = pendingResponse();
    const outcome = scope.attempt(late.promise, 60_000);
    late.arrive();
    const res = await outcome;
    expect(res.status).toBe(200);
    expect(scope.attemptTimedOut).toBe(false);
    expect(late.cancelled()).toBe(false);
    scope.dispose();
  });

  it('passes a failed request\'s error through untouched', async () => {
    const scope = new CallScope(undefined, 60_000);
    const failing = pendingResponse();
    const error = new TypeError('fetch failed');
    const outcome = scope.attempt(failing.promise, 60_000);
    failing.fail(error);
    expect(await rejection(outcome)).toBe(error);
    expect(scope.attemptTimedOut).toBe(false);
    scope.dispose();
  });

  it('an attempt past its own timeout rejects with TimeoutError; the response that comes later is cancelled', async () => {
    const scope = new CallScope(undefined, 60_000);
    const late = pendingResponse();
    const error = await rejection(scope.attempt(late.promise, 1));
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
    expect(scope.attemptTimedOut).toBe(true);
    expect(scope.aborted).toBe(false); // the call goes on: an attempt timeout is a transient failure
    late.arrive();
    await until(late.cancelled, 'the late response is cancelled');
    scope.dispose();
  });

  it('an attempt overtaken by the call\'s deadline ends the call with the call\'s TimeoutError', async () => {
    const scope = new CallScope(undefined, 1);
    const late = pendingResponse();
    const error = await rejection(scope.attempt(late.promise, 60_000));
    expect((error as DOMException).name).toBe('TimeoutError');
    expect(error).toBe(scope.reason);
    expect(scope.timedOut).toBe(true);
    expect(scope.attemptTimedOut).toBe(false);
    late.arrive();
    await until(late.cancelled, 'the late response is cancelled');
    scope.dispose();
  });

  it('an attempt started after the call\'s deadline is abandoned at once', async () => {
    const scope = new CallScope(undefined, 1);
    await until(() => scope.remainingMs() === 0, 'the deadline passes');
    const late = pendingResponse();
    expect((await rejection(scope.attempt(late.promise, 60_000)) as DOMException).name).toBe('TimeoutError');
    late.arrive();
    await until(late.cancelled, 'the late response is cancelled');
    scope.dispose();
  });
});
