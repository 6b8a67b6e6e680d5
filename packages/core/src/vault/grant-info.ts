import type { ReauthReason } from '../errors/errors';
import type { GrantError, GrantRecord, GrantState } from '../store/grant-store';

/**
 * What `vault.inspect` and `vault.list` show of a grant: everything useful for operations, and no
 * token, code, state or secret (only whether one is present).
 */
export interface GrantInfo {
  readonly grantId: string;
  readonly client: string;
  readonly state: GrantState;
  readonly version: number;
  readonly scope: readonly string[];
  readonly hasAccessToken: boolean;
  readonly hasRefreshToken: boolean;
  readonly hasIdToken: boolean;
  /** Epoch ms, or null. */
  readonly accessTokenExpiresAt: number | null;
  readonly tokensIssuedAt: number | null;
  /** Deadline of a pending authorization, epoch ms. */
  readonly pendingAuthorizationUntil: number | null;
  /** Scope asked for by a pending authorization. */
  readonly pendingScope: readonly string[] | null;
  readonly lease: { readonly owner: string; readonly until: number } | null;
  readonly reauthReason: ReauthReason | null;
  readonly lastError: GrantError | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** The redacted view of a record. */
export function toGrantInfo(record: GrantRecord): GrantInfo {
  return {
    grantId: record.grantId,
    client: record.client,
    state: record.state,
    version: record.version,
    scope: record.scope,
    hasAccessToken: record.accessToken !== null,
    hasRefreshToken: record.refreshToken !== null,
    hasIdToken: record.idToken !== null,
    accessTokenExpiresAt: record.accessTokenExpiresAt,
    tokensIssuedAt: record.tokensIssuedAt,
    pendingAuthorizationUntil: record.pending?.deadline ?? null,
    pendingScope: record.pending?.scope ?? null,
    lease: record.lease,
    reauthReason: record.reauthReason,
    lastError: record.lastError,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
