import type { GrantInfo } from '@tokenvault/core';
import { formatRelative } from './duration';
import { renderTable } from './text-table';

const HEADERS = ['GRANT', 'CLIENT', 'STATE', 'SCOPE', 'EXPIRES', 'LAST ERROR'] as const;

/**
 * The grants table of `tokenvault status` and of the demo's summary: state, scope, expiry in human
 * terms and the last error. Built from `GrantInfo`, which holds no token, code, state or secret.
 *
 * @example
 * renderGrantTable(await vault.list().then((p) => p.items), Date.now())
 * // GRANT  CLIENT  STATE       SCOPE      EXPIRES    LAST ERROR
 * // alice  mixi    authorized  r_profile  in 14 min  -
 */
export function renderGrantTable(grants: readonly GrantInfo[], now: number): string {
  return renderTable(HEADERS, grants.map((grant) => grantRow(grant, now)), { maxWidth: { 'LAST ERROR': 72, SCOPE: 40 } });
}

function grantRow(grant: GrantInfo, now: number): string[] {
  return [
    grant.grantId,
    grant.client,
    grant.reauthReason === null ? grant.state : `${grant.state} (${grant.reauthReason})`,
    grant.scope.length === 0 ? '-' : grant.scope.join(' '),
    expiry(grant, now),
    grant.lastError === null ? '-' : `${grant.lastError.code}: ${grant.lastError.message} (${formatRelative(grant.lastError.at, now)})`,
  ];
}

function expiry(grant: GrantInfo, now: number): string {
  if (grant.state === 'awaitingCode' && grant.pendingAuthorizationUntil !== null) {
    return grant.pendingAuthorizationUntil > now
      ? `consent due ${formatRelative(grant.pendingAuthorizationUntil, now)}`
      : `consent lapsed ${formatRelative(grant.pendingAuthorizationUntil, now)}`;
  }
  if (!grant.hasAccessToken) return '-';
  if (grant.accessTokenExpiresAt === null) return 'no expiry given';
  return grant.accessTokenExpiresAt > now ? formatRelative(grant.accessTokenExpiresAt, now) : `expired ${formatRelative(grant.accessTokenExpiresAt, now)}`;
}
