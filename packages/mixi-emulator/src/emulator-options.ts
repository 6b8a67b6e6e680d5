import { EmulatorError } from './emulator-error';
import type { RandomBytes } from './token-generator';

/** What the token endpoint does when a refresh token that was already rotated comes back. */
export type ReuseDetection = 'revoke-grant' | 'reject';

/** Options of `createMixiEmulator`. Every one has a default that behaves like the live service. */
export interface MixiEmulatorOptions {
  /** `expires_in` of every access token, seconds. Default 900 (15 minutes, as the seed says today). */
  readonly accessTokenLifetimeSec?: number;
  /** How long an authorization code may be exchanged, ms. Default 180 000 (the seed's 3 minutes). */
  readonly codeLifetimeMs?: number;
  /** Life of each refresh token from its issue, ms. Default: none (it lives until revoked). */
  readonly refreshTokenLifetimeMs?: number;
  /** Life of a `server_state`, ms. Default 1 800 000 (30 minutes). */
  readonly serverStateLifetimeMs?: number;
  /**
   * A rotated refresh token used again is always refused (`invalid_grant`, counted as a reuse);
   * `'revoke-grant'` (default) also revokes the whole grant, as strict providers do.
   */
  readonly reuseDetection?: ReuseDetection;
  /** Issue a new refresh token on every refresh, retiring the old one. Default true. */
  readonly rotateRefreshTokens?: boolean;
  /**
   * Answer refreshes without `refresh_token` (the old one stays valid), to test clients that must keep
   * the one they have. Default false.
   */
  readonly omitRefreshTokenOnRefresh?: boolean;
  /** Revoke a grant's earlier access tokens when it is refreshed. Default false: each lives to its expiry. */
  readonly revokeAccessTokenOnRefresh?: boolean;
  /** Mount the `/_emulator/…` control API. Default false; refused on a non-loopback address. */
  readonly control?: boolean;
  /** Largest request body accepted, bytes; larger ones get 413. Default 65 536. */
  readonly maxBodyBytes?: number;
  /** Create a test user on first login with any username and password (for demos). Default false. */
  readonly autoCreateUsers?: boolean;
  /** Where the virtual clock starts, epoch ms. Default: now. */
  readonly startAt?: number;
  /** The clock's underlying source, epoch ms. Default `Date.now`; `() => 0` freezes time. */
  readonly now?: () => number;
  /** Random bytes for every token, secret and id. Default: `crypto.randomFillSync` through a pool. */
  readonly randomBytes?: RandomBytes;
  /** `iss` of the `id_token`s the emulator signs. Default `https://mixi.jp`. */
  readonly issuer?: string;
}

/** {@link MixiEmulatorOptions} with every default applied and checked. */
export interface ResolvedEmulatorOptions {
  readonly accessTokenLifetimeSec: number;
  readonly codeLifetimeMs: number;
  readonly refreshTokenLifetimeMs: number | undefined;
  readonly serverStateLifetimeMs: number;
  readonly reuseDetection: ReuseDetection;
  readonly rotateRefreshTokens: boolean;
  readonly omitRefreshTokenOnRefresh: boolean;
  readonly revokeAccessTokenOnRefresh: boolean;
  readonly control: boolean;
  readonly maxBodyBytes: number;
  readonly autoCreateUsers: boolean;
  readonly issuer: string;
}

/** Applies defaults and rejects nonsense (negative lifetimes, unknown modes) with a coded error. */
export function resolveEmulatorOptions(options: MixiEmulatorOptions): ResolvedEmulatorOptions {
  const reuseDetection = options.reuseDetection ?? 'revoke-grant';
  if (reuseDetection !== 'revoke-grant' && reuseDetection !== 'reject') {
    throw new EmulatorError('invalid_option', `reuseDetection must be 'revoke-grant' or 'reject'`, { field: 'reuseDetection' });
  }
  return {
    accessTokenLifetimeSec: positiveInteger(options.accessTokenLifetimeSec, 900, 'accessTokenLifetimeSec'),
    codeLifetimeMs: positiveInteger(options.codeLifetimeMs, 180_000, 'codeLifetimeMs'),
    refreshTokenLifetimeMs:
      options.refreshTokenLifetimeMs === undefined ? undefined : positiveInteger(options.refreshTokenLifetimeMs, 0, 'refreshTokenLifetimeMs'),
    serverStateLifetimeMs: positiveInteger(options.serverStateLifetimeMs, 1_800_000, 'serverStateLifetimeMs'),
    reuseDetection,
    rotateRefreshTokens: flag(options.rotateRefreshTokens, true, 'rotateRefreshTokens'),
    omitRefreshTokenOnRefresh: flag(options.omitRefreshTokenOnRefresh, false, 'omitRefreshTokenOnRefresh'),
    revokeAccessTokenOnRefresh: flag(options.revokeAccessTokenOnRefresh, false, 'revokeAccessTokenOnRefresh'),
    control: flag(options.control, false, 'control'),
    maxBodyBytes: positiveInteger(options.maxBodyBytes, 65_536, 'maxBodyBytes'),
    autoCreateUsers: flag(options.autoCreateUsers, false, 'autoCreateUsers'),
    issuer: options.issuer ?? 'https://mixi.jp',
  };
}

function positiveInteger(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new EmulatorError('invalid_option', `${field} must be a positive integer`, { field });
  }
  return value;
}

function flag(value: boolean | undefined, fallback: boolean, field: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new EmulatorError('invalid_option', `${field} must be a boolean`, { field });
  return value;
}
