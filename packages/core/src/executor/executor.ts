import { inspect } from 'node:util';
import {
  BodyNotReplayableError,
  InsufficientScopeError,
  InvalidArgumentError,
  InvalidRequestError,
  InvalidResponseError,
  NotAuthorizedError,
  OAuthError,
  ProviderUnavailableError,
  ReauthRequiredError,
} from '../errors/errors';
import { type BearerProblem, classifyBearerError, isTransientStatus, parseRetryAfter } from '../protocol/index';
import type { GrantRecord } from '../store/grant-store';
import { withRetry } from '../util/retry';
import type { ResolvedClient } from '../vault/vault-options';
import { type AttemptJudge, CallScope } from './call-scope';
import type { ExecutorHost } from './executor-host';
import { checkPlacement, type ExecutorOptions, resolveCallOptions, type TokenPlacement, type VaultFetchOptions } from './executor-options';
import { attemptUrl, callerSignal, type DraftRequest, draftRequest, finishRequest, type PreparedRequest } from './prepared-request';
import { notReplayedMessage } from './request-body';

export type { ExecutorHost } from './executor-host';
export type { TokenPlacement, VaultFetchOptions } from './executor-options';

/** `RequestInit` plus per-call executor settings (`tokenvault`). */
export interface VaultFetchInit extends RequestInit {
  readonly tokenvault?: VaultFetchOptions | undefined;
}

/**
 * `fetch` for a grant's APIs: the engine behind `vault.fetch`. Attaches the grant's access token (the
 * `Authorization: Bearer` header, or the `access_token` parameter), reads the API's `WWW-Authenticate`
 * answer, refreshes and retries once on an expired token, backs off on transient failures, and honours
 * the caller's signal and the call's timeout at every step. docs/executor.md describes every rule.
 *
 * Resolves with the API's response, including a 5xx/503/429 one that outlived its retries. Rejects with
 * `ReauthRequiredError` (token revoked), `InsufficientScopeError`, `InvalidRequestError`, `OAuthError`
 * (a token still called expired right after a refresh), `BodyNotReplayableError`,
 * `ProviderUnavailableError` (no answer after every retry), `InvalidArgumentError`, or the signal's
 * reason (`AbortError`, `TimeoutError`).
 *
 * @example
 * const res = await executeFetch(host, 'alice', 'people/@me/@self', { signal: AbortSignal.timeout(5_000) });
 */
export function executeFetch(host: ExecutorHost, grantId: string, input: string | URL | Request, init?: VaultFetchInit): Promise<Response> {
  // Not an async function: `run`'s promise is handed back as is rather than wrapped in another (a promise
  // and a few microtask turns per call); a mistake found before `run` still rejects rather than throws.
  try {
    const options = resolveCallOptions(host.options(), init?.tokenvault);
    return new FetchCall(host, grantId, options, callerSignal(input, init)).run(input, init);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Why the next attempt is a retry; reported by the `retry` event when it is sent. */
interface PendingRetry {
  readonly reason: 'token_expired' | 'token_rejected' | 'transient';
  readonly status: number | null;
  readonly retryAfterMs: number | null;
}

/** One `vault.fetch` call. Lives for the call only; holds nothing after it settles. */
class FetchCall implements AttemptJudge {
  readonly #host: ExecutorHost;
  readonly #grantId: string;
  readonly #options: ExecutorOptions;
  readonly #scope: CallScope;
  readonly #started: number;
  #client: ResolvedClient | undefined;
  #req: PreparedRequest | undefined;
  /** The record the cache held fresh when the call began, for its first attempt. */
  #fresh: GrantRecord | undefined;
  /** Whether transient failures are retried (the method and the options allow it). */
  #retriable = false;
  #placement: TokenPlacement = 'header';
  #attempts = 0;
  /** The one token-driven retry a call may make has been used. */
  #tokenRetried = false;
  #pending: PendingRetry | undefined;
  /** When the attempt in flight was sent (the vault's clock). */
  #attemptStarted = 0;
  #lastAttemptEnd = 0;
  /** The transient failure withRetry may retry; any other error ends the call. */
  #retryable: unknown;
  /** The transient response behind `#retryable`, returned if no retry follows. */
  #held: Response | undefined;
  /** A response on its way out, cancelled if the call still fails (a late abort). */
  #outgoing: Response | undefined;

  constructor(host: ExecutorHost, grantId: string, options: ExecutorOptions, caller: AbortSignal | undefined) {
    this.#host = host;
    this.#grantId = grantId;
    this.#options = options;
    this.#scope = new CallScope(caller, options.timeoutMs);
    this.#started = host.clock().now();
  }

  /**
   * The call. On the common path (the cache holds a fresh token, nothing to encode) the request is
   * prepared and sent synchronously, and the first attempt's promise is the call's own: the call judges
   * the answer when it comes (this class is that attempt's judge) and settles at once on a 2xx. Only an
   * answer or failure that needs more (a token problem, a retry, an error) continues in an async
   * function. Each async function, `await` and promise wrapper costs a few hundred bytes per call, and
   * on a loaded event loop allocation costs several times what it does in a tight loop.
   */
  run(input: string | URL | Request, init: VaultFetchInit | undefined): Promise<Response> {
    let prepared: PreparedRequest | Promise<PreparedRequest>;
    try {
      prepared = this.#prepare(input, init);
    } catch (e) {
      return this.#resume(Promise.reject(e));
    }
    const fresh = this.#fresh;
    if (prepared instanceof Promise || fresh === undefined) return this.#resume(this.#firstAndRetries(prepared));
    const req = prepared;
    this.#retriable = this.#options.retry.retries > 0 && (req.idempotent || this.#options.retryNonIdempotent);
    try {
      // What `#attempt` does before sending, for a record known fresh.
      return this.#send(req, tokenOf(fresh, this.#grantId), this);
    } catch (e) {
      return this.#resume(Promise.reject(e));
    }
  }

  /** The first attempt's response came before its deadline (as {@link AttemptJudge}). */
  answered(res: Response): Response | Promise<Response> {
    let out: Response | Promise<Response>;
    try {
      out = this.#answered(this.#req as PreparedRequest, res, this.#firstToken(), this.#retriable);
    } catch (e) {
      return this.#resume(this.#retried(Promise.reject(e)));
    }
    if (out instanceof Promise) return this.#resume(this.#retried(out));
    return this.#succeeded(out);
  }

  /** The first attempt failed, or its deadline came first (as {@link AttemptJudge}). */
  failed(error: unknown): Promise<Response> {
    return this.#resume(this.#retried(this.#firstFailed(error)));
  }

  async #firstFailed(error: unknown): Promise<Response> {
    throw this.#sendFailed(this.#req as PreparedRequest, error, this.#firstToken(), this.#retriable);
  }

  /** The token the first attempt sent (the fresh record's). */
  #firstToken(): string {
    return tokenOf(this.#fresh as GrantRecord, this.#grantId);
  }

  /** The call off the common path: prepared asynchronously, its first attempt, then transient retries. */
  async #firstAndRetries(prepared: PreparedRequest | Promise<PreparedRequest>): Promise<Response> {
    const req = prepared instanceof Promise ? await prepared : prepared;
    this.#retriable = this.#options.retry.retries > 0 && (req.idempotent || this.#options.retryNonIdempotent);
    return this.#retried(this.#attempt(req, this.#retriable, this.#fresh));
  }

  /** `first` (a first attempt's outcome), or when it failed transiently, the transient retries'. */
  async #retried(first: Promise<Response>): Promise<Response> {
    try {
      return await first;
    } catch (e) {
      if (!this.#retriable || e !== this.#retryable) throw e;
      return await this.#retry(this.#req as PreparedRequest, e);
    }
  }

  /** The call settles as `outcome` does: events, the scope let go, a held response cancelled. */
  async #resume(outcome: Promise<Response>): Promise<Response> {
    try {
      return this.#succeeded(await outcome);
    } catch (e) {
      throw this.#failed(e);
    }
  }

  /** The call resolves with `res`. */
  #succeeded(res: Response): Response {
    this.#outgoing = undefined;
    this.#settled(res.status, null);
    this.#end();
    return res;
  }

  /** The call failed with `e`: what it rejects with (the signal's reason when `e` is its abort). */
  #failed(e: unknown): unknown {
    const error = this.#abortReason(e) ?? e;
    cancel(this.#outgoing);
    this.#settled(null, this.#errorCode(error));
    this.#end();
    return error;
  }

  /** The call is over: its scope lets go of the caller's signal, a response held for a retry is cancelled. */
  #end(): void {
    this.#scope.dispose();
    cancel(this.#held);
  }

  /** The request, normalised once; synchronous unless the grant's token is not fresh in the cache or a FormData body is encoded. */
  #prepare(input: string | URL | Request, init: VaultFetchInit | undefined): PreparedRequest | Promise<PreparedRequest> {
    const draft = draftRequest(input, init, this.#options.maxReplayBodyBytes);
    const fresh = this.#host.freshRecord?.(this.#grantId);
    if (fresh === undefined) return this.#prepareWith(draft, init, this.#host.grantClient(this.#grantId));
    this.#fresh = fresh.record;
    return this.#finish(draft, init, fresh.client);
  }

  async #prepareWith(draft: DraftRequest, init: VaultFetchInit | undefined, client: Promise<ResolvedClient>): Promise<PreparedRequest> {
    return this.#finish(draft, init, await client);
  }

  #finish(draft: DraftRequest, init: VaultFetchInit | undefined, client: ResolvedClient): PreparedRequest | Promise<PreparedRequest> {
    this.#client = client;
    this.#placement = checkPlacement(init?.tokenvault?.placement, client.tokenPlacement);
    const finished = finishRequest(draft, client.provider);
    if (finished instanceof Promise) return finished.then((req) => (this.#req = req));
    this.#req = finished;
    return finished;
  }

  /**
   * Transient retries after a first attempt that failed with `first`. That attempt ran outside p-retry
   * (a few µs per call that almost never retries); its failure is handed to withRetry as withRetry's own
   * first attempt's, so every retry rule (Retry-After, budget, backoff) applies as if withRetry had made it.
   */
  async #retry(req: PreparedRequest, first: unknown): Promise<Response> {
    const { retry } = this.#options;
    const remaining = this.#scope.remainingMs();
    try {
      return await withRetry((n) => (n === 1 ? Promise.reject(first) : this.#attempt(req, true)), retry, {
        clock: this.#host.clock(),
        signal: this.#scope.signal,
        deadline: Number.isFinite(remaining) ? this.#host.clock().now() + remaining : undefined,
        isRetryable: (e) => e === this.#retryable,
      });
    } catch (e) {
      const held = this.#held;
      if (e === this.#retryable && held !== undefined && this.#abortReason(e) === undefined) {
        // Out of retries (or Retry-After asks too much): a 5xx is still an answer, and fetch's
        // callers expect to see it.
        this.#held = undefined;
        this.#host.logger().debug(this.#logFields({ status: held.status }), 'tokenvault: API call still failing after retries; returning its last answer');
        return this.#deliver(held);
      }
      throw e;
    }
  }

  /**
   * One transient-retry attempt: get a usable token, send, and judge the answer. Inside it, the one
   * token retry (expired, or refused while the store already holds another token) is sent at once.
   */
  async #attempt(req: PreparedRequest, retriable: boolean, fresh?: GrantRecord): Promise<Response> {
    cancel(this.#held);
    this.#held = undefined;
    const record =
      fresh ??
      this.#host.freshRecord?.(this.#grantId)?.record ??
      (await this.#scope.guard(this.#host.usableRecord(this.#grantId, { signal: this.#scope.caller })));
    const token = tokenOf(record, this.#grantId);
    // Outside the try: what #send throws before sending is the call's error, not a failed attempt.
    const response = this.#send(req, token);
    let res: Response;
    try {
      res = await response;
    } catch (e) {
      throw this.#sendFailed(req, e, token, retriable);
    }
    return this.#answered(req, res, token, retriable);
  }

  /**
   * Judges an attempt's answer: the response (2xx, or an answer returned as it is), a thrown transient
   * failure for withRetry, or, for a bearer-token problem, the token retry's outcome.
   */
  #answered(req: PreparedRequest, res: Response, token: string, retriable: boolean): Response | Promise<Response> {
    const status = res.status;
    this.#attemptEnded(req, status, null);
    if (status >= 200 && status < 300) return this.#deliver(res);
    const problem = bearerProblem(res);
    if (problem === undefined) return this.#otherAnswer(req, res, retriable);
    cancel(res);
    return this.#tokenRetry(req, retriable, problem, status, token);
  }

  /** After a bearer-token problem: the error it means, or the same attempt sent again with a newer token. */
  async #tokenRetry(req: PreparedRequest, retriable: boolean, problem: HandledProblem, status: number, token: string): Promise<Response> {
    const record = await this.#onBearerProblem(req, problem, status, token);
    return this.#attempt(req, retriable, record);
  }

  /** The attempt in flight failed without an answer: reports its end, and returns the error to throw. */
  #sendFailed(req: PreparedRequest, e: unknown, token: string, retriable: boolean): unknown {
    const { error, code } = this.#sendFailure(req, e, token, retriable);
    this.#attemptEnded(req, null, code);
    return error;
  }

  /** An answer that is neither 2xx nor a bearer-token problem: a transient one to retry (thrown), or the response. */
  #otherAnswer(req: PreparedRequest, res: Response, retriable: boolean): Response {
    const status = res.status;
    if (retriable && isTransientStatus(status)) {
      if (req.body.replayable) {
        const now = this.#host.clock().now();
        const retryAt = parseRetryAfter(res.headers.get('retry-after'), now);
        const failure = new ProviderUnavailableError(
          `${req.method} ${safeUrl(req.url)} answered ${status}`,
          retryAt === undefined ? { status } : { status, retryAt },
        );
        this.#held = res;
        this.#retryable = failure;
        this.#pending = { reason: 'transient', status, retryAfterMs: retryAt === undefined ? null : retryAt - now };
        throw failure;
      }
      this.#host.logger().debug(
        this.#logFields({ status }),
        'tokenvault: transient answer not retried: the request body is a one-shot stream',
      );
    }
    return this.#deliver(res);
  }

  /** Decides what a bearer-token problem means: the record to retry with, or the error to throw. */
  async #onBearerProblem(req: PreparedRequest, problem: HandledProblem, status: number, token: string): Promise<GrantRecord> {
    const description = problem.description === undefined ? undefined : redact(problem.description, token);
    switch (problem.kind) {
      case 'insufficient_scope':
        throw new InsufficientScopeError(this.#grantId, problem.scope, description);
      case 'invalid_request':
        throw new InvalidRequestError(status, description);
      case 'expired': {
        if (this.#tokenRetried) {
          // A token the vault has just obtained is still called expired: the provider and this
          // machine disagree (clock skew), which another refresh would not fix.
          throw new OAuthError('invalid_token', status, description ?? 'the access token was called expired again after a refresh');
        }
        this.#tokenRetried = true;
        const next = await this.#scope.guard(this.#host.usableRecord(this.#grantId, { staleAccessToken: token, signal: this.#scope.caller }));
        if (tokenOf(next, this.#grantId) === token) {
          throw new ProviderUnavailableError('the API called the access token expired and the vault could not obtain a newer one', { status });
        }
        this.#requireReplay(req, `the access token expired (${status})`);
        this.#pending = { reason: 'token_expired', status, retryAfterMs: null };
        return next;
      }
      case 'invalid_token': {
        const current = await this.#scope.guard(this.#host.rejectAccessToken(this.#grantId, token, this.#scope.caller));
        if (current === undefined || current.state === 'reauthRequired') {
          this.#host.logger().warn(this.#logFields({ status }), 'tokenvault: the API refused the access token; the grant needs a new authorization');
          throw new ReauthRequiredError(this.#grantId, current?.reauthReason ?? 'token_revoked');
        }
        if (current.state !== 'authorized' || current.accessToken === null) throw new NotAuthorizedError(this.#grantId, current.state);
        // Another process replaced the token meanwhile: the refusal was about the old one.
        if (this.#tokenRetried) throw new OAuthError('invalid_token', status, description);
        this.#tokenRetried = true;
        this.#requireReplay(req, `the API refused the access token (${status})`);
        this.#pending = { reason: 'token_rejected', status, retryAfterMs: null };
        return current;
      }
    }
  }

  #requireReplay(req: PreparedRequest, what: string): void {
    if (!req.body.replayable && req.body.oneShot !== undefined) throw new BodyNotReplayableError(notReplayedMessage(what, req.body.oneShot));
  }

  /**
   * Sends one HTTP request: its answer up to the response headers, raced against the attempt's
   * deadline. Emits `retry` when it is one; the caller reports its end (`#attemptEnded`).
   * Throws at once, before anything is sent, when the token cannot go in a header or a one-shot body
   * was already sent.
   */
  #send(req: PreparedRequest, token: string, judge?: AttemptJudge): Promise<Response> {
    const host = this.#host;
    const attempt = ++this.#attempts;
    const started = host.clock().now();
    this.#attemptStarted = started;
    if (this.#pending !== undefined) this.#announceRetry(req, attempt, started);
    const header = this.#placement === 'header';
    if (header && !HEADER_VALUE.test(token)) throw new InvalidResponseError('the stored access token cannot be sent in an HTTP header');
    const init: RequestInit & { duplex?: 'half' } = { ...req.init };
    if (req.headers !== undefined) {
      if (header) req.headers.set('authorization', `Bearer ${token}`);
      init.headers = req.headers;
    } else if (header) {
      init.headers = { authorization: `Bearer ${token}` };
    }
    // Only what differs from fetch's defaults: undici converts and validates every member it is given.
    if (req.method !== 'GET') init.method = req.method;
    const body = req.body.take();
    if (body !== null) init.body = body;
    // The caller's own signal, as with fetch; the executor's deadlines race the request instead.
    if (this.#scope.caller !== undefined) init.signal = this.#scope.caller;
    if (req.body.needsDuplex) init.duplex = 'half';
    let pending: Promise<Response>;
    try {
      pending = host.fetch()(attemptUrl(req, this.#placement, token), init);
    } catch (e) {
      pending = Promise.reject(e);
    }
    return this.#scope.attempt(pending, this.#options.attemptTimeoutMs, judge);
  }

  /** What a failed fetch means: the signal's reason, a caller mistake, or a (retryable) transient failure. */
  #sendFailure(req: PreparedRequest, e: unknown, token: string, retriable: boolean): { error: unknown; code: string } {
    if (this.#scope.aborted) return { error: this.#scope.reason, code: this.#scope.timedOut ? 'timeout' : 'aborted' };
    const where = `${req.method} ${safeUrl(req.url)}`;
    let failure: ProviderUnavailableError;
    let code: string;
    if (this.#scope.attemptTimedOut) {
      failure = new ProviderUnavailableError(`${where} got no response headers within ${this.#options.attemptTimeoutMs} ms`);
      code = 'attempt_timeout';
    } else if (e instanceof TypeError && e.cause === undefined) {
      // fetch refusing the request itself (a bad init member), not a network failure: retrying is useless.
      return { error: new InvalidArgumentError(`fetch refused the request: ${redact(e.message, token)}`), code: 'invalid_argument' };
    } else {
      const cause = leaks(e, token) ? undefined : e;
      failure = new ProviderUnavailableError(`${where} failed: network error`, {}, cause === undefined ? undefined : { cause });
      code = 'network_error';
    }
    if (retriable) {
      if (!req.body.replayable && req.body.oneShot !== undefined) {
        return { error: new BodyNotReplayableError(notReplayedMessage(`${where} failed (${code})`, req.body.oneShot), { cause: failure }), code };
      }
      this.#retryable = failure;
      this.#pending = { reason: 'transient', status: null, retryAfterMs: null };
    }
    return { error: failure, code };
  }

  /** The response handed to the caller; with query placement, one whose `url` shows no token. */
  #deliver(res: Response): Response {
    const out = this.#placement === 'query' ? withoutTokenUrl(res, this.#req?.url ?? '') : res;
    this.#outgoing = out;
    return out;
  }

  /** The signal's reason when `e` is (or wraps) the call's abort; undefined otherwise. */
  #abortReason(e: unknown): unknown {
    if (!this.#scope.aborted) return undefined;
    const reason: unknown = this.#scope.reason;
    // withRetry wraps thrown non-Error values (abort('why')) in a ProviderUnavailableError.
    if (e === reason || (e instanceof ProviderUnavailableError && e.cause === reason)) return reason;
    if (e instanceof DOMException && (e.name === 'AbortError' || e.name === 'TimeoutError')) return reason;
    return undefined;
  }

  #errorCode(error: unknown): string {
    if (this.#scope.aborted && error === this.#scope.reason) return this.#scope.timedOut ? 'timeout' : 'aborted';
    if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
      return (error as { code: string }).code;
    }
    return 'unknown';
  }

  #announceRetry(req: PreparedRequest, attempt: number, now: number): void {
    const pending = this.#pending as PendingRetry;
    this.#pending = undefined;
    const client = this.#client?.id ?? '';
    this.#host.emit('retry', {
      grantId: this.#grantId,
      client,
      method: req.method,
      url: req.url,
      attempt,
      reason: pending.reason,
      status: pending.status,
      retryAfterMs: pending.retryAfterMs,
      delayMs: Math.max(0, now - this.#lastAttemptEnd),
      at: now,
    });
    this.#host.logger().debug(this.#logFields({ attempt, reason: pending.reason, status: pending.status }), 'tokenvault: retrying an API call');
  }

  /** The attempt in flight (the last `#send`) ended, with an answer (`status`) or without (`error`). */
  #attemptEnded(req: PreparedRequest, status: number | null, error: string | null): void {
    const host = this.#host;
    const listened = host.listens('request');
    // Its end time is for the `request` event and for the delay of a `retry`, which never follows a 2xx.
    if (!listened && status !== null && status >= 200 && status < 300) return;
    const at = host.clock().now();
    this.#lastAttemptEnd = at;
    if (!listened) return;
    host.emit('request', {
      grantId: this.#grantId,
      client: this.#client?.id ?? '',
      method: req.method,
      url: req.url,
      attempt: this.#attempts,
      status,
      error,
      durationMs: at - this.#attemptStarted,
      at,
    });
  }

  #settled(status: number | null, error: string | null): void {
    const req = this.#req;
    // Refused before a request existed: nothing was attempted.
    if (req === undefined || !this.#host.listens('response')) return;
    const at = this.#host.clock().now();
    this.#host.emit('response', {
      grantId: this.#grantId,
      client: this.#client?.id ?? '',
      method: req.method,
      url: req.url,
      attempts: this.#attempts,
      status,
      error,
      durationMs: at - this.#started,
      at,
    });
  }

  #logFields(extra: Record<string, unknown>): Record<string, unknown> {
    return { grantId: this.#grantId, client: this.#client?.id, method: this.#req?.method, url: this.#req?.url, ...extra };
  }
}

/** What fetch accepts in a header value (no CR, LF or NUL; RFC 9110 §5.5), checked before the token goes in one. */
const HEADER_VALUE = /^[^\r\n\0]*$/;

type HandledProblem = Extract<BearerProblem, { kind: 'expired' | 'invalid_token' | 'insufficient_scope' | 'invalid_request' }>;

/** The bearer-token problem an answer reports, when it is one the executor acts on. */
function bearerProblem(res: Response): HandledProblem | undefined {
  const status = res.status;
  if (status !== 400 && status !== 401 && status !== 403) return undefined;
  if (!res.headers.has('www-authenticate')) return undefined;
  const problem = classifyBearerError(status, res.headers);
  return problem.kind === 'none' || problem.kind === 'unknown' ? undefined : problem;
}

function tokenOf(record: GrantRecord, grantId: string): string {
  if (record.accessToken === null) throw new NotAuthorizedError(grantId, record.state);
  return record.accessToken.reveal();
}

/** Origin and path only: enough to say which call failed, never a query. */
function safeUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function redact(text: string, token: string): string {
  return token.length > 0 && text.includes(token) ? text.split(token).join('[redacted]') : text;
}

/** Whether printing `e` (with its causes) would show the token. Only on the failure path. */
function leaks(e: unknown, token: string): boolean {
  return token.length > 0 && inspect(e, { depth: 6, showHidden: true }).includes(token);
}

function cancel(res: Response | undefined): void {
  if (res?.body && !res.bodyUsed && !res.body.locked) void res.body.cancel().catch(() => undefined);
}

/**
 * With query placement the response's `url` (and `util.inspect` of it, and `clone()`) would show the
 * token: rewrap it so it keeps only the caller's URL.
 */
function withoutTokenUrl(res: Response, url: string): Response {
  let out: Response;
  try {
    out = new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
  } catch {
    out = res; // a status `new Response` refuses (fetch never gives one); at least hide the getter
  }
  Object.defineProperty(out, 'url', { value: url, enumerable: false, configurable: true });
  Object.defineProperty(out, 'redirected', { value: res.redirected, enumerable: false, configurable: true });
  return out;
}
