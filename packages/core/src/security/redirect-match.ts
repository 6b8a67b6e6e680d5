import { InvalidArgumentError } from '../errors/errors';
import type { ProviderProfile } from '../protocol/types';

/** The parameters of an authorization callback, in any of the usual shapes. */
export type CallbackInput = string | URL | URLSearchParams | Readonly<Record<string, string | undefined>>;

/** Where a callback arrived, when the caller passed a URL (absolute, or a path such as Node's `req.url`). */
export interface CallbackLocation {
  /** `https://app.example`; undefined for a bare path (`/callback?code=…`). */
  readonly origin: string | undefined;
  readonly pathname: string;
}

/** A callback taken apart: its parameters, and where it arrived when that is known. */
export interface ParsedCallback {
  readonly params: URLSearchParams;
  readonly location: CallbackLocation | undefined;
}

/**
 * Takes a callback apart. An absolute URL or a path (`/callback?code=…`, as `req.url` gives it) also
 * tells where it arrived, which {@link redirectMatches} checks; a query string, `URLSearchParams` or a
 * parameter object carry the parameters only.
 *
 * @example
 * parseCallback('https://app.example/callback?code=c&state=s').location; // { origin: 'https://app.example', pathname: '/callback' }
 */
export function parseCallback(callback: CallbackInput): ParsedCallback {
  if (typeof callback === 'string') {
    if (URL.canParse(callback)) return fromUrl(new URL(callback), true);
    if (callback.startsWith('//')) {
      // Scheme-relative: the host is known, the scheme is not, so it can never match an origin.
      const url = new URL(callback, 'https://scheme.invalid');
      return { params: url.searchParams, location: { origin: `//${url.host}`, pathname: url.pathname } };
    }
    if (callback.startsWith('/')) return fromUrl(new URL(callback, 'http://path.invalid'), false);
    return { params: new URLSearchParams(callback.startsWith('?') ? callback.slice(1) : callback), location: undefined };
  }
  if (callback instanceof URL) return fromUrl(callback, true);
  if (callback instanceof URLSearchParams) return { params: callback, location: undefined };
  if (callback && typeof callback === 'object') {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(callback)) if (typeof value === 'string') params.set(key, value);
    return { params, location: undefined };
  }
  throw new InvalidArgumentError('the callback must be a URL, a path, a query string, URLSearchParams or a parameter object');
}

function fromUrl(url: URL, absolute: boolean): ParsedCallback {
  return { params: url.searchParams, location: { origin: absolute ? url.origin : undefined, pathname: url.pathname } };
}

/** mixi's desktop page, which mixi itself serves on its authorization host. */
const MIXI_DESKTOP_PAGE = '/connect_authorize_success.html';

/**
 * Whether a callback that arrived at `location` with `params` came through the redirect URI
 * `registered`: same origin (when known) and same path, compared exactly, and every query parameter
 * of the registered URI present with its value.
 *
 * One alias: mixi's desktop redirect page (`https://mixi.jp/connect_authorize_success.html`) is served
 * by mixi's authorization host, so with the endpoints pointed elsewhere (the emulator), the page on
 * the authorization endpoint's origin is the same page.
 *
 * @example
 * redirectMatches({ origin: 'https://app.example', pathname: '/callback' }, params, 'https://app.example/callback', provider); // true
 */
export function redirectMatches(location: CallbackLocation, params: URLSearchParams, registered: string, provider: ProviderProfile): boolean {
  const expected = new URL(registered);
  if (location.pathname !== expected.pathname) return false;
  for (const [key, value] of expected.searchParams) if (!params.getAll(key).includes(value)) return false;
  if (location.origin === undefined || location.origin === expected.origin) return true;
  return (
    provider.name === 'mixi' &&
    expected.hostname === 'mixi.jp' &&
    expected.pathname === MIXI_DESKTOP_PAGE &&
    location.origin === new URL(provider.authorizationEndpoint).origin
  );
}
