import { InvalidArgumentError } from '../errors/errors';
import type { ProviderProfile } from '../protocol/types';
import type { TokenPlacement } from './executor-options';
import { prepareBody, RequestBody } from './request-body';

/** RFC 9110 §9.2.2: repeating these has the effect of sending them once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** `RequestInit` members the executor sets itself on every attempt. */
type OwnInit = 'headers' | 'body' | 'signal' | 'method' | 'duplex';

/**
 * One `vault.fetch` call's request, normalised once before the first attempt: absolute URL without a
 * fragment, method, headers without a token, body fixed for replay. Each attempt then only adds the
 * token and a signal.
 */
export interface PreparedRequest {
  /** As given (fetch normalises the case of the standard methods itself). */
  readonly method: string;
  readonly idempotent: boolean;
  /** The URL as the caller meant it: absolute, without fragment, without any token. Safe to log. */
  readonly url: string;
  /** What joins `url` and the `access_token` parameter for query placement: `?`, `&`, or nothing. */
  readonly querySeparator: '?' | '&' | '';
  /**
   * The caller's headers; the executor adds `authorization` per attempt when placing it in the header.
   * Undefined when the caller gave none (and no body needs a content type): each attempt then passes a
   * plain record, which fetch takes in more cheaply than a `Headers` object.
   */
  readonly headers: Headers | undefined;
  readonly body: RequestBody;
  /** Everything else from the caller's init (redirect, keepalive, dispatcher, …), reused by every attempt. */
  readonly init: RequestInit & { duplex?: 'half' };
}

/** What `vault.fetch` accepts as its second argument, minus the executor's own options. */
type CallerInit = Omit<RequestInit, 'signal'> & { signal?: AbortSignal | null | undefined; tokenvault?: unknown };

/** The caller's signal: `init.signal` wins over a `Request`'s own, as with fetch. */
export function callerSignal(input: unknown, init: CallerInit | undefined): AbortSignal | undefined {
  if (init?.signal) return init.signal;
  return input instanceof Request ? input.signal : undefined;
}

/** What `draftRequest` captured at call time; the URL is finished once the client is known. */
export interface DraftRequest {
  readonly input: string | URL | Request;
  readonly method: string;
  readonly idempotent: boolean;
  readonly headers: Headers | undefined;
  readonly body: RequestBody | Promise<RequestBody>;
  readonly init: RequestInit & { duplex?: 'half' };
}

/**
 * Captures the caller's `input` and `init` synchronously, as fetch does: a buffer the caller changes
 * after calling is not what gets sent. Refuses a request that already carries credentials (an
 * `Authorization` header; the `access_token` parameter is checked by {@link finishRequest}): sending the
 * grant's token as well would put a token in two places (RFC 6750 §2), and silently replacing the
 * caller's would hide a mistake.
 */
export function draftRequest(input: string | URL | Request, init: CallerInit | undefined, maxReplayBodyBytes: number): DraftRequest {
  if (typeof input !== 'string' && !(input instanceof URL) && !(input instanceof Request)) {
    throw new InvalidArgumentError('vault.fetch input must be a string, a URL or a Request');
  }
  const request = input instanceof Request ? input : undefined;
  const method = init?.method ?? request?.method ?? 'GET';
  if (typeof method !== 'string' || method.length === 0) throw new InvalidArgumentError('"init.method" must be a non-empty string');
  const upper = method.toUpperCase();

  const rawBody = init?.body !== undefined ? init.body : request?.body;
  const given = init?.headers ?? request?.headers;
  let headers: Headers | undefined;
  if (given !== undefined || rawBody != null) {
    try {
      headers = new Headers(given);
    } catch {
      // The platform's message quotes the offending value, which may be a secret.
      throw new InvalidArgumentError('"init.headers" holds an invalid header name or value');
    }
    if (headers.has('authorization')) {
      throw new InvalidArgumentError('the request already has an Authorization header: vault.fetch attaches the grant\'s token itself');
    }
  }

  if (rawBody != null && (upper === 'GET' || upper === 'HEAD')) throw new InvalidArgumentError(`a ${upper} request cannot have a body`);
  if (init?.body === undefined && request?.bodyUsed) throw new InvalidArgumentError('the Request\'s body was already read');
  // A Request's body is always a stream to us: whether it began as a string or a stream is not observable.
  // Without headers there is no body either (a body always makes them): no `Headers` for prepareBody.
  const body =
    init?.body === undefined && request?.body
      ? RequestBody.once(request.body, 'stream')
      : headers === undefined
        ? RequestBody.none
        : prepareBody(rawBody, headers, maxReplayBodyBytes);
  return { input, method, idempotent: IDEMPOTENT.has(upper), headers, body, init: baseInit(request, init) };
}

/**
 * Resolves the URL (a relative one against the provider's `apiBaseUrl`). Synchronous unless the body is
 * still being encoded (FormData), so the common call spends no promise here.
 */
export function finishRequest(draft: DraftRequest, provider: ProviderProfile): PreparedRequest | Promise<PreparedRequest> {
  const { href, querySeparator } = resolveUrl(draft.input, provider);
  const { body } = draft;
  return body instanceof RequestBody ? prepared(draft, href, querySeparator, body) : body.then((ready) => prepared(draft, href, querySeparator, ready));
}

/** An absolute http(s) URL without fragment or token, and what joins it to an `access_token` parameter. */
interface ResolvedUrl {
  readonly href: string;
  readonly querySeparator: PreparedRequest['querySeparator'];
}

/** String URLs remembered per provider; the oldest goes first past this many. */
const MAX_REMEMBERED_URLS = 256;

/**
 * Resolved string URLs, per provider (so they go with the vault's clients). Parsing a URL costs about
 * 2 µs on Node 20, as much as the rest of the executor's work on a call, and job workers call the same
 * few URLs again and again. Only URLs that passed every check are kept.
 */
const rememberedUrls = new WeakMap<ProviderProfile, { readonly base: string | undefined; readonly urls: Map<string, ResolvedUrl> }>();

function resolveUrl(input: string | URL | Request, provider: ProviderProfile): ResolvedUrl {
  // Absolute already, and not remembered: a URL object can change between calls (it is only read here).
  if (input instanceof URL) return checkedUrl(input);
  if (input instanceof Request) return checkedUrl(new URL(input.url));
  const base = provider.apiBaseUrl;
  let remembered = rememberedUrls.get(provider);
  // (A provider written by hand rather than by `providers` is not frozen: its base may change.)
  if (remembered === undefined || remembered.base !== base) {
    remembered = { base, urls: new Map() };
    rememberedUrls.set(provider, remembered);
  }
  const known = remembered.urls.get(input);
  if (known !== undefined) return known;
  let url: URL;
  // One parse: against a base, an absolute input ignores the base. The message never repeats the URL:
  // it may hold a secret the caller put there.
  try {
    url = base === undefined ? new URL(input) : new URL(input, base);
  } catch {
    throw new InvalidArgumentError(base === undefined ? 'the URL is not absolute and the provider has no apiBaseUrl' : 'the URL cannot be parsed');
  }
  const resolved = checkedUrl(url);
  const { urls } = remembered;
  if (urls.size >= MAX_REMEMBERED_URLS) urls.delete(urls.keys().next().value as string);
  urls.set(input, resolved);
  return resolved;
}

function checkedUrl(url: URL): ResolvedUrl {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidArgumentError('vault.fetch only calls http: and https: URLs');
  if (url.search.length > 1 && url.searchParams.has('access_token')) {
    throw new InvalidArgumentError('the URL already has an access_token parameter: vault.fetch places the grant\'s token itself');
  }
  // The first `#` of a serialised URL starts its fragment (one in a path or query is percent-encoded).
  // Cut there rather than test `url.hash`, which is '' for an empty fragment whose `#` stays in `href`.
  let href = url.href;
  const hash = href.indexOf('#');
  if (hash !== -1) href = href.slice(0, hash);
  return { href, querySeparator: href.endsWith('?') ? '' : url.search.length > 0 ? '&' : '?' };
}

function prepared(draft: DraftRequest, url: string, querySeparator: PreparedRequest['querySeparator'], body: RequestBody): PreparedRequest {
  return { method: draft.method, idempotent: draft.idempotent, url, querySeparator, headers: draft.headers, body, init: draft.init };
}

/** Shared by every call whose init holds nothing but what each attempt sets; never written to. */
const NO_INIT: RequestInit = Object.freeze({});

/** The caller's init (and a Request's settings) without the members each attempt sets. */
function baseInit(request: Request | undefined, init: CallerInit | undefined): RequestInit & { duplex?: 'half' } {
  if (request === undefined && (init === undefined || Object.keys(init).every((key) => key === 'tokenvault' || isOwn(key)))) return NO_INIT;
  const out: Record<string, unknown> = {};
  if (request) {
    out.redirect = request.redirect;
    out.keepalive = request.keepalive;
    out.integrity = request.integrity;
    out.referrerPolicy = request.referrerPolicy;
    out.cache = request.cache;
    out.credentials = request.credentials;
    out.mode = request.mode === 'navigate' ? 'same-origin' : request.mode;
  }
  if (init) {
    for (const key of Object.keys(init)) {
      if (key === 'tokenvault' || isOwn(key)) continue;
      out[key] = (init as Record<string, unknown>)[key];
    }
  }
  return out as RequestInit;
}

function isOwn(key: string): key is OwnInit {
  return key === 'headers' || key === 'body' || key === 'signal' || key === 'method' || key === 'duplex';
}

/** The URL of one attempt: with the token as `access_token` for query placement. */
export function attemptUrl(req: PreparedRequest, placement: TokenPlacement, token: string): string {
  if (placement === 'header') return req.url;
  // Appended rather than set through searchParams, which would re-encode the caller's whole query.
  return `${req.url}${req.querySeparator}access_token=${encodeURIComponent(token)}`;
}
