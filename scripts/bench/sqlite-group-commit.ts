// Group commit on SQLite: compare-and-sets asked for in the same turn of the event loop share one
// transaction and one commit (`SqliteFastPath.compareAndSet`). This measures `store.compareAndSet`
// (encrypted store, WAL, synchronous FULL) with W writes asked for at once, W = 1 (every write its own
// commit, as before group commit) up to 128, on tmpfs and on the temp directory's disk.
// Run: node scripts/run-source.mjs scripts/bench/sqlite-group-commit.ts [--writes 8000] [--no-disk]
// No target of its own: it explains the sweep's and the storms' write cost (issue 9).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { GrantRecord } from '@tokenvault/core';
import { table } from './lib/measure';
import { seedGrantId, seedGrants } from './lib/seed-grants';
import { defaultSqliteDir, openStore, runKeys } from './lib/store-spec';

const { values } = parseArgs({ options: { writes: { type: 'string', default: '8000' }, 'no-disk': { type: 'boolean', default: false } } });
const WRITES = Number(values.writes);
const WAVES = [1, 2, 8, 32, 128];
const keys = runKeys();

async function measure(where: string): Promise<(string | number)[][]> {
  const dir = mkdtempSync(join(where, 'tokenvault-bench-group-'));
  const store = openStore({ kind: 'sqlite', filename: join(dir, 'grants.db'), keys });
  try {
    await seedGrants(store, WRITES);
    const current: GrantRecord[] = [];
    for (let i = 0; i < WRITES; i++) current.push((await store.get(seedGrantId(i)))!);
    const rows: (string | number)[][] = [];
    let aloneUs = 0;
    for (const wave of WAVES) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let first = 0; first < WRITES; first += wave) {
        const batch = current.slice(first, first + wave);
        // What a lease or a refresh changes: state-like fields and the version; tokens as they were.
        const next = batch.map((r) => ({ ...r, updatedAt: r.updatedAt + 1, version: r.version + 1 }));
        const written = await Promise.all(next.map((r, i) => store.compareAndSet(r, batch[i]!.version)));
        if (written.some((w) => !w)) throw new Error('a compare-and-set missed: the benchmark is wrong');
        for (let i = 0; i < next.length; i++) current[first + i] = next[i]!;
      }
      const wallUs = ((performance.now() - started) * 1000) / WRITES;
      const used = process.cpuUsage(cpu);
      const cpuUs = (used.user + used.system) / WRITES;
      if (wave === 1) aloneUs = wallUs;
      rows.push([wave, Math.round(1e6 / wallUs), wallUs.toFixed(1), cpuUs.toFixed(1), `${(aloneUs / wallUs).toFixed(2)}×`]);
    }
    return rows;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const places = [defaultSqliteDir(), ...(values['no-disk'] || defaultSqliteDir() === tmpdir() ? [] : [tmpdir()])];
for (const where of places) {
  console.log(`\nstore.compareAndSet on SQLite in ${where} (AES-256-GCM, WAL, synchronous FULL), ${WRITES.toLocaleString('en-US')} writes, W asked for at once:\n`);
  console.log(table(['W', 'writes/s', 'wall µs per write', 'CPU µs per write', 'vs W = 1'], await measure(where)));
}
