import type { GrantEvent } from '../../src/machine/grant-machine';
import type { TokenSet } from '../../src/protocol/types';
import type { PendingAuthorization } from '../../src/store/grant-store';
import { Secret } from '../../src/util/secret';

export const OWNER_A = 'worker-a';
export const OWNER_B = 'worker-b';

export function tokens(n: number, now: number, options: { refresh?: boolean } = {}): TokenSet {
  return {
    accessToken: new Secret(`access-${n}`),
    tokenType: 'Bearer',
    expiresAt: now + 900_000,
    refreshToken: options.refresh === false ? null : new Secret(`refresh-${n}`),
    scope: ['r_profile'],
    idToken: null,
  };
}

export function pending(now: number, n = 0): PendingAuthorization {
  return {
    stateHash: `state-hash-${n}`,
    deadline: now + 180_000,
    scope: ['r_profile'],
    redirectUri: 'https://app.example/callback',
    codeVerifier: null,
    serverState: new Secret(`server-state-${n}`),
  };
}

/** One event of every type, for a given time; guards decide which apply. */
export function everyEvent(now: number, n: number): GrantEvent[] {
  return [
    { type: 'authorization.begin', now, pending: pending(now, n) },
    { type: 'authorization.complete', now, receivedAt: now, tokens: tokens(n, now), stateHash: `state-hash-${n}`, order: n + 1 },
    { type: 'authorization.fail', now, error: { code: 'access_denied', message: 'denied' } },
    { type: 'refresh.start', now, owner: OWNER_A, leaseUntil: now + 30_000 },
    { type: 'refresh.start', now, owner: OWNER_B, leaseUntil: now + 30_000 },
    { type: 'refresh.succeed', now, owner: OWNER_A, tokens: tokens(n, now) },
    { type: 'refresh.fail', now, owner: OWNER_A, error: { code: 'provider_unavailable', message: '503' }, retryAt: now + 1000 },
    { type: 'refresh.reject', now, owner: OWNER_A, error: { code: 'invalid_grant', message: 'refused' } },
    { type: 'refresh.clientReject', now, owner: OWNER_A, error: { code: 'invalid_client', message: 'refused' } },
    { type: 'token.reject', now, reason: 'token_revoked' },
    { type: 'tokens.import', now, tokens: tokens(n, now) },
    { type: 'refresh.abandon', now, leaseGraceMs: 0 },
  ];
}
