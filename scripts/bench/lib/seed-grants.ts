/**
 * Seeding for store and vault benchmarks: `n` authorized grants, written through the store's bulk path
 * when it has one (`createMany`: one transaction per chunk, a prepared insert on SQLite) and through
 * `create` otherwise. Records have the exact shape the vault writes (one template built through the
 * grant machine, then varied per grant), with expiries spread so that expiry order differs from id order.
 */
import { performance } from 'node:perf_hooks';
import { Secret, type GrantRecord, type GrantStore } from '@tokenvault/core';
import { authorizedRecord } from './grant-fixtures';

export interface SeedGrantsOptions {
  /** Grant ids are `${idPrefix}${i}` with i zero-padded to 8 digits. Default `grant-`. */
  readonly idPrefix?: string;
  /** Client id of every grant. Default `mixi`. */
  readonly client?: string;
  /** Issue time, epoch ms. Default `Date.now()`. */
  readonly now?: number;
  /** Access tokens expire between `now + minExpiresInMs` and `now + maxExpiresInMs`. Defaults 60 s and 15 min. */
  readonly minExpiresInMs?: number;
  readonly maxExpiresInMs?: number;
  /** Records per transaction on the bulk path. Default 10,000. */
  readonly chunkSize?: number;
}

export interface SeedResult {
  readonly inserted: number;
  readonly ms: number;
}

/** The id of the i-th seeded grant. */
export function seedGrantId(i: number, idPrefix = 'grant-'): string {
  return `${idPrefix}${String(i).padStart(8, '0')}`;
}

/** The i-th seeded grant's access token value (so a benchmark can check what it read). */
export function seedAccessToken(i: number): string {
  return `at-${i}-${(i * 2_654_435_761) >>> 0}`;
}

/** The seeded records, generated lazily (a million records never sit in memory at once). */
export function* seededGrantRecords(n: number, options: SeedGrantsOptions = {}): Generator<GrantRecord> {
  const now = options.now ?? Date.now();
  const client = options.client ?? 'mixi';
  const min = options.minExpiresInMs ?? 60_000;
  const spread = Math.max(1, (options.maxExpiresInMs ?? 900_000) - min);
  const template = authorizedRecord(seedGrantId(0, options.idPrefix), client, now);
  for (let i = 0; i < n; i++) {
    yield {
      ...template,
      grantId: seedGrantId(i, options.idPrefix),
      accessToken: new Secret(seedAccessToken(i)),
      refreshToken: new Secret(`rt-${i}`),
      // A multiplicative hash spreads expiries without clustering them by id.
      accessTokenExpiresAt: now + min + (((i * 2_654_435_761) >>> 0) % spread),
    };
  }
}

interface BulkStore {
  createMany(records: Iterable<GrantRecord>, options?: { chunkSize?: number }): Promise<number>;
}

function hasBulkPath(store: GrantStore): store is GrantStore & BulkStore {
  return typeof (store as Partial<BulkStore>).createMany === 'function';
}

/**
 * Writes `n` authorized grants into `store` and says how long it took.
 *
 * @example
 * const { inserted, ms } = await seedGrants(sqliteStore({ filename }), 1_000_000);
 */
export async function seedGrants(store: GrantStore, n: number, options: SeedGrantsOptions = {}): Promise<SeedResult> {
  const started = performance.now();
  let inserted = 0;
  if (hasBulkPath(store)) {
    inserted = await store.createMany(seededGrantRecords(n, options), { chunkSize: options.chunkSize ?? 10_000 });
  } else {
    for (const record of seededGrantRecords(n, options)) if (await store.create(record)) inserted++;
  }
  return { inserted, ms: performance.now() - started };
}
