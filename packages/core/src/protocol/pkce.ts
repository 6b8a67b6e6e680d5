import { createHash, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors/errors';

/** A source of cryptographically strong random bytes; inject a deterministic one in tests. */
export type RandomBytes = (n: number) => Uint8Array;

/** `node:crypto`'s CSPRNG. */
export const secureRandomBytes: RandomBytes = (n) => randomBytes(n);

/** A PKCE pair (RFC 7636): keep `verifier` secret until the code exchange; send `challenge` now. */
export interface PkcePair {
  readonly verifier: string;
  readonly challenge: string;
  readonly method: 'S256';
}

// 32 random bytes give a 43-character base64url verifier, the shortest RFC 7636 §4.1 allows, carrying
// 256 bits of entropy (the RFC asks for at least that).
const VERIFIER_BYTES = 32;
const STATE_BYTES = 16;
const PKCE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

function draw(random: RandomBytes, n: number): Buffer {
  const bytes = random(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw new InvalidArgumentError(`random(${n}) must return a Uint8Array of ${n} bytes`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Returns `value` when it is a valid PKCE verifier: 43 to 128 unreserved characters (RFC 7636 §4.1). */
export function requirePkceVerifier(value: unknown, label = 'codeVerifier'): string {
  if (typeof value !== 'string' || !PKCE_VERIFIER.test(value)) {
    throw new InvalidArgumentError(`${label} must be 43 to 128 unreserved characters (RFC 7636 §4.1)`);
  }
  return value;
}

/**
 * The S256 challenge of a verifier: `base64url(sha256(ascii(verifier)))`.
 *
 * @example
 * pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk') // 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
 */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(requirePkceVerifier(verifier), 'ascii').digest('base64url');
}

/**
 * Creates a PKCE verifier and its S256 challenge.
 *
 * @example
 * const { verifier, challenge } = createPkcePair();
 * buildAuthorizationUrl(profile, creds, { scope, state, codeChallenge: challenge });
 * // later: authorizationCodeGrantRequest(profile, creds, { code, codeVerifier: verifier })
 */
export function createPkcePair(random: RandomBytes = secureRandomBytes): PkcePair {
  const verifier = draw(random, VERIFIER_BYTES).toString('base64url');
  return { verifier, challenge: pkceChallenge(verifier), method: 'S256' };
}

/**
 * A fresh authorization `state`: 128 random bits, base64url (22 characters).
 *
 * @example
 * const state = randomState(); // 'q3Y0mY5y8m0s1bKkq9hWzA'
 */
export function randomState(random: RandomBytes = secureRandomBytes): string {
  return draw(random, STATE_BYTES).toString('base64url');
}
