import { Secret } from '../../src/util/secret';
import type { GrantRecord } from '../../src/store/grant-store';

/** A valid authorized grant for core's own store tests (other packages use @tokenvault/store-conformance's builder). */
export function grantRecord(overrides: Partial<GrantRecord> = {}): GrantRecord {
  return {
    grantId: 'alice',
    client: 'mixi',
    state: 'authorized',
    version: 1,
    scope: ['r_profile'],
    accessToken: new Secret('access-token-value'),
    accessTokenExpiresAt: 1_700_000_900_000,
    refreshToken: new Secret('refresh-token-value'),
    idToken: null,
    tokenType: 'Bearer',
    tokensIssuedAt: 1_700_000_000_000,
    authorizationOrder: null,
    pending: null,
    lease: null,
    reauthReason: null,
    lastError: null,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...overrides,
  };
}
