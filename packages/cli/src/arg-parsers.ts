import { InvalidArgumentError } from 'commander';
import { parseDuration } from './duration';

/**
 * Value parsers for commander options. Each throws commander's `InvalidArgumentError`, so a bad value
 * is reported like any other usage error (one line, exit 2).
 */

/** The lifecycle states, as `--state` accepts them (kept here so parsing needs no engine import). */
export const GRANT_STATE_NAMES = ['unauthorized', 'awaitingCode', 'authorized', 'refreshing', 'reauthRequired'] as const;
export type GrantStateName = (typeof GRANT_STATE_NAMES)[number];

/** `90s`, `2m`, `1h30m` → milliseconds. */
export function durationArg(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('not a duration: use a number with a unit, like 90s, 2m or 1h');
  return ms;
}

/** An integer from `min` to `max`. */
export function integerArg(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    }
    return Number(value);
  };
}

/** `authorized,reauthRequired` (repeatable) → a list of states. */
export function statesArg(value: string, previous: readonly GrantStateName[] | undefined): GrantStateName[] {
  const states = [...(previous ?? [])];
  for (const part of value.split(/[\s,]+/).filter(Boolean)) {
    if (!(GRANT_STATE_NAMES as readonly string[]).includes(part)) {
      throw new InvalidArgumentError(`unknown state "${part}" (states: ${GRANT_STATE_NAMES.join(', ')})`);
    }
    if (!states.includes(part as GrantStateName)) states.push(part as GrantStateName);
  }
  return states;
}

// RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** `r_profile r_voice` or `r_profile,r_voice` (repeatable) → a list of scopes. */
export function scopesArg(value: string, previous: readonly string[] | undefined): string[] {
  const scopes = [...(previous ?? [])];
  for (const part of value.split(/[\s,]+/).filter(Boolean)) {
    if (!SCOPE_TOKEN.test(part)) throw new InvalidArgumentError(`"${part}" is not a scope (printable ASCII, no quote or backslash)`);
    if (!scopes.includes(part)) scopes.push(part);
  }
  return scopes;
}

/** An absolute http(s) URL. */
export function httpUrlArg(value: string): string {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new InvalidArgumentError('must be an absolute http:// or https:// URL');
  }
  return value;
}

/** A repeatable string option. */
export function collectArg(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** An HTTP method, upper-cased. */
export function httpMethodArg(value: string): string {
  const method = value.toUpperCase();
  if (!['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) {
    throw new InvalidArgumentError('must be GET, HEAD, POST, PUT, PATCH or DELETE');
  }
  return method;
}
