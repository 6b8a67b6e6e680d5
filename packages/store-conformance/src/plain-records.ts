import type { ClientRecord, GrantRecord, Secret } from '@tokenvault/core';

/**
 * A grant as plain data: the record's fields, with every secret revealed as a string. It is what a
 * harness's `rawRead` returns, and what the suite compares, because `Secret`s hide their values from
 * `toEqual`. Test-only: never log one.
 */
export type PlainGrant = {
  grantId: string;
  client: string;
  state: string;
  version: number;
  scope: string[];
  accessToken: string | null;
  accessTokenExpiresAt: number | null;
  refreshToken: string | null;
  idToken: string | null;
  tokenType: string | null;
  tokensIssuedAt: number | null;
  authorizationOrder: number | null;
  pending: {
    stateHash: string;
    deadline: number;
    scope: string[];
    redirectUri: string;
    codeVerifier: string | null;
    serverState: string | null;
  } | null;
  lease: { owner: string; until: number } | null;
  reauthReason: string | null;
  lastError: { code: string; message: string; at: number; retryAt: number | null } | null;
  createdAt: number;
  updatedAt: number;
};

/** A client record as plain data, its secret revealed. */
export type PlainClient = {
  id: string;
  provider: string;
  providerOptions: Record<string, unknown>;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  createdAt: number;
  updatedAt: number;
};

const reveal = (s: Secret | null): string | null => (s === null ? null : s.reveal());

/**
 * `record` as {@link PlainGrant} (undefined stays undefined).
 *
 * @example
 * expect(await harness.rawRead(id)).toEqual(toPlainGrant(record));
 */
export function toPlainGrant(record: GrantRecord): PlainGrant;
export function toPlainGrant(record: GrantRecord | undefined): PlainGrant | undefined;
export function toPlainGrant(record: GrantRecord | undefined): PlainGrant | undefined {
  if (record === undefined) return undefined;
  const p = record.pending;
  return {
    grantId: record.grantId,
    client: record.client,
    state: record.state,
    version: record.version,
    scope: [...record.scope],
    accessToken: reveal(record.accessToken),
    accessTokenExpiresAt: record.accessTokenExpiresAt,
    refreshToken: reveal(record.refreshToken),
    idToken: reveal(record.idToken),
    tokenType: record.tokenType,
    tokensIssuedAt: record.tokensIssuedAt,
    authorizationOrder: record.authorizationOrder,
    pending:
      p === null
        ? null
        : {
            stateHash: p.stateHash,
            deadline: p.deadline,
            scope: [...p.scope],
            redirectUri: p.redirectUri,
            codeVerifier: reveal(p.codeVerifier),
            serverState: reveal(p.serverState),
          },
    lease: record.lease === null ? null : { owner: record.lease.owner, until: record.lease.until },
    reauthReason: record.reauthReason,
    lastError: record.lastError === null ? null : { ...record.lastError },
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** `record` as {@link PlainClient} (undefined stays undefined). */
export function toPlainClient(record: ClientRecord): PlainClient;
export function toPlainClient(record: ClientRecord | undefined): PlainClient | undefined;
export function toPlainClient(record: ClientRecord | undefined): PlainClient | undefined {
  if (record === undefined) return undefined;
  return {
    id: record.id,
    provider: record.provider,
    providerOptions: JSON.parse(JSON.stringify(record.providerOptions)) as Record<string, unknown>,
    clientId: record.clientId,
    clientSecret: record.clientSecret.reveal(),
    redirectUri: record.redirectUri,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
