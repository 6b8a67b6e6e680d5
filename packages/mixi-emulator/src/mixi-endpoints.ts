import { EmulatorError } from './emulator-error';

/** The endpoints a mixi client is configured with (what the engine's `providers.mixi({...})` takes). */
export interface MixiEndpoints {
  /** PC and smartphone authorization page (mixi.jp/connect_authorize.pl). */
  readonly authorizationEndpoint: string;
  /** Feature-phone authorization page (m.mixi.jp/connect_authorize.pl). */
  readonly featurePhoneAuthorizationEndpoint: string;
  /** Token endpoint (secure.mixi-platform.com/2/token). */
  readonly tokenEndpoint: string;
  /** Graph API base, ending in `/2/` (api.mixi-platform.com/2/). */
  readonly apiBaseUrl: string;
}

/** Every URL of a running emulator: the mixi endpoints plus the pages and APIs around them. */
export interface EmulatorUrls extends MixiEndpoints {
  readonly baseUrl: string;
  /** The desktop redirect page that shows the code (mixi.jp/connect_authorize_success.html). */
  readonly desktopRedirectUrl: string;
  readonly dashboardUrl: string;
  readonly dashboardApiUrl: string;
  readonly controlUrl: string;
}

/**
 * Maps an emulator's base URL to the mixi endpoints: one origin stands for mixi.jp, m.mixi.jp,
 * secure.mixi-platform.com and api.mixi-platform.com.
 *
 * @example
 * ```ts
 * const { url } = await emulator.listen();
 * const provider = providers.mixi(mixiEndpoints(url));
 * // { authorizationEndpoint: 'http://127.0.0.1:53124/connect_authorize.pl', …, apiBaseUrl: 'http://127.0.0.1:53124/2/' }
 * ```
 */
export function mixiEndpoints(baseUrl: string | URL): MixiEndpoints {
  const base = normalizeBase(baseUrl);
  return {
    authorizationEndpoint: `${base}/connect_authorize.pl`,
    featurePhoneAuthorizationEndpoint: `${base}/m/connect_authorize.pl`,
    tokenEndpoint: `${base}/2/token`,
    apiBaseUrl: `${base}/2/`,
  };
}

/**
 * Every URL of an emulator at `baseUrl`, for printing and for programs that drive it.
 *
 * @example
 * ```ts
 * emulatorUrls('http://127.0.0.1:8787').dashboardUrl; // 'http://127.0.0.1:8787/dashboard'
 * ```
 */
export function emulatorUrls(baseUrl: string | URL): EmulatorUrls {
  const base = normalizeBase(baseUrl);
  return {
    ...mixiEndpoints(base),
    baseUrl: base,
    desktopRedirectUrl: `${base}/connect_authorize_success.html`,
    dashboardUrl: `${base}/dashboard`,
    dashboardApiUrl: `${base}/dashboard/api`,
    controlUrl: `${base}/_emulator`,
  };
}

function normalizeBase(baseUrl: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(baseUrl));
  } catch (cause) {
    throw new EmulatorError('invalid_input', 'baseUrl is not an absolute URL', { field: 'baseUrl', cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EmulatorError('invalid_input', 'baseUrl must be an http or https URL', { field: 'baseUrl' });
  }
  // An emulator may sit under a path prefix (behind a proxy); keep it, minus the trailing slash.
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
