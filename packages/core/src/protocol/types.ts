import type { Secret } from '../util/secret';

/** How the client authenticates at the token endpoint. mixi uses `client_secret_post`. */
export type ClientAuthMethod = 'client_secret_post' | 'client_secret_basic';

/**
 * Everything the engine needs to know about an authorization server. `providers.mixi()` and
 * `providers.oauth2({...})` build these; you rarely write one by hand.
 */
export interface ProviderProfile {
  /** `mixi`, `oauth2`, or your own name. */
  readonly name: string;
  /** Where the user is sent to consent (PC and smartphone). */
  readonly authorizationEndpoint: string;
  /** mixi's feature-phone consent page (`http://m.mixi.jp/connect_authorize.pl`), when the provider has one. */
  readonly featurePhoneAuthorizationEndpoint: string | undefined;
  readonly tokenEndpoint: string;
  /** Base URL that relative API paths resolve against (`https://api.mixi-platform.com/2/`). */
  readonly apiBaseUrl: string | undefined;
  readonly clientAuth: ClientAuthMethod;
  /** Send a PKCE S256 challenge with the authorization request. */
  readonly pkce: boolean;
  /** Obtain mixi's `server_state` before authorizing and send it with the code exchange. */
  readonly serverState: boolean;
  /** How long an authorization code lives (mixi: 3 minutes). The pending authorization expires with it. */
  readonly codeLifetimeMs: number;
  /**
   * Send `redirect_uri` with the authorization request (RFC 6749 §4.1.1). Absent means true. mixi: false,
   * because its consent page always redirects to the Redirect URL registered on the Partner Dashboard
   * and its documented request has no such parameter.
   */
  readonly redirectUriInAuthorizationRequest?: boolean;
  /** `display` values the consent page accepts (mixi: `pc`, `touch`, `smartphone`, `ios`). */
  readonly displays: readonly string[];
  /** Scopes the engine always adds (mixi: none; OpenID providers: `openid`). */
  readonly defaultScope: readonly string[];
}

/** A client's credentials at its provider (the Partner Dashboard's consumer key and secret). */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: Secret;
  readonly redirectUri: string;
}

/** A request the protocol layer built, not yet sent. Tests assert these exactly. */
export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** `application/x-www-form-urlencoded` body, when there is one. */
  readonly body: string | undefined;
}

/** The headers of an answer, as far as the protocol layer reads them. A fetch `Headers` is one. */
export interface ResponseHeaders {
  /** The value of header `name` (any case), repeated values joined with `, `; null when absent. */
  get(name: string): string | null;
}

/** An answer read in full (within the size limit), ready for a `process…` function. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: string;
}

/** A validated token answer, with relative lifetimes already turned into absolute times. */
export interface TokenSet {
  readonly accessToken: Secret;
  /** `token_type` as sent (`Bearer`, any case). */
  readonly tokenType: string;
  /** `now + expires_in`, epoch ms; null when the answer had no `expires_in`. */
  readonly expiresAt: number | null;
  /** The new refresh token, or null when the answer had none (the engine then keeps the old one). */
  readonly refreshToken: Secret | null;
  /** The granted scope, or null when the answer did not say (it is then the requested one). */
  readonly scope: readonly string[] | null;
  /** OpenID Connect `id_token`, when the scope had `openid`. */
  readonly idToken: Secret | null;
}

/** The injectable `fetch` (the global one by default). */
export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;
