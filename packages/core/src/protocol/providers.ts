import { InvalidArgumentError } from '../errors/errors';
import { requireHttpUrl, requireNonEmptyString, requirePositiveInteger } from './arguments';
import { validateScope } from './scope';
import type { ClientAuthMethod, ProviderProfile } from './types';

/** The four mixi URLs; the emulator produces this object for its loopback base URL. */
export interface MixiEndpoints {
  /** PC and smartphone consent page. */
  readonly authorizationEndpoint: string;
  /** Feature-phone (keitai) consent page. */
  readonly featurePhoneAuthorizationEndpoint: string;
  /** Token endpoint; also answers `grant_type=server_state`. */
  readonly tokenEndpoint: string;
  /** Graph API base, ending in `/`. */
  readonly apiBaseUrl: string;
}

/** The live mixi platform. */
export const MIXI_ENDPOINTS: MixiEndpoints = Object.freeze({
  authorizationEndpoint: 'https://mixi.jp/connect_authorize.pl',
  featurePhoneAuthorizationEndpoint: 'http://m.mixi.jp/connect_authorize.pl',
  tokenEndpoint: 'https://secure.mixi-platform.com/2/token',
  apiBaseUrl: 'https://api.mixi-platform.com/2/',
});

/** What `providers.oauth2()` needs to describe an RFC 6749 authorization server. */
export interface OAuth2ProviderOptions {
  /** Shown in diagnostics. Default `oauth2`. */
  readonly name?: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  /** Base URL for relative API paths in `vault.fetch`. */
  readonly apiBaseUrl?: string;
  /** Default `client_secret_basic`, the method RFC 6749 §2.3.1 says every server must support. */
  readonly clientAuth?: ClientAuthMethod;
  /**
   * Send a PKCE S256 challenge. Default true: RFC 9700 recommends PKCE for every client, and a server
   * that does not know it must ignore the unknown parameters (RFC 6749 §3.1).
   */
  readonly pkce?: boolean;
  /** How long the provider's authorization codes live. Default 10 minutes (RFC 6749 §4.1.2's maximum). */
  readonly codeLifetimeMs?: number;
  /** Scopes always requested, e.g. `['openid']`. Default none. */
  readonly defaultScope?: readonly string[];
  /** `display` values the consent page accepts (OpenID Connect: `page`, `popup`, `touch`, `wap`). Default none. */
  readonly displays?: readonly string[];
}

const MIXI_CODE_LIFETIME_MS = 180_000;
const DEFAULT_CODE_LIFETIME_MS = 600_000;

// A base URL without a trailing slash would drop its last segment when a relative path resolves
// against it (`new URL('people', '…/2')` is `…/people`), so one is added.
function apiBase(value: unknown, label: string): string {
  const href = requireHttpUrl(value, label);
  return href.endsWith('/') ? href : `${href}/`;
}

function displays(value: readonly string[] | undefined): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value)) throw new InvalidArgumentError('displays must be an array of strings');
  return Object.freeze(value.map((d, i) => requireNonEmptyString(d, `displays[${i}]`)));
}

/**
 * The mixi Graph API (new spec, OAuth 2.0): secret in the body, `server_state`, 3-minute codes, no PKCE.
 * Pass `overrides` to point it at another host, such as the mixi emulator.
 *
 * @example
 * const profile = providers.mixi();
 * const local = providers.mixi(emulatorEndpoints('http://127.0.0.1:8787'));
 */
function mixi(overrides: Partial<MixiEndpoints> = {}): ProviderProfile {
  const endpoints = { ...MIXI_ENDPOINTS, ...overrides };
  return Object.freeze({
    name: 'mixi',
    authorizationEndpoint: requireHttpUrl(endpoints.authorizationEndpoint, 'authorizationEndpoint'),
    featurePhoneAuthorizationEndpoint: requireHttpUrl(
      endpoints.featurePhoneAuthorizationEndpoint,
      'featurePhoneAuthorizationEndpoint',
    ),
    tokenEndpoint: requireHttpUrl(endpoints.tokenEndpoint, 'tokenEndpoint'),
    apiBaseUrl: apiBase(endpoints.apiBaseUrl, 'apiBaseUrl'),
    clientAuth: 'client_secret_post',
    pkce: false,
    serverState: true,
    codeLifetimeMs: MIXI_CODE_LIFETIME_MS,
    redirectUriInAuthorizationRequest: false,
    displays: Object.freeze(['pc', 'touch', 'smartphone', 'ios']),
    defaultScope: Object.freeze([]),
  });
}

/**
 * Any RFC 6749 authorization server using the authorization code grant.
 *
 * @example
 * const profile = providers.oauth2({
 *   name: 'example',
 *   authorizationEndpoint: 'https://auth.example.com/authorize',
 *   tokenEndpoint: 'https://auth.example.com/token',
 *   clientAuth: 'client_secret_post',
 * });
 */
function oauth2(options: OAuth2ProviderOptions): ProviderProfile {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('providers.oauth2() needs an options object');
  }
  const clientAuth = options.clientAuth ?? 'client_secret_basic';
  if (clientAuth !== 'client_secret_basic' && clientAuth !== 'client_secret_post') {
    throw new InvalidArgumentError('clientAuth must be "client_secret_basic" or "client_secret_post"');
  }
  const pkce = options.pkce ?? true;
  if (typeof pkce !== 'boolean') throw new InvalidArgumentError('pkce must be a boolean');
  return Object.freeze({
    name: requireNonEmptyString(options.name ?? 'oauth2', 'name'),
    authorizationEndpoint: requireHttpUrl(options.authorizationEndpoint, 'authorizationEndpoint'),
    featurePhoneAuthorizationEndpoint: undefined,
    tokenEndpoint: requireHttpUrl(options.tokenEndpoint, 'tokenEndpoint'),
    apiBaseUrl: options.apiBaseUrl === undefined ? undefined : apiBase(options.apiBaseUrl, 'apiBaseUrl'),
    clientAuth,
    pkce,
    serverState: false,
    codeLifetimeMs: requirePositiveInteger(options.codeLifetimeMs ?? DEFAULT_CODE_LIFETIME_MS, 'codeLifetimeMs'),
    redirectUriInAuthorizationRequest: true,
    displays: displays(options.displays),
    defaultScope: Object.freeze(validateScope(options.defaultScope ?? [], 'defaultScope')),
  });
}

/** Ready-made {@link ProviderProfile}s: `providers.mixi()` and `providers.oauth2({...})`. */
export const providers: Readonly<{ mixi: typeof mixi; oauth2: typeof oauth2 }> = Object.freeze({ mixi, oauth2 });
