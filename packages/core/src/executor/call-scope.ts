// The global `performance` is a getter on every read in Node 20; the module's export is a plain object.
import { performance } from 'node:perf_hooks';
import { DeadlineNode, Deadlines } from './deadlines';

/** The one deadline timer the process's `vault.fetch` attempts share (see {@link Deadlines}). */
export const attemptDeadlines = new Deadlines();

/** Says how an attempt's promise settles once its outcome is known (see {@link CallScope.attempt}). */
export interface AttemptJudge {
  /** The response came before the deadline. */
  answered(res: Response): Response | Promise<Response>;
  /** fetch failed, or the deadline came first (its `TimeoutError`; the scope's flags are already set). */
  failed(error: unknown): Promise<Response>;
}

/**
 * The cancellation of one `vault.fetch` call: the caller's signal, the call's deadline (`timeoutMs`) and
 * each attempt's deadline (`attemptTimeoutMs`).
 *
 * Why it creates no `AbortSignal` on the common path: creating one costs about 10 µs on Node 20 (more
 * than everything else the executor does), and `AbortSignal.any` keeps every composite alive for as long
 * as a long-lived source signal lives (nodejs/node#55351). So:
 * - the caller's own signal goes to fetch and to the vault's waits untouched, exactly as with fetch (it
 *   also still aborts reading the returned body);
 * - deadlines are raced against whatever the call is waiting for; a request overtaken by a deadline is
 *   abandoned and its late response, if one comes, is cancelled. An attempt's deadline (its own timeout
 *   or the call's deadline, whichever is first) is watched by the one timer all attempts share
 *   ({@link Deadlines}), so an attempt creates no timer; the call's own timer is armed only when
 *   something else waits (a token, backoff);
 * - a real signal is made only for waits that need one (backoff sleeps), the first time one is asked for.
 */
export class CallScope extends DeadlineNode {
  /** The caller's signal, if any. */
  readonly caller: AbortSignal | undefined;
  readonly #timeoutMs: number;
  readonly #deadline: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOut = false;
  #timeoutReason: DOMException | undefined;
  #rejectDeadline: ((reason: unknown) => void) | undefined;
  #deadlinePromise: Promise<never> | undefined;
  #controller: AbortController | undefined;
  #attemptTimedOut = false;
  readonly #deadlines: Deadlines;
  /** Rejects the attempt in flight; undefined when none is (or its deadline already came). */
  #rejectAttempt: ((reason: unknown) => void) | undefined;
  #resolveAttempt: ((value: Response | Promise<Response>) => void) | undefined;
  #judge: AttemptJudge | undefined;
  /** Whether the attempt in flight ends at its own timeout (rather than the call's deadline). */
  #ownTimeout = false;
  #attemptTimeoutMs = 0;

  /** Throws the caller's `reason` when its signal is already aborted. */
  constructor(caller: AbortSignal | undefined, timeoutMs: number, deadlines: Deadlines = attemptDeadlines) {
    super();
    caller?.throwIfAborted();
    this.#deadlines = deadlines;
    this.caller = caller;
    this.#timeoutMs = timeoutMs;
    this.#deadline = Number.isFinite(timeoutMs) ? performance.now() + timeoutMs : Number.POSITIVE_INFINITY;
  }

  /** Whether the call is over: the caller aborted, or `timeoutMs` passed. */
  get aborted(): boolean {
    return this.#timedOut || (this.caller?.aborted ?? false);
  }

  /** Why the call is over: the caller's reason, or a `TimeoutError` DOMException. */
  get reason(): unknown {
    return this.caller?.aborted ? this.caller.reason : this.#timeoutReason;
  }

  /** Whether the call's own timeout (not the caller) ended it. */
  get timedOut(): boolean {
    return this.#timedOut && !(this.caller?.aborted ?? false);
  }

  /** Milliseconds left before the call's deadline; `Infinity` without one. */
  remainingMs(): number {
    return this.#deadline === Number.POSITIVE_INFINITY ? this.#deadline : Math.max(0, this.#deadline - performance.now());
  }

  /**
   * A signal for waits that must be cancellable themselves (backoff sleeps): aborted with the caller's
   * reason or at the deadline. Made on first use only.
   */
  get signal(): AbortSignal {
    this.#armDeadline();
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
      else this.caller?.addEventListener('abort', this);
    }
    return this.#controller.signal;
  }

  /** `promise`, or a rejection with the timeout's reason if the deadline comes first. */
  guard<T>(promise: Promise<T>): Promise<T> {
    if (this.#deadline === Number.POSITIVE_INFINITY) return promise;
    this.#armDeadline();
    if (this.#timedOut) return Promise.reject(this.#timeoutReason);
    return Promise.race([promise, this.#deadlineReached()]);
  }

  /**
   * One HTTP attempt: `response` raced against its deadline, the attempt's timeout or the call's
   * deadline, whichever comes first, watched by the shared {@link Deadlines} timer rather than a timer of
   * its own. When the deadline wins, the request is abandoned and its response cancelled whenever it
   * arrives. (One promise settled by whichever comes first, rather than `Promise.race` and a `then`.)
   *
   * With a `judge`, the promise returned settles as the judge says instead: with what `answered` returns
   * for the response, or `failed` for fetch's error or the deadline's. The call's first attempt uses it
   * so that this promise is the call's own (no async function, promise or hop of its own per call).
   * The judge is called synchronously when the outcome is known and must not throw.
   */
  attempt(response: Promise<Response>, attemptTimeoutMs: number, judge?: AttemptJudge): Promise<Response> {
    this.#attemptTimedOut = false;
    const now = performance.now();
    const remaining = this.#deadline - now; // Infinity without a call deadline
    if (remaining <= 0) this.#expire();
    if (this.#timedOut) {
      if (judge === undefined) return this.#abandon(response, this.#timeoutReason);
      response.then(cancelLate, () => undefined);
      return judge.failed(this.#timeoutReason);
    }
    const ownTimeout = attemptTimeoutMs < remaining;
    const at = ownTimeout ? now + attemptTimeoutMs : this.#deadline;
    if (at === Number.POSITIVE_INFINITY) {
      return judge === undefined ? response : response.then((res) => judge.answered(res), (e: unknown) => judge.failed(e));
    }
    this.#ownTimeout = ownTimeout;
    this.#attemptTimeoutMs = attemptTimeoutMs;
    this.deadlineAt = at;
    return new Promise<Response>((resolve, reject) => {
      this.#resolveAttempt = resolve;
      this.#rejectAttempt = reject;
      this.#judge = judge;
      this.#deadlines.add(this);
      response.then(
        (res) => {
          // Still this attempt's (not overtaken by its deadline)?
          if (this.#rejectAttempt === reject) {
            this.#endAttempt();
            resolve(judge === undefined ? res : judge.answered(res));
          } else cancelLate(res);
        },
        (e: unknown) => {
          if (this.#rejectAttempt === reject) {
            this.#endAttempt();
            if (judge === undefined) reject(e);
            else resolve(judge.failed(e));
          }
        },
      );
    });
  }

  /** The attempt in flight reached its deadline first (called by {@link Deadlines}). */
  override onDeadline(): void {
    const reject = this.#rejectAttempt;
    const resolve = this.#resolveAttempt;
    const judge = this.#judge;
    if (reject === undefined || resolve === undefined) return;
    this.#endAttempt();
    let error: unknown;
    if (this.#ownTimeout) {
      this.#attemptTimedOut = true;
      error = new DOMException(`no response headers within ${this.#attemptTimeoutMs} ms`, 'TimeoutError');
    } else {
      this.#expire();
      error = this.#timeoutReason;
    }
    if (judge === undefined) reject(error);
    else resolve(judge.failed(error));
  }

  #endAttempt(): void {
    this.#rejectAttempt = undefined;
    this.#resolveAttempt = undefined;
    this.#judge = undefined;
    this.#deadlines.remove(this);
  }

  /** Rejects with `reason`; the request may still answer: its connection is released when it does. */
  #abandon(response: Promise<Response>, reason: unknown): Promise<never> {
    response.then(cancelLate, () => undefined);
    return Promise.reject(reason);
  }

  /** Whether the last attempt ended because its own timeout ran out (not the call's). */
  get attemptTimedOut(): boolean {
    return this.#attemptTimedOut && !this.aborted;
  }

  /** Stops the timer and lets go of the caller's signal. Call once, when the call settles. */
  dispose(): void {
    this.#deadlines.remove(this);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#controller !== undefined) this.caller?.removeEventListener('abort', this);
  }

  /** The caller's signal aborted (listener object form: no closure per call). */
  handleEvent(): void {
    this.#controller?.abort(this.caller?.reason);
  }

  /** Arms the call's deadline timer, once, for waits other than an attempt. */
  #armDeadline(): void {
    if (this.#timer !== undefined || this.#timedOut || this.#deadline === Number.POSITIVE_INFINITY) return;
    const ms = Math.ceil(this.#deadline - performance.now()); // whole ms: see `attempt`
    if (ms <= 0) {
      this.#expire();
      return;
    }
    this.#timer = setTimeout(() => this.#expire(), ms);
    this.#timer.unref?.();
  }

  #deadlineReached(): Promise<never> {
    if (this.#deadlinePromise === undefined) {
      this.#deadlinePromise = new Promise<never>((_, reject) => {
        this.#rejectDeadline = reject;
      });
      this.#deadlinePromise.catch(() => undefined);
    }
    return this.#deadlinePromise;
  }

  #expire(): void {
    if (this.#timedOut) return;
    this.#timedOut = true;
    this.#timeoutReason = new DOMException(`vault.fetch did not finish within ${this.#timeoutMs} ms`, 'TimeoutError');
    this.#rejectDeadline?.(this.#timeoutReason);
    this.#controller?.abort(this.#timeoutReason);
  }
}

/** A response nobody waits for any more: its body is cancelled so the connection is released. */
function cancelLate(late: Response): void {
  void late.body?.cancel().catch(() => undefined);
}
