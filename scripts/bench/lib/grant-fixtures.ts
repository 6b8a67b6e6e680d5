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
    receivedAt: now,
    stateHash: `bench-${grantId}`,
    order: 1,
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

/** A grant as the emulator minted it (`POST /_emulator/grants/batch`): the tokens a store must hold. */
export interface MintedTokens {
  readonly grantId: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Seconds, from the emulator's answer. */
  readonly expiresIn: number;
}

/**
 * Records for grants the emulator minted at virtual time `issuedAt`, with the emulator's own tokens
 * and expiry, in the exact shape the vault writes (one template built through the machine, then the
 * tokens swapped in). The vault's grant id is the emulator's, so the emulator's per-grant counters
 * name the same grants.
 *
 * @example
 * await store.createMany(mintedGrantRecords(minted, 'mixi', clock.now));
 */
export function* mintedGrantRecords(minted: Iterable<MintedTokens>, client: string, issuedAt: number): Generator<GrantRecord> {
  const template = authorizedRecord('template', client, issuedAt);
  for (const grant of minted) {
    yield {
      ...template,
      grantId: grant.grantId,
      accessToken: new Secret(grant.accessToken),
      refreshToken: new Secret(grant.refreshToken),
      accessTokenExpiresAt: issuedAt + grant.expiresIn * 1000,
    };
  }
}
