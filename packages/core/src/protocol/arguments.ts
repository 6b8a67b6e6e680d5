import { InvalidArgumentError } from '../errors/errors';

/*
 * Checks on what callers hand the protocol layer. Each failure is an `InvalidArgumentError` whose
 * message names the argument; values are never echoed, because some of them (codes, secrets, states)
 * must not reach a log.
 */

/** Returns `value` when it is a non-empty string. */
export function requireNonEmptyString(value: unknown, label: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(`${label} must be a non-empty string`);
  }
  return value;
}

/**
 * Returns the normalised `href` of an absolute `http:` or `https:` URL without credentials or fragment.
 * Plain `http:` stays allowed: mixi's feature-phone page is `http://m.mixi.jp/…` and the emulator
 * listens on loopback.
 */
export function requireHttpUrl(value: unknown, label: string): string {
  if (typeof value !== 'string' || !URL.canParse(value)) {
    throw new InvalidArgumentError(`${label} must be an absolute URL`);
  }
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidArgumentError(`${label} must be an http: or https: URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(`${label} must not carry credentials`);
  }
  if (url.hash !== '') {
    throw new InvalidArgumentError(`${label} must not have a fragment`);
  }
  return url.href;
}

/** Returns `value` when it is a positive safe integer. */
export function requirePositiveInteger(value: unknown, label: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${label} must be a positive integer`);
  }
  return value;
}

/** Returns `value` when it is a finite number (an epoch-ms instant). */
export function requireFiniteNumber(value: unknown, label: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`${label} must be a finite number`);
  }
  return value;
}

/**
 * Returns `value` unchanged when it is an absolute URL without fragment. Unchanged, because providers
 * compare `redirect_uri` with the registered one as a string; any scheme, because native and desktop apps
 * register custom-scheme redirect URIs (RFC 8252 §7.1).
 */
export function requireRedirectUri(value: unknown): string {
  if (typeof value !== 'string' || !URL.canParse(value)) {
    throw new InvalidArgumentError('redirectUri must be an absolute URL');
  }
  if (value.includes('#')) throw new InvalidArgumentError('redirectUri must not have a fragment');
  return value;
}
