import { InvalidArgumentError } from '../errors/errors';
import { Secret } from '../util/secret';
import { requireNonEmptyString, requireRedirectUri } from './arguments';
import { effectiveScope } from './scope';
import type { ClientCredentials, ProviderProfile } from './types';

/** Which consent page: mixi has one for PC and smartphone and another for feature phones (keitai). */
export type AuthorizationDevice = 'pc' | 'featurePhone';

/** What one authorization request asks for. */
export interface AuthorizationUrlParams {
  /** Scopes to request; the profile's `defaultScope` is added in front. Sent space-separated. */
  readonly scope: readonly string[];
  /** The CSRF token echoed on the callback (see `randomState`). */
  readonly state: string;
  /** One of `profile.displays` (mixi: `pc`, `touch`, `smartphone`, `ios`). Ignored for feature phones. */
  readonly display?: string;
  /** Default `pc` (which also serves smartphones). `featurePhone` needs a profile that has such a page. */
  readonly device?: AuthorizationDevice;
  /** A Docomo feature phone: adds `guid=ON`, as mixi asks. Only with `device: 'featurePhone'`. */
  readonly docomo?: boolean;
  /** mixi's `server_state` (see `serverStateRequest`); mandatory at mixi when the scope has `openid`. */
  readonly serverState?: string | Secret;
  /** PKCE S256 challenge (see `createPkcePair`); required when `profile.pkce`. */
  readonly codeChallenge?: string;
  /** Further provider-specific parameters. They may not replace the ones above. */
  readonly extra?: Readonly<Record<string, string>>;
}

const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const RESERVED = new Set([
  'client_id',
  'response_type',
  'scope',
  'display',
  'state',
  'server_state',
  'redirect_uri',
  'code_challenge',
  'code_challenge_method',
  'guid',
]);

function consentPage(profile: ProviderProfile, device: AuthorizationDevice): string {
  if (device === 'pc') return profile.authorizationEndpoint;
  if (device === 'featurePhone') {
    if (profile.featurePhoneAuthorizationEndpoint === undefined) {
      throw new InvalidArgumentError(`device "featurePhone" needs a profile with a featurePhoneAuthorizationEndpoint`);
    }
    return profile.featurePhoneAuthorizationEndpoint;
  }
  throw new InvalidArgumentError('device must be "pc" or "featurePhone"');
}

/**
 * Builds the URL the user's browser is sent to for consent (RFC 6749 §4.1.1, mixi's
 * `connect_authorize.pl`).
 *
 * Parameters appear in the order mixi documents: `client_id`, `response_type=code`, `scope`, `display`,
 * `state`, `server_state`, then `redirect_uri` (only when `profile.redirectUriInAuthorizationRequest`
 * is not false: mixi always redirects to the registered Redirect URL and documents no such parameter),
 * `code_challenge` + `code_challenge_method=S256`, `guid=ON`, and the `extra` ones.
 *
 * The URL carries `state` and `server_state` in clear, as it must: hand it to the browser, do not log it.
 *
 * @example
 * const url = buildAuthorizationUrl(providers.mixi(), { clientId, redirectUri }, {
 *   scope: ['r_profile', 'r_voice'],
 *   state: randomState(),
 *   display: 'touch',
 * });
 * // https://mixi.jp/connect_authorize.pl?client_id=…&response_type=code&scope=r_profile+r_voice&display=touch&state=…
 */
export function buildAuthorizationUrl(
  profile: ProviderProfile,
  credentials: Pick<ClientCredentials, 'clientId' | 'redirectUri'>,
  params: AuthorizationUrlParams,
): URL {
  const device = params.device ?? 'pc';
  const url = new URL(consentPage(profile, device));
  const scope = effectiveScope(profile, params.scope);
  const state = requireNonEmptyString(params.state, 'state');
  const q = url.searchParams;

  q.append('client_id', requireNonEmptyString(credentials.clientId, 'clientId'));
  q.append('response_type', 'code');
  if (scope.length > 0) q.append('scope', scope.join(' '));
  if (params.display !== undefined && device !== 'featurePhone') {
    if (!profile.displays.includes(params.display)) {
      throw new InvalidArgumentError(
        profile.displays.length === 0
          ? `display is not supported by provider "${profile.name}"`
          : `display must be one of ${profile.displays.map((d) => `"${d}"`).join(', ')}`,
      );
    }
    q.append('display', params.display);
  }
  q.append('state', state);

  if (params.serverState !== undefined) {
    if (!profile.serverState) throw new InvalidArgumentError(`serverState is not supported by provider "${profile.name}"`);
    q.append('server_state', requireNonEmptyString(Secret.from(params.serverState).reveal(), 'serverState'));
  } else if (profile.serverState && scope.includes('openid')) {
    // mixi refuses an openid authorization without it; failing here names the cause.
    throw new InvalidArgumentError('serverState is required when the scope contains "openid"');
  }

  if (profile.redirectUriInAuthorizationRequest !== false) {
    q.append('redirect_uri', requireRedirectUri(credentials.redirectUri));
  }

  if (params.codeChallenge !== undefined) {
    if (typeof params.codeChallenge !== 'string' || !S256_CHALLENGE.test(params.codeChallenge)) {
      throw new InvalidArgumentError('codeChallenge must be an S256 challenge (43 base64url characters)');
    }
    q.append('code_challenge', params.codeChallenge);
    q.append('code_challenge_method', 'S256');
  } else if (profile.pkce) {
    throw new InvalidArgumentError(`codeChallenge is required: provider "${profile.name}" uses PKCE`);
  }

  if (params.docomo === true) {
    if (device !== 'featurePhone') throw new InvalidArgumentError('docomo applies only to device "featurePhone"');
    q.append('guid', 'ON');
  }

  for (const [name, value] of Object.entries(params.extra ?? {})) {
    if (RESERVED.has(name)) throw new InvalidArgumentError(`extra parameter "${name}" would replace a standard one`);
    if (typeof value !== 'string') throw new InvalidArgumentError(`extra parameter "${name}" must be a string`);
    q.append(name, value);
  }
  return url;
}
