import { InvalidArgumentError } from '../errors/errors';
import { Secret } from '../util/secret';
import { requireNonEmptyString, requireRedirectUri } from './arguments';
import { requirePkceVerifier } from './pkce';
import { tokenEndpointRequest } from './token-endpoint-request';
import type { ClientCredentials, HttpRequest, ProviderProfile } from './types';

/** What the callback delivered and what was kept from the authorization request. */
export interface AuthorizationCodeGrantParams {
  /** The `code` from the callback (single-use; 3 minutes at mixi). */
  readonly code: Secret | string;
  /** The redirect URI the authorization used. Default `credentials.redirectUri`. */
  readonly redirectUri?: string;
  /** mixi's `server_state` sent with the authorization request. */
  readonly serverState?: Secret | string;
  /** The PKCE verifier whose challenge the authorization request carried; required when `profile.pkce`. */
  readonly codeVerifier?: string;
}

/**
 * The code exchange (RFC 6749 §4.1.3): `grant_type=authorization_code`, the client authentication, `code`,
 * `redirect_uri`, then `server_state` and `code_verifier` when given. mixi's page lists no
 * `redirect_uri` for this request but names it among what `invalid_grant` can blame; RFC 6749 requires
 * it whenever the authorization request might have used one, so it is always sent.
 *
 * The request holds the code and the client secret in clear: send it, never log it.
 *
 * @example
 * const req = authorizationCodeGrantRequest(providers.mixi(), creds, { code, serverState });
 * const tokens = processTokenResponse(await sendRequest(req, sendOptions), { now: clock.now() });
 */
export function authorizationCodeGrantRequest(
  profile: ProviderProfile,
  credentials: ClientCredentials,
  params: AuthorizationCodeGrantParams,
): HttpRequest {
  const code = requireNonEmptyString(Secret.from(params.code).reveal(), 'code');
  const redirectUri = requireRedirectUri(params.redirectUri ?? credentials.redirectUri);
  const serverState =
    params.serverState === undefined
      ? undefined
      : requireNonEmptyString(Secret.from(params.serverState).reveal(), 'serverState');
  if (params.codeVerifier === undefined && profile.pkce) {
    throw new InvalidArgumentError(`codeVerifier is required: provider "${profile.name}" uses PKCE`);
  }
  const codeVerifier = params.codeVerifier === undefined ? undefined : requirePkceVerifier(params.codeVerifier);
  return tokenEndpointRequest(
    profile,
    credentials,
    'authorization_code',
    [
      ['code', code],
      ['redirect_uri', redirectUri],
      ['server_state', serverState],
      ['code_verifier', codeVerifier],
    ],
    true,
  );
}
