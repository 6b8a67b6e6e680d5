import { createHash, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A string that must never be printed: an access or refresh token, an id token, an authorization
 * code, a state or a client secret.
 *
 * `String(secret)`, template literals, `JSON.stringify` and `util.inspect` all show `[redacted]`;
 * only {@link Secret.reveal} returns the value, so every place that sends a secret over the wire is
 * easy to find.
 *
 * @example
 * const s = new Secret('c2be2257f3dae3df4efcb010ae6eea');
 * `${s}`            // '[redacted]'
 * JSON.stringify(s) // '"[redacted]"'
 * s.reveal()        // 'c2be2257f3dae3df4efcb010ae6eea'
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    if (typeof value !== 'string') throw new TypeError('a Secret wraps a string');
    this.#value = value;
  }

  /** Wraps `value` unless it already is a Secret. */
  static from(value: string | Secret): Secret {
    return value instanceof Secret ? value : new Secret(value);
  }

  /** The secret itself. Call it only where the value leaves for the wire or an encrypted column. */
  reveal(): string {
    return this.#value;
  }

  /** Constant-time comparison with another secret or string. */
  equals(other: Secret | string | null | undefined): boolean {
    if (other == null) return false;
    return safeEqual(this.#value, other instanceof Secret ? other.#value : other);
  }

  /**
   * A short, non-reversible fingerprint (first 8 hex digits of SHA-256) for telling two secrets apart
   * in diagnostics without showing either.
   */
  fingerprint(): string {
    return createHash('sha256').update(this.#value).digest('hex').slice(0, 8);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Constant-time string equality (lengths are compared through fixed-size digests). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

/** SHA-256 of a string, base64url: how authorization states are looked up without storing them. */
export function sha256base64url(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
