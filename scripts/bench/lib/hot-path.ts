/**
 * The hot path: `vault.getAccessToken` on a valid token, for each store, beside the cheapest way to
 * read the same thing without tokenvault (a Map lookup, a raw better-sqlite3 prepared read, a raw pg
 * query), measured in the same run with rounds interleaved (`compareThroughput`).
 */
import { loadavg } from 'node:os';
import { createVault, type GrantStore, memoryStore, providers, type Vault } from '@tokenvault/core';
import { loadPg } from './machine';
import { compareThroughput } from './measure';
import { seedGrantId, seedGrants } from './seed-grants';
import { openStore, tempStore } from './store-spec';

export interface HotPathRow {
  readonly store: string;
  readonly subject: string;
  readonly callsPerSec: number;
  readonly baseline: string;
  readonly baselinePerSec: number;
  /** Time per call relative to the baseline's (1.00 = as fast). */
  readonly timeVsBaseline: number;
  readonly load: number;
}

export interface HotPathOptions {
  readonly grants?: number;
  readonly rounds?: number;
  readonly durationMs?: number;
  /** `TOKENVAULT_KEYS` text for the SQLite and PostgreSQL stores, or null for `encryption: 'none'`. */
  readonly keys: string | null;
  readonly sqliteDir?: string | undefined;
  /** Without it, PostgreSQL is left out. */
  readonly postgresUrl?: string | undefined;
  /** Which stores to measure. Default all three. */
  readonly stores?: readonly ('memory' | 'sqlite' | 'postgres')[];
}

type Op = (i: number) => Promise<unknown> | unknown;

const client = { id: 'mixi', provider: providers.mixi(), clientId: 'bench', clientSecret: 'bench-secret', redirectUri: 'https://app.example/callback' };
// Tokens valid for an hour or two: every call is a hit, never a refresh.
const SEED = { minExpiresInMs: 3_600_000, maxExpiresInMs: 7_200_000 };

/**
 * @example
 * const rows = await measureHotPath({ keys: runKeys(), postgresUrl });
 */
export async function measureHotPath(options: HotPathOptions): Promise<HotPathRow[]> {
  const grants = options.grants ?? 10_000;
  const stores = options.stores ?? ['memory', 'sqlite', 'postgres'];
  // Visit ids in a scattered order, the same for every contender.
  const ids = Array.from({ length: grants }, (_, i) => seedGrantId((i * 7_919) % grants));
  const pick = (i: number) => ids[i % grants]!;
  const rows: HotPathRow[] = [];
  const measure = async (store: string, baseline: string, ops: Record<string, Op>) => {
    const results = await compareThroughput(ops, { rounds: options.rounds ?? 5, durationMs: options.durationMs ?? 400 });
    const base = results[baseline]!;
    for (const [subject, callsPerSec] of Object.entries(results)) {
      if (subject !== baseline) rows.push({ store, subject, callsPerSec, baseline, baselinePerSec: base, timeVsBaseline: base / callsPerSec, load: loadavg()[0] ?? 0 });
    }
  };
  /** A vault with the cache on (filled first: the hot path is a cache hit) and one with it off. */
  const vaults = async (store: GrantStore): Promise<[Vault, Vault]> => {
    const cached = createVault({ store, clients: [client] });
    for (const id of ids) await cached.getAccessToken(id);
    const uncached = createVault({ store, clients: [client], cache: false });
    await check(cached);
    await check(uncached);
    return [cached, uncached];
  };
  // One async call handing back the token, as the baseline is: wrapping it in a checking async function
  // would add a promise (and a hop) on this side only. What the calls return is checked once, below.
  const hit = (vault: Vault, i: number) => vault.getAccessToken(pick(i));
  const check = async (vault: Vault) => {
    for (let i = 0; i < 100; i++) {
      const token = await hit(vault, i);
      if (typeof token !== 'string' || !token.startsWith('at-')) throw new RangeError(`getAccessToken handed back ${typeof token}`);
    }
  };

  if (stores.includes('memory')) {
    const store = memoryStore();
    await seedGrants(store, grants, SEED);
    const map = new Map<string, { token: string; expiresAt: number }>();
    for (let i = 0; i < grants; i++) map.set(seedGrantId(i), { token: `at-${i}`, expiresAt: Date.now() + 3_600_000 });
    const [cached, uncached] = await vaults(store);
    await measure('memory', 'Map lookup + expiry check', {
      'Map lookup + expiry check': async (i) => {
        const entry = await map.get(pick(i));
        if (entry === undefined || entry.expiresAt - 60_000 <= Date.now()) throw new RangeError('expired');
        return entry.token;
      },
      'getAccessToken, cache on': (i) => hit(cached, i),
      'getAccessToken, cache off': (i) => hit(uncached, i),
    });
    await store.close();
  }

  if (stores.includes('sqlite')) {
    const temp = await tempStore('sqlite', { sqliteDir: options.sqliteDir, keys: options.keys });
    const store = openStore(temp.spec);
    try {
      await seedGrants(store, grants, SEED);
      const raw = store.sqliteDatabase!.prepare('SELECT * FROM tokenvault_grants WHERE grant_id = ?');
      const [cached, uncached] = await vaults(store);
      await measure('SQLite', 'raw better-sqlite3 prepared read', {
        'raw better-sqlite3 prepared read': (i) => {
          const row = raw.get(pick(i)) as { access_token: string } | undefined;
          if (row === undefined) throw new RangeError('missing row');
          return row;
        },
        'getAccessToken, cache on': (i) => hit(cached, i),
        'getAccessToken, cache off': (i) => hit(uncached, i),
      });
    } finally {
      await store.close();
      await temp.dispose();
    }
  }

  if (stores.includes('postgres') && options.postgresUrl) {
    const temp = await tempStore('postgres', { postgresUrl: options.postgresUrl, keys: options.keys });
    const store = openStore(temp.spec);
    const pool = new (loadPg().Pool)({ connectionString: options.postgresUrl, max: 1 });
    try {
      await seedGrants(store, grants, SEED);
      const text = `select * from "${(temp.spec as { schema: string }).schema}".tokenvault_grants where grant_id = $1`;
      const [cached, uncached] = await vaults(store);
      await measure('PostgreSQL', 'raw pg query', {
        'raw pg query': async (i) => {
          const { rows: found } = await pool.query(text, [pick(i)]);
          if (found.length !== 1) throw new RangeError('missing row');
          return found[0];
        },
        'getAccessToken, cache on': (i) => hit(cached, i),
        'getAccessToken, cache off': (i) => hit(uncached, i),
      });
    } finally {
      await pool.end();
      await store.close();
      await temp.dispose();
    }
  }
  return rows;
}
