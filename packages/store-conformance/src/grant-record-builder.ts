import { randomUUID } from 'node:crypto';
import { Secret, type ClientRecord, type GrantRecord } from '@tokenvault/core';

/**
 * Builders for valid records, for tests in any package. Times are fixed epoch milliseconds around
 * {@link BASE_TIME}, so tests never depend on the wall clock.
 */

/** 2023-11-14T22:13:20Z: the fixed "now" of records built here. */
export const BASE_TIME = 1_700_000_000_000;

/**
 * A grant id no other test uses: `prefix` plus a random suffix.
 *
 * @example
 * uniqueGrantId('alice'); // 'alice-3f9a1c2e'
 */
export function uniqueGrantId(prefix = 'grant'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * A valid grant record: by default an `authorized` grant (version 1) whose access token expires an hour
 * after {@link BASE_TIME}, with a fresh unique id. `overrides` replace fields; when they make the state
 * `refreshing` or `reauthRequired` without saying more, a lease or a reason is filled in so the record
 * stays valid.
 *
 * @example
 * const record = makeGrantRecord({ grantId: 'alice', accessTokenExpiresAt: BASE_TIME + 60_000 });
 * await store.create(record);
 */
export function makeGrantRecord(overrides: Partial<GrantRecord> = {}): GrantRecord {
  const state = overrides.state ?? 'authorized';
  const grantId = overrides.grantId ?? uniqueGrantId();
  const base: GrantRecord = {
    grantId,
    client: 'mixi',
    state,
    version: 1,
    scope: ['r_profile', 'r_voice'],
    accessToken: new Secret(`at-${randomUUID()}`),
    accessTokenExpiresAt: BASE_TIME + 3_600_000,
    refreshToken: new Secret(`rt-${randomUUID()}`),
    idToken: null,
    tokenType: 'Bearer',
    tokensIssuedAt: BASE_TIME,
    authorizationOrder: state === 'unauthorized' ? null : 1,
    pending: null,
    lease: state === 'refreshing' ? { owner: 'worker-1', until: BASE_TIME + 30_000 } : null,
    reauthReason: state === 'reauthRequired' ? 'refresh_token_rejected' : null,
    lastError: null,
    createdAt: BASE_TIME,
    updatedAt: BASE_TIME,
  };
  return { ...base, ...overrides };
}

/**
 * The record a writer would compare-and-set after `record`: `changes` applied and the version one up.
 *
 * @example
 * const leased = nextGrantRecord(record, { state: 'refreshing', lease: { owner: 'w1', until: BASE_TIME + 30_000 } });
 * await store.compareAndSet(leased, record.version); // true
 */
export function nextGrantRecord(record: GrantRecord, changes: Partial<GrantRecord> = {}): GrantRecord {
  return { ...record, updatedAt: record.updatedAt + 1, ...changes, version: record.version + 1 };
}

/**
 * A valid client record (the Partner Dashboard's consumer key and secret).
 *
 * @example
 * await store.putClient(makeClientRecord({ id: 'mixi' }));
 */
export function makeClientRecord(overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    id: overrides.id ?? `client-${randomUUID().slice(0, 8)}`,
    provider: 'mixi',
    providerOptions: {},
    clientId: `ck-${randomUUID().slice(0, 12)}`,
    clientSecret: new Secret(`cs-${randomUUID()}`),
    redirectUri: 'https://app.example/callback',
    createdAt: BASE_TIME,
    updatedAt: BASE_TIME,
    ...overrides,
  };
}
