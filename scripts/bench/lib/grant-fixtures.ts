/**
 * Authorized grant records for benchmarks, built through the real machine (begin → complete) so they
 * are exactly what the vault would have written.
 */
import { applyGrantEvent, createGrantRecord, type GrantRecord, Secret } from '@tokenvault/core';

export function authorizedRecord(grantId: string, client: string, now: number, expiresInMs = 900_000): GrantRecord {
  const fresh = createGrantRecord({ grantId, client, now });
  const begun = applyGrantEvent(fresh, {
    type: 'authorization.begin',
    now,
    pending: {
      stateHash: `bench-${grantId}`,
      deadline: now + 180_000,
      scope: ['r_profile'],
      redirectUri: 'https://app.example/callback',
      codeVerifier: null,
      serverState: null,
    },
  });
  const done = applyGrantEvent(begun!, {
    type: 'authorization.complete',
    now,
    tokens: {
      accessToken: new Secret(`at-${grantId}`),
      tokenType: 'Bearer',
      expiresAt: now + expiresInMs,
      refreshToken: new Secret(`rt-${grantId}`),
      scope: ['r_profile'],
      idToken: null,
    },
  });
  return { ...done!, version: 1 };
}
