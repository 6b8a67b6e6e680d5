import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context, MiddlewareHandler } from 'hono';
import { ConnectionDroppedError } from '../emulator-error';
import type { FaultEndpoint, FaultResponse } from '../state/fault-injector';
import type { AppEnv, EmulatorState } from './app-context';

/** A request's parameters, each name at most once; empty values count as absent (RFC 6749 §3.1). */
export type ParamsResult = { readonly ok: true; readonly params: Map<string, string> } | { readonly ok: false; readonly description: string };

/** The Node request/response under `@hono/node-server`, or undefined for in-process `fetch`. */
export function nodeBindings(c: Context<AppEnv>): Partial<HttpBindings> | undefined {
  return c.env as Partial<HttpBindings> | undefined;
}

/**
 * A request header (lower-case name). Under the Node adapter it is read from Node's own parsed
 * headers: asking Hono would build a web `Headers` object per request, a visible cost on the refresh
 * hot path.
 */
export function requestHeader(c: Context<AppEnv>, name: string): string | undefined {
  const incoming = nodeBindings(c)?.incoming;
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * A JSON answer. The headers stay a plain object so the Node adapter writes them directly (Hono's
 * `c.json` turns more than one header into a web `Headers` object first).
 */
export function json(body: unknown, status = 200, headers?: Readonly<Record<string, string>>): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/**
 * A path parameter. Handlers are built by wrapper functions, so Hono cannot type their path; the
 * route guarantees the parameter exists.
 */
export function pathParam(c: Context<AppEnv>, name: string): string {
  return c.req.param(name) ?? '';
}

/** The origin the client used to reach the emulator (it stands for every mixi host). */
export function requestOrigin(c: Context<AppEnv>): string {
  return new URL(c.req.url).origin;
}

/** The query string's parameters; a repeated name is an error. */
export function readQuery(c: Context<AppEnv>): ParamsResult {
  const url = c.req.url;
  const q = url.indexOf('?');
  return singleValued(new URLSearchParams(q === -1 ? '' : url.slice(q + 1)));
}

/** True when the URL carries any query parameter at all. */
export function hasQuery(c: Context<AppEnv>): boolean {
  const url = c.req.url;
  const q = url.indexOf('?');
  return q !== -1 && q < url.length - 1;
}

/** Thrown by the body readers when a body is over the limit; the app answers it with 413. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/**
 * Refuses a declared `Content-Length` over the limit before any route runs. It only reads a header:
 * touching the body here would make the Node adapter build a web stream for every request, which
 * costs more than the whole refresh grant.
 */
export function declaredLengthLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const length = requestHeader(c, 'content-length');
    if (length !== undefined && (!/^\d{1,15}$/.test(length) || Number(length) > maxBytes)) throw new BodyTooLargeError();
    await next();
  };
}

/**
 * The body as bytes. A body with a `Content-Length` was checked by {@link declaredLengthLimit} and
 * the HTTP parser holds it to that length (in-process, the caller is the process itself), so it is
 * read in one go, the adapter's fast path; one without (chunked) is counted as it arrives and refused
 * past `maxBytes`.
 */
export async function readBody(c: Context<AppEnv>, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  if (requestHeader(c, 'content-length') !== undefined) return new Uint8Array(await c.req.arrayBuffer());
  const stream = c.req.raw.body;
  if (!stream) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new BodyTooLargeError();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

const utf8 = new TextDecoder();

/**
 * The body as `application/x-www-form-urlencoded` parameters. Any other content type, or a repeated
 * parameter, is an error.
 */
export async function readForm(c: Context<AppEnv>, maxBytes: number): Promise<ParamsResult> {
  if (mediaType(c) !== 'application/x-www-form-urlencoded') {
    return { ok: false, description: 'the body must be application/x-www-form-urlencoded' };
  }
  return singleValued(new URLSearchParams(utf8.decode(await readBody(c, maxBytes))));
}

/** The body as a JSON object; anything else (wrong type, bad JSON, an array) is an error message. */
export async function readJsonObject(
  c: Context<AppEnv>,
  maxBytes: number,
): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; description: string }> {
  if (mediaType(c) !== 'application/json') return { ok: false, description: 'the body must be application/json' };
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(await readBody(c, maxBytes)));
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    return { ok: false, description: 'the body is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, description: 'the body must be a JSON object' };
  return { ok: true, value: value as Record<string, unknown> };
}

/** The request's media type, lower case, without parameters. */
export function mediaType(c: Context<AppEnv>): string {
  return (requestHeader(c, 'content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

function singleValued(search: URLSearchParams): ParamsResult {
  const params = new Map<string, string>();
  const seen = new Set<string>();
  for (const [name, value] of search) {
    if (seen.has(name)) return { ok: false, description: `parameter ${name.slice(0, 40)} is repeated` };
    seen.add(name);
    if (value !== '') params.set(name, value);
  }
  return { ok: true, params };
}

/** An OAuth-style JSON error: `{"error":"…","error_description":"…"}`. */
export function jsonError(status: number, error: string, description: string, headers?: Readonly<Record<string, string>>): Response {
  return json({ error, error_description: description }, status, headers);
}

/** True for IPv4/IPv6 loopback addresses and `localhost`. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  return a === 'localhost' || a === '::1' || /^(?:::ffff:)?127(?:\.\d{1,3}){3}$/.test(a);
}

/**
 * Drops the connection with no answer. Over a socket it is destroyed and the adapter told not to
 * write; in-process there is no socket, so the `fetch` promise rejects with `ConnectionDroppedError`.
 */
export function dropConnection(c: Context<AppEnv>): Response {
  const outgoing = nodeBindings(c)?.outgoing;
  if (!outgoing) throw new ConnectionDroppedError();
  outgoing.socket?.destroy();
  return RESPONSE_ALREADY_SENT;
}

/** True when `response` stands for a dropped connection. */
export function isDropped(response: Response): boolean {
  return response === RESPONSE_ALREADY_SENT;
}

/**
 * Runs `run` under whatever fault rule matches this request: delay it, replace its answer, drop the
 * connection, or let it happen and lose the answer. Without rules it is just `run()`.
 */
export async function withFaults(
  c: Context<AppEnv>,
  state: EmulatorState,
  target: { endpoint: FaultEndpoint; grantType?: string | undefined },
  run: () => Response | Promise<Response>,
): Promise<Response> {
  const rule = state.faults.take({ endpoint: target.endpoint, grantType: target.grantType, path: c.req.path, method: c.req.method });
  if (!rule) return run();
  state.counters.faultApplied();
  if (rule.delayMs !== undefined && rule.delayMs > 0) await sleep(rule.delayMs);
  if (rule.respond) return cannedResponse(rule.respond);
  if (rule.drop) return dropConnection(c);
  if (rule.loseAnswer) {
    await run();
    return rule.loseAnswer === true ? dropConnection(c) : cannedResponse(rule.loseAnswer);
  }
  return run();
}

function cannedResponse(fault: FaultResponse): Response {
  const headers = new Headers(fault.headers);
  let body: string | null = null;
  if (fault.status === 204 || fault.status === 205 || fault.status === 304) {
    // These statuses cannot carry a body; a rule asking for one gets the status alone.
  } else if (typeof fault.body === 'string') {
    body = fault.body;
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=UTF-8');
  } else if (fault.body !== undefined) {
    body = JSON.stringify(fault.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return new Response(body, { status: fault.status, headers });
}
