import { InvalidArgumentError, ProviderUnavailableError, TokenVaultError } from '../errors/errors';
import { decodeBody, HttpConnections, tooLarge } from './http-connections';
import type { FetchLike, HttpRequest, HttpResponse } from './types';

/** How `sendRequest` performs its one HTTP exchange. */
export interface SendRequestOptions {
  /**
   * Send with this fetch (`globalThis.fetch`, a proxy-aware one, a test double that still speaks real
   * HTTP). Without it the exchange goes over `connections`, Node's own `http`/`https` modules, which cost
   * far less CPU per request.
   */
  readonly fetch?: FetchLike | undefined;
  /** Keep-alive connections used when there is no `fetch`. Default: ones shared by the whole process. */
  readonly connections?: HttpConnections | undefined;
  /** The caller's cancellation. Its `reason` is what `sendRequest` rejects with. */
  readonly signal?: AbortSignal;
  /** Time for the whole exchange, headers and body. Beyond it: `ProviderUnavailableError`. */
  readonly timeoutMs: number;
  /** Largest body accepted, in bytes. Beyond it the read is cancelled: `InvalidResponseError`. */
  readonly maxBytes: number;
}

let sharedConnections: HttpConnections | undefined;

function requireLimit(value: unknown, label: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${label} must be a non-negative integer`);
  }
  return value;
}

/**
 * Reads a response body as UTF-8 text (a leading BOM dropped, invalid sequences replaced), streaming, and
 * cancels the read as soon as more than `maxBytes` have arrived, or up front when `content-length` says
 * so (`InvalidResponseError`). When `signal` aborts, the read is cancelled and the promise rejects with
 * `signal.reason`. Other stream failures (a reset connection) reject with the stream's own error.
 *
 * @example
 * const res = await fetch(url);
 * const text = await readBodyLimited(res, 1_048_576, signal);
 */
export async function readBodyLimited(response: Response, maxBytes: number, signal?: AbortSignal): Promise<string> {
  requireLimit(maxBytes, 'maxBytes');
  const stream = response.body;
  const cancel = (reason?: unknown) => {
    if (stream && !stream.locked) void stream.cancel(reason).catch(() => undefined);
  };
  if (signal?.aborted) {
    cancel(signal.reason);
    throw signal.reason;
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    cancel();
    throw tooLarge(response.status, maxBytes);
  }
  if (stream === null) return '';

  const reader = stream.getReader();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = signal ? await Promise.race([reader.read(), aborted]) : await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge(response.status, maxBytes);
      chunks.push(value);
    }
  } catch (e) {
    // Not awaited: cancelling tears the connection down, which need not hold up the caller.
    void reader.cancel(e).catch(() => undefined);
    throw e;
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
  return decodeBody(chunks);
}

/** Method, origin and path: enough to say which request failed, without a query that may hold a token. */
function describe(req: HttpRequest): string {
  const url = new URL(req.url);
  return `${req.method} ${url.origin}${url.pathname}`;
}

/**
 * Performs one HTTP exchange and reads the whole answer, the only I/O of the protocol layer: with
 * `options.fetch` when given, otherwise over keep-alive `node:http`/`node:https` connections.
 *
 * - redirects are not followed: a token endpoint that redirects is misconfigured, and following would
 *   resend credentials to another place;
 * - no answer within `timeoutMs` → `ProviderUnavailableError` (transient); an answer that arrived in
 *   time but was not read yet (the event loop was stalled) is still read;
 * - a network failure (refused, reset, DNS) → `ProviderUnavailableError` with the failure as `cause`;
 * - a body over `maxBytes` → `InvalidResponseError`;
 * - the caller's `signal` aborts → rejects with `signal.reason`, untouched.
 *
 * Any status is a result, not an error: the `process…` functions judge it.
 *
 * @example
 * const res = await sendRequest(refreshTokenGrantRequest(profile, creds, refreshToken), {
 *   timeoutMs: 10_000,
 *   maxBytes: 1_048_576,
 *   signal: AbortSignal.timeout(30_000),
 * });
 */
export async function sendRequest(req: HttpRequest, options: SendRequestOptions): Promise<HttpResponse> {
  const { fetch, signal } = options;
  if (fetch !== undefined && typeof fetch !== 'function') throw new InvalidArgumentError('fetch must be a function');
  if (options.connections !== undefined && !(options.connections instanceof HttpConnections)) {
    throw new InvalidArgumentError('connections must be an HttpConnections');
  }
  const timeoutMs = requireLimit(options.timeoutMs, 'timeoutMs');
  const maxBytes = requireLimit(options.maxBytes, 'maxBytes');
  // Checked here so that no error message is ever built out of a URL that may carry a token.
  if (typeof req.url !== 'string' || !URL.canParse(req.url)) throw new InvalidArgumentError('request url must be an absolute URL');
  if (!/^https?:/i.test(req.url)) throw new InvalidArgumentError('request url must be an http: or https: URL');
  if (signal?.aborted) throw signal.reason;

  // Set by the exchange below, synchronously, before anything can call it.
  let cancel: (reason: unknown) => void = () => undefined;
  let timedOut = false;
  let settled = false;
  let lastLook: ReturnType<typeof setImmediate> | undefined;
  const timer = setTimeout(() => {
    // Timers run before the event loop reads its sockets. After a stall (a synchronous store write
    // waiting on a lock, a busy machine) the timer may fire with the whole answer already received:
    // let the loop read once more before giving up. Discarding a received answer is worse than late:
    // for a refresh it means presenting an already rotated refresh token again.
    lastLook = setImmediate(() => {
      if (settled) return;
      timedOut = true;
      cancel(new DOMException('the request timed out', 'TimeoutError'));
    });
  }, timeoutMs);
  const onAbort = () => cancel(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const setCancel = (fn: (reason: unknown) => void) => {
    cancel = fn;
  };
  try {
    return await (fetch
      ? exchangeWithFetch(req, fetch, maxBytes, setCancel)
      : (options.connections ?? (sharedConnections ??= new HttpConnections())).exchange(req, maxBytes, setCancel));
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (timedOut) throw new ProviderUnavailableError(`${describe(req)} got no answer within ${timeoutMs} ms`);
    if (e instanceof TokenVaultError) throw e;
    throw new ProviderUnavailableError(`${describe(req)} failed: network error`, {}, { cause: e });
  } finally {
    settled = true;
    clearTimeout(timer);
    if (lastLook !== undefined) clearImmediate(lastLook);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The exchange through a fetch: `redirect: 'manual'`, and raced against cancellation, so that a fetch ignoring its signal still cannot outlive it. */
async function exchangeWithFetch(
  req: HttpRequest,
  fetch: FetchLike,
  maxBytes: number,
  setCancel: (cancel: (reason: unknown) => void) => void,
): Promise<HttpResponse> {
  const controller = new AbortController();
  setCancel((reason) => controller.abort(reason));
  const init: RequestInit = {
    method: req.method,
    headers: req.headers,
    redirect: 'manual',
    signal: controller.signal,
  };
  if (req.body !== undefined) init.body = req.body;
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  const pending = fetch(req.url, init);
  const response = await Promise.race([pending, aborted]).catch((e: unknown) => {
    // A response arriving after we gave up would hold its connection open until read.
    void pending.then((late) => late.body?.cancel()).catch(() => undefined);
    throw e;
  });
  const body = await readBodyLimited(response, maxBytes, controller.signal);
  return { status: response.status, headers: response.headers, body };
}
