import { InvalidArgumentError } from '../errors/errors';
import type { ProviderProfile } from './types';

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), i.e. printable ASCII minus space, `"` and `\`.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Checks a list of scopes and removes duplicates, keeping the first occurrence's position.
 *
 * @example
 * validateScope(['r_profile', 'r_voice', 'r_profile'], 'scope') // ['r_profile', 'r_voice']
 */
export function validateScope(scope: readonly string[], label: string): string[] {
  if (!Array.isArray(scope)) throw new InvalidArgumentError(`${label} must be an array of scope strings`);
  const seen = new Set<string>();
  for (const [i, s] of scope.entries()) {
    if (typeof s !== 'string' || !SCOPE_TOKEN.test(s)) {
      throw new InvalidArgumentError(`${label}[${i}] must be a scope token (printable ASCII, no space, quote or backslash)`);
    }
    seen.add(s);
  }
  return [...seen];
}

/**
 * The scopes actually requested: the profile's `defaultScope` first, then the caller's, without duplicates.
 * The vault records this list as the grant's scope when the token answer does not name one.
 *
 * @example
 * effectiveScope(providers.oauth2({ …, defaultScope: ['openid'] }), ['r_profile']) // ['openid', 'r_profile']
 */
export function effectiveScope(profile: ProviderProfile, scope: readonly string[]): string[] {
  return validateScope([...profile.defaultScope, ...validateScope(scope, 'scope')], 'scope');
}

/**
 * Splits a space-separated `scope` value as sent by a provider. Liberal: any run of whitespace separates.
 *
 * @example
 * parseScopeString('r_profile  r_voice') // ['r_profile', 'r_voice']
 */
export function parseScopeString(value: string): string[] {
  return value.split(/\s+/).filter((s) => s.length > 0);
}
