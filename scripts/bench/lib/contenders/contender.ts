/**
 * A token engine as a storm worker drives it: what one caller does to get a usable access token, and
 * what the process ends up holding. tokenvault is one; the competitors are written the way their
 * READMEs recommend for refresh-on-expiry, each process keeping its own token storage.
 */
import { createHash } from 'node:crypto';

export interface Contender {
  /** One caller: a usable access token for the grant (refreshed first if the engine sees it expired). */
  token(grantId: string): Promise<string>;
  /** One caller on the API path: a People API call through the engine; resolves with the status. */
  fetch(grantId: string): Promise<number>;
  /** The access token this process holds for the grant now (its storage or cache), if any. */
  current(grantId: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** A short, stable fingerprint of a token: what workers report instead of the token itself. */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 16);
}

/**
 * The stable code of a thrown value: tokenvault's `code`; a competitor's OAuth error code or HTTP
 * status (simple-oauth2 throws Boom errors); else the error's name.
 */
export function errorCode(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const e = error as { code?: unknown; oauth2Code?: unknown; output?: { statusCode?: unknown }; name?: unknown };
    if (typeof e.code === 'string') return e.code;
    if (typeof e.oauth2Code === 'string') return e.oauth2Code;
    if (typeof e.output?.statusCode === 'number') return `http_${e.output.statusCode}`;
    const name = e.name;
    if (typeof name === 'string') return name;
  }
  return 'unknown';
}
