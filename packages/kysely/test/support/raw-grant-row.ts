/**
 * The raw-read oracle's own reading of a grants row: deliberately written apart from src/row-mapping.ts
 * (an oracle that reused the store's mapping would check nothing), and deliberately plain.
 */
const int = (v: unknown): number | null => (v === null ? null : Number(v));

export function rawRowToPlain(row: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (row === undefined) return undefined;
  const pending = row.pending === null ? null : (JSON.parse(String(row.pending)) as Record<string, unknown>);
  return {
    grantId: row.grant_id,
    client: row.client,
    state: row.state,
    version: int(row.version),
    scope: JSON.parse(String(row.scope)),
    accessToken: row.access_token,
    accessTokenExpiresAt: int(row.access_token_expires_at),
    refreshToken: row.refresh_token,
    idToken: row.id_token,
    tokenType: row.token_type,
    tokensIssuedAt: int(row.tokens_issued_at),
    authorizationOrder: int(row.authorization_order),
    pending:
      pending === null
        ? null
        : {
            stateHash: row.pending_state_hash,
            deadline: pending.deadline,
            scope: pending.scope,
            redirectUri: pending.redirectUri,
            codeVerifier: row.pending_code_verifier,
            serverState: row.pending_server_state,
          },
    lease: row.lease_owner === null ? null : { owner: row.lease_owner, until: int(row.lease_until) },
    reauthReason: row.reauth_reason,
    lastError: row.last_error === null ? null : JSON.parse(String(row.last_error)),
    createdAt: int(row.created_at),
    updatedAt: int(row.updated_at),
  };
}

/** What `corrupt` writes: JSON that does not parse, in a column every grant has. */
export const CORRUPT_SCOPE = '{"not json';
