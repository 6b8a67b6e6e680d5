import { createHmac, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { InvalidArgumentError } from '../errors/errors';
import { Secret } from '../util/secret';

/** `<128 random bits>.<HMAC-SHA256>`, both base64url: the shape of a session-bound state. */
const BOUND_STATE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const DOMAIN = 'tokenvault/state/v1';
const MAX_SESSION_ID_LENGTH = 1024;

/**
 * Binds authorization states to the caller's session, as mixi's documentation advises ("a hash of the
 * session id, verified after the redirect"), without a guessable state: the state is 128 random bits
 * followed by `HMAC-SHA256(stateKey, random ‖ sessionId)`. A callback is accepted only with the
 * session id it was issued for, checked in constant time before any store access, so a state an
 * attacker obtained for their own session cannot complete an authorization in the victim's browser.
 *
 * @example
 * const binder = new SessionStateBinder(process.env.STATE_KEY!);
 * const state = binder.bind(randomState(), req.session.id);
 * binder.verify(state, req.session.id); // true; false for any other session
 */
export class SessionStateBinder {
  readonly #key: Buffer;

  /** `key`: at least 32 bytes (a string counts its UTF-8 bytes). Keep it secret; rotate it freely. */
  constructor(key: string | Secret | Uint8Array) {
    const bytes = key instanceof Uint8Array ? Buffer.from(key) : Buffer.from(key instanceof Secret ? key.reveal() : String(key), 'utf8');
    if (bytes.length < 32) throw new InvalidArgumentError('vault option "stateKey" must be at least 32 bytes');
    this.#key = bytes;
  }

  /** The state for `random` (22 base64url characters, 128 bits) bound to `sessionId`. */
  bind(random: string, sessionId: string): string {
    checkSessionId(sessionId);
    return `${random}.${this.#mac(random, sessionId).toString('base64url')}`;
  }

  /** Whether `state` was issued by {@link bind} for `sessionId` under this key. Constant time in the MAC. */
  verify(state: string, sessionId: string): boolean {
    checkSessionId(sessionId);
    const match = BOUND_STATE.exec(state);
    if (match === null) return false;
    const given = Buffer.from(match[2] as string, 'base64url');
    const expected = this.#mac(match[1] as string, sessionId);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Whether `state` has the shape of a session-bound state (whatever session or key). */
  static isBound(state: string): boolean {
    return BOUND_STATE.test(state);
  }

  #mac(random: string, sessionId: string): Buffer {
    return createHmac('sha256', this.#key).update(`${DOMAIN}\u0000${random}\u0000${sessionId}`, 'utf8').digest();
  }

  toJSON(): string {
    return 'SessionStateBinder([redacted])';
  }

  [inspect.custom](): string {
    return 'SessionStateBinder([redacted])';
  }
}

function checkSessionId(sessionId: unknown): asserts sessionId is string {
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_SESSION_ID_LENGTH) {
    throw new InvalidArgumentError(`"sessionId" must be a string of 1 to ${MAX_SESSION_ID_LENGTH} characters`);
  }
}
