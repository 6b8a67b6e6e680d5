import { parseScopeString } from './scope';
import { parseWwwAuthenticate, type Challenge } from './www-authenticate';

/**
 * What an API answer says about the access token (RFC 6750 §3.1, mixi's table), decided from the status
 * and the `WWW-Authenticate` challenge:
 * - `none`: nothing wrong with the token (a 2xx, or a non-401 without a bearer error);
 * - `expired`: refresh and retry once (`invalid_token` whose description mentions expiry, or the older
 *   spec's `expired_token`);
 * - `invalid_token`: revoked or unknown; the user must authorize again;
 * - `insufficient_scope`: a wider authorization is needed, with the `scope` the server asked for;
 * - `invalid_request`: a malformed call, not the token's fault;
 * - `unknown`: a 401 without a readable bearer error, or an error code outside RFC 6750.
 */
export type BearerProblem =
  | { readonly kind: 'none' }
  | { readonly kind: 'expired'; readonly description?: string }
  | { readonly kind: 'invalid_token'; readonly description?: string }
  | { readonly kind: 'insufficient_scope'; readonly scope: string[]; readonly description?: string }
  | { readonly kind: 'invalid_request'; readonly description?: string }
  | { readonly kind: 'unknown'; readonly error?: string; readonly description?: string };

const BEARER_SCHEMES = new Set(['bearer', 'oauth']);

// mixi says "The access token expired"; other servers say "Token expired", "expired_token", … .
const EXPIRED = /expired/i;

/** The bearer challenge that explains the failure: the first `Bearer`/`OAuth` one naming an error, else the first. */
function bearerChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  const bearer = challenges.filter((c) => BEARER_SCHEMES.has(c.scheme.toLowerCase()));
  return bearer.find((c) => c.params.error !== undefined) ?? bearer[0];
}

/**
 * Classifies an API answer's bearer-token problem. Accepts the `Bearer` scheme and the `OAuth` scheme of
 * mixi's older spec, in any case, and single-quoted values (`OAuth error='expired_token'`).
 *
 * @example
 * const h = new Headers({ 'www-authenticate': 'Bearer error="invalid_token", error_description="The access token expired"' });
 * classifyBearerError(401, h) // { kind: 'expired', description: 'The access token expired' }
 */
export function classifyBearerError(status: number, headers: Headers): BearerProblem {
  if (status >= 200 && status <= 299) return { kind: 'none' };
  const challenge = bearerChallenge(parseWwwAuthenticate(headers.get('www-authenticate') ?? ''));
  const error = challenge?.params.error;
  const rawDescription = challenge?.params.error_description;
  const description = rawDescription === undefined || rawDescription === '' ? {} : { description: rawDescription };
  if (error === undefined || error === '') return status === 401 ? { kind: 'unknown', ...description } : { kind: 'none' };
  switch (error.toLowerCase()) {
    case 'invalid_token':
      return rawDescription !== undefined && EXPIRED.test(rawDescription)
        ? { kind: 'expired', ...description }
        : { kind: 'invalid_token', ...description };
    case 'expired_token':
      return { kind: 'expired', ...description };
    case 'insufficient_scope':
      return { kind: 'insufficient_scope', scope: parseScopeString(challenge?.params.scope ?? ''), ...description };
    case 'invalid_request':
      return { kind: 'invalid_request', ...description };
    default:
      return { kind: 'unknown', error, ...description };
  }
}
