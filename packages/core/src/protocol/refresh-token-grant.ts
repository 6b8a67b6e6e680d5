import { InvalidArgumentError } from '../errors/errors';
import { Secret } from '../util/secret';
import { requireNonEmptyString } from './arguments';
import { validateScope } from './scope';
import { tokenEndpointRequest } from './token-endpoint-request';
import type { ClientCredentials, HttpRequest, ProviderProfile } from './types';

/** Options of a refresh. */
export interface RefreshTokenGrantOptions {
  /** Ask for a narrower scope than granted (RFC 6749 §6). Default: the granted scope. */
  readonly scope?: readonly string[];
}

/**
 * The refresh (RFC 6749 §6): `grant_type=refresh_token`, the client authentication, `refresh_token`, and
 * `scope` when given.
 *
 * The request holds the refresh token and the client secret in clear: send it, never log it.
 *
 * @example
 * const req = refreshTokenGrantRequest(providers.mixi(), creds, grant.refreshToken);
 * const tokens = processTokenResponse(await sendRequest(req, sendOptions), { now: clock.now() });
 */
export function refreshTokenGrantRequest(
  profile: ProviderProfile,
  credentials: ClientCredentials,
  refreshToken: Secret,
  options: RefreshTokenGrantOptions = {},
): HttpRequest {
  if (!(refreshToken instanceof Secret)) throw new InvalidArgumentError('refreshToken must be a Secret');
  const token = requireNonEmptyString(refreshToken.reveal(), 'refreshToken');
  const scope = options.scope === undefined ? undefined : validateScope(options.scope, 'scope');
  return tokenEndpointRequest(
    profile,
    credentials,
    'refresh_token',
    [
      ['refresh_token', token],
      ['scope', scope === undefined || scope.length === 0 ? undefined : scope.join(' ')],
    ],
    true,
  );
}
