import { BodyNotReplayableError, InvalidArgumentError } from '../errors/errors';

/** Why a body can be sent only once. */
export type OneShotReason = 'stream' | 'too_large';

/**
 * A request body as the executor keeps it between attempts.
 *
 * Replayable bodies (strings, bytes, Blobs, URLSearchParams, FormData up to `maxReplayBodyBytes`) are
 * fixed once, before the first attempt, so every retry sends the same bytes: bytes are copied (the
 * caller may reuse their buffer), URLSearchParams and FormData are serialised once (FormData would
 * otherwise get a new multipart boundary per attempt). Strings and Blobs are immutable and reused.
 *
 * A one-shot body (a `ReadableStream`, an async iterable, a `Request`'s body, or anything over the
 * limit) is handed to fetch once; asking for it again is a `BodyNotReplayableError`.
 */
export class RequestBody {
  /** No body. */
  static readonly none = new RequestBody(null, undefined);

  readonly #value: BodyInit | null;
  /** Set for a body that can be sent only once. */
  readonly oneShot: OneShotReason | undefined;
  #sent = false;

  private constructor(value: BodyInit | null, oneShot: OneShotReason | undefined) {
    this.#value = value;
    this.oneShot = oneShot;
  }

  static replayable(value: BodyInit): RequestBody {
    return new RequestBody(value, undefined);
  }

  static once(value: BodyInit, reason: OneShotReason): RequestBody {
    return new RequestBody(value, reason);
  }

  /** Whether the body can be sent again (always true before the first send). */
  get replayable(): boolean {
    return this.oneShot === undefined || !this.#sent;
  }

  /** Node's fetch refuses a stream body without `duplex: 'half'`. */
  get needsDuplex(): boolean {
    return this.oneShot === 'stream';
  }

  /** The value to give fetch for the next attempt. */
  take(): BodyInit | null {
    if (this.oneShot !== undefined) {
      if (this.#sent) throw new BodyNotReplayableError(notReplayedMessage('a retry was needed', this.oneShot));
      this.#sent = true;
    }
    return this.#value;
  }
}

/** "<what happened> and the request body is a one-shot stream, so it was not sent again". */
export function notReplayedMessage(what: string, reason: OneShotReason): string {
  const body =
    reason === 'stream'
      ? 'the request body is a one-shot stream'
      : 'the request body is larger than maxReplayBodyBytes and was not kept';
  return `${what} and ${body}, so it was not sent again`;
}

const FORM_TYPE = 'application/x-www-form-urlencoded;charset=UTF-8';

/**
 * Fixes `body` for the call: see {@link RequestBody}. Sets the `content-type` fetch would have set for
 * a body it no longer sees in its original form (URLSearchParams, FormData), unless the caller set one.
 */
export function prepareBody(body: unknown, headers: Headers, maxBytes: number): RequestBody | Promise<RequestBody> {
  if (body === undefined || body === null) return RequestBody.none;
  if (typeof body === 'string') {
    // A UTF-16 unit is at most 3 UTF-8 bytes: count bytes only when the bound says it could matter.
    const large = body.length * 3 > maxBytes && Buffer.byteLength(body) > maxBytes;
    return large ? RequestBody.once(body, 'too_large') : RequestBody.replayable(body);
  }
  if (body instanceof ArrayBuffer) {
    return body.byteLength > maxBytes ? RequestBody.once(body, 'too_large') : RequestBody.replayable(new Uint8Array(body.slice(0)));
  }
  if (ArrayBuffer.isView(body)) {
    if (body.byteLength > maxBytes) return RequestBody.once(body as unknown as BodyInit, 'too_large');
    return RequestBody.replayable(new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice());
  }
  if (body instanceof Blob) return body.size > maxBytes ? RequestBody.once(body, 'too_large') : RequestBody.replayable(body);
  if (body instanceof URLSearchParams) {
    const text = body.toString();
    if (!headers.has('content-type')) headers.set('content-type', FORM_TYPE);
    return text.length > maxBytes ? RequestBody.once(text, 'too_large') : RequestBody.replayable(text);
  }
  if (body instanceof FormData) {
    if (formDataSize(body) > maxBytes) return RequestBody.once(body, 'too_large');
    const encoded = new Response(body);
    if (!headers.has('content-type')) headers.set('content-type', encoded.headers.get('content-type') ?? 'multipart/form-data');
    return encoded.arrayBuffer().then((bytes) => RequestBody.replayable(new Uint8Array(bytes)));
  }
  if (body instanceof ReadableStream || isAsyncIterable(body)) return RequestBody.once(body as BodyInit, 'stream');
  throw new InvalidArgumentError(
    '"init.body" must be a string, ArrayBuffer, typed array, Blob, URLSearchParams, FormData, ReadableStream or async iterable',
  );
}

/** An upper bound of a FormData's encoded size without encoding it (multipart overhead included). */
function formDataSize(form: FormData): number {
  let size = 0;
  for (const [name, value] of form) {
    size += 256 + name.length * 3 + (typeof value === 'string' ? value.length * 3 : value.size + value.name.length * 3);
  }
  return size;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}
