import { createHmac } from 'node:crypto';

/** The claims of an emulator `id_token`. */
export interface IdTokenClaims {
  readonly iss: string;
  /** The user's mixi id. */
  readonly sub: string;
  /** The consumer key. */
  readonly aud: string;
  /** Issued at, seconds since the epoch (virtual clock). */
  readonly iat: number;
  /** Expiry, seconds since the epoch: the access token's expiry. */
  readonly exp: number;
  /** The authorization request's `nonce`, when it sent one. */
  readonly nonce?: string;
}

/**
 * Signs an `id_token` as a compact JWS with HS256, keyed with the client secret (OpenID Connect's
 * rule for symmetric signatures). The live service's exact claims are not public; these are the
 * OpenID Connect core ones.
 *
 * @example
 * ```ts
 * const jwt = signIdToken({ iss: 'https://mixi.jp', sub: 'u1', aud: clientId, iat: 0, exp: 900 }, clientSecret);
 * ```
 */
export function signIdToken(claims: IdTokenClaims, clientSecret: string): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', clientSecret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
