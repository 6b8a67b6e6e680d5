// Point reads: sqliteStore().get() against a raw better-sqlite3 prepared-statement read of the same row
// on the same connection, in the same run, over 10,000 grants (and the memory store for scale). The
// store's get is the raw read in raw-array mode plus the row mapping (validation, Secrets, freezing).
// Run: node scripts/run-source.mjs scripts/bench/store-read.ts
// Target (issue "Stores"): store.get ≥ 50% of the raw prepared read's calls/s.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStore } from '@tokenvault/core';
import { compareThroughput, table, verdict } from './lib/measure';
import { seedGrantId, seedGrants } from './lib/seed-grants';
import { openStore } from './lib/store-spec';

const GRANTS = 10_000;
const dir = await mkdtemp(join(tmpdir(), 'tokenvault-bench-read-'));
try {
  // Unencrypted, so the store's read is compared with the same bytes (pnpm bench measures the vault with encryption on).
  const store = openStore({ kind: 'sqlite', filename: join(dir, 'grants.db'), keys: null });
  const memory = memoryStore();
  const seeded = await seedGrants(store, GRANTS);
  await seedGrants(memory, GRANTS);
  // Visit ids in a scattered order, the same for every contender.
  const ids = Array.from({ length: GRANTS }, (_, i) => seedGrantId((i * 7_919) % GRANTS));
  const raw = store.sqliteDatabase!.prepare('SELECT * FROM tokenvault_grants WHERE grant_id = ?');
  // The store reads rows as arrays (better-sqlite3's raw mode); shown for transparency, not the target.
  const rawArrays = store.sqliteDatabase!.prepare('SELECT * FROM tokenvault_grants WHERE grant_id = ?').raw(true);

  const results = await compareThroughput({
    'raw better-sqlite3 prepared read': (i) => {
      const row = raw.get(ids[i % GRANTS]!) as { access_token: string } | undefined;
      if (row === undefined) throw new RangeError('missing row');
      return row;
    },
    'raw prepared read, raw-array mode': (i) => {
      const row = rawArrays.get(ids[i % GRANTS]!) as unknown[] | undefined;
      if (row === undefined) throw new RangeError('missing row');
      return row;
    },
    'sqliteStore().get()': async (i) => {
      const record = await store.get(ids[i % GRANTS]!);
      if (record === undefined) throw new RangeError('missing record');
      return record;
    },
    'memoryStore().get()': (i) => memory.get(ids[i % GRANTS]!),
  });

  const rawOps = results['raw better-sqlite3 prepared read']!;
  const storeOps = results['sqliteStore().get()']!;
  console.log(`Point reads, ${GRANTS.toLocaleString('en-US')} grants in one SQLite file (seeded in ${seeded.ms.toFixed(0)} ms; median of 5 rounds of 400 ms)\n`);
  console.log(table(['operation', 'calls/s', 'vs raw read'], Object.entries(results).map(([name, ops]) => [name, ops, `${((ops / rawOps) * 100).toFixed(0)}%`])));
  console.log(`\nsqliteStore().get(): ${verdict(storeOps >= rawOps * 0.5)} ≥ 50% of the raw prepared read (${((storeOps / rawOps) * 100).toFixed(0)}%)`);
  await store.close();
  await memory.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
