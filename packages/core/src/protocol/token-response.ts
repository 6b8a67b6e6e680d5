import { InvalidResponseError } from '../errors/errors';
import { Secret } from '../util/secret';
import { requireFiniteNumber } from './arguments';
import { expiresAtFrom, optionalString, readJsonAnswer, requiredString } from './json-answer';
import { parseScopeString } from './scope';
import type { HttpResponse, TokenSet } from './types';

/** When the answer was received, epoch ms: relative lifetimes are turned into absolute times with it. */
export interface ProcessTokenResponseOptions {
  readonly now: number;
}

/**
 * Validates a token endpoint answer (code exchange or refresh, RFC 6749 §5.1) field by field.
 *
 * - `access_token`: required, a non-empty string.
 * - `token_type`: `Bearer` in any case; absent is taken as `Bearer` (several servers omit it, and Bearer
 *   is the only type this engine can use); any other type is refused.
 * - `expires_in`: a positive number or numeric string → `expiresAt = now + expires_in × 1000`; absent → null.
 * - `scope`: a space-separated string, or absent (→ null: the requested scope was granted).
 * - `refresh_token`, `id_token`: non-empty strings when present; absent → null (the engine then keeps
 *   the refresh token it had, as mixi's refresh answers may omit it).
 *
 * Throws `OAuthError` for an OAuth error body (including mixi's 401 for an expired refresh token, read as
 * `invalid_grant`), `ProviderUnavailableError` for 5xx/503/429 (with `retryAt` from `Retry-After`), and
 * `InvalidResponseError` for everything else that is not a valid answer. No message carries a value.
 *
 * @example
 * const res = await sendRequest(refreshTokenGrantRequest(profile, creds, refreshToken), { fetch, timeoutMs: 10_000, maxBytes: 65_536 });
 * const tokens = processTokenResponse(res, { now: clock.now() });
 * tokens.accessToken.reveal(); // 'c2be2257f3dae3df4efcb010ae6eea'
 */
export function processTokenResponse(res: HttpResponse, options: ProcessTokenResponseOptions): TokenSet {
  const now = requireFiniteNumber(options?.now, 'now');
  const body = readJsonAnswer(res, 'token', 'access_token', now);
  const { status } = res;
  const accessToken = requiredString(body, 'access_token', 'token', status);
  const tokenType = optionalString(body, 'token_type', 'token', status) ?? 'Bearer';
  if (tokenType.toLowerCase() !== 'bearer') {
    throw new InvalidResponseError('token answer "token_type" must be "Bearer"', status);
  }
  const scope = optionalString(body, 'scope', 'token', status, true);
  const refreshToken = optionalString(body, 'refresh_token', 'token', status);
  const idToken = optionalString(body, 'id_token', 'token', status);
  return Object.freeze({
    accessToken: new Secret(accessToken),
    tokenType,
    expiresAt: expiresAtFrom(body, 'expires_in', 'token', status, now),
    refreshToken: refreshToken === undefined ? null : new Secret(refreshToken),
    scope: scope === undefined ? null : Object.freeze(parseScopeString(scope)),
    idToken: idToken === undefined ? null : new Secret(idToken),
  });
}
