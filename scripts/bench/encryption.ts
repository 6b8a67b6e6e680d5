// Encryption at rest: what it costs on the hot path, and how fast rekey moves rows.
// Run: node scripts/run-source.mjs scripts/bench/encryption.ts [grants-for-rekey]
// Targets (issue "Security"): with encryption on, getAccessToken on a valid token (SQLite, cache on)
// within 10% of the figure without encryption; rekey moves at least 20,000 rows/s.
//
// The files live in /dev/shm when there is one, as in the benchmark suite (`lib/store-spec.ts`): this
// machine's disk takes 0.4 to 7 ms per fsync from one minute to the next, which would measure the disk,
// not the engine. A rekey commits (and fsyncs) once per page; one more run on the temp directory's disk
// shows what that costs there.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { aesGcmCodec, createVault, formatEncryptionKey, generateEncryptionKey, providers, silentLogger, type Vault } from '@tokenvault/core';
import { type RekeyableKyselyStore, sqliteStore, type StoreEncryption } from '@tokenvault/kysely';
import { compareThroughput, table, verdict } from './lib/measure';
import { seedGrantId, seedGrants } from './lib/seed-grants';
import { defaultSqliteDir } from './lib/store-spec';

const GRANTS = 10_000;
const REKEY_GRANTS = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(defaultSqliteDir(), 'tokenvault-bench-encryption-'));
const diskDir = dir.startsWith(tmpdir()) ? undefined : mkdtempSync(join(tmpdir(), 'tokenvault-bench-encryption-'));
const A = formatEncryptionKey(generateEncryptionKey({ id: 'A' }));
const B = formatEncryptionKey(generateEncryptionKey({ id: 'B' }));
const client = { id: 'mixi', provider: providers.mixi(), clientId: 'bench', clientSecret: 'bench-secret', redirectUri: 'https://app.example/callback' };

async function openSeeded(name: string, encryption: StoreEncryption, n: number, where = dir): Promise<RekeyableKyselyStore> {
  const store = sqliteStore({ filename: join(where, `${name}.db`), encryption, logger: silentLogger });
  await seedGrants(store, n, { minExpiresInMs: 3_600_000, maxExpiresInMs: 7_200_000 });
  return store;
}

try {
  // ── getAccessToken, SQLite, cache on and off, with and without encryption ──────────────────────
  const plainStore = await openSeeded('plain', 'none', GRANTS);
  const keyedStore = await openSeeded('keyed', { keys: A }, GRANTS);
  const vaults: Record<string, Vault> = {
    'no encryption, cache on': createVault({ store: plainStore, clients: [client] }),
    'encryption, cache on': createVault({ store: keyedStore, clients: [client] }),
    'no encryption, cache off': createVault({ store: plainStore, clients: [client], cache: false }),
    'encryption, cache off': createVault({ store: keyedStore, clients: [client], cache: false }),
  };
  const ids = Array.from({ length: GRANTS }, (_, i) => seedGrantId(i));
  // Each vault must hand out the token it was seeded with (encrypted or not), and the cached ones
  // hold every grant before timing starts: "a valid token, cache on" is the steady state.
  for (const vault of Object.values(vaults)) if ((await vault.getAccessToken(ids[7]!)) !== 'at-7-' + ((7 * 2_654_435_761) >>> 0)) throw new Error('wrong token');
  for (const name of ['no encryption, cache on', 'encryption, cache on']) for (const id of ids) await vaults[name]!.getAccessToken(id);
  const results = await compareThroughput(
    Object.fromEntries(Object.entries(vaults).map(([name, vault]) => [name, (i: number) => vault.getAccessToken(ids[i % GRANTS]!)])),
    { rounds: 11, durationMs: 300 },
  );
  console.log(`getAccessToken on a valid token, SQLite file, ${GRANTS.toLocaleString('en-US')} grants (median of 11 interleaved rounds of 300 ms)\n`);
  console.log(
    table(
      ['vault', 'calls/s', 'vs no encryption'],
      Object.entries(results).map(([name, ops]) => {
        const base = results[name.replace(/^encryption/, 'no encryption')]!;
        return [name, ops, name.startsWith('encryption') ? `${((ops / base) * 100).toFixed(1)}%` : '—'];
      }),
    ),
  );
  const cacheOnRatio = results['encryption, cache on']! / results['no encryption, cache on']!;
  console.log(`\ncache on: encryption at ${(cacheOnRatio * 100).toFixed(1)}% of the unencrypted figure: ${verdict(cacheOnRatio >= 0.9)} within 10%`);
  await Promise.all(Object.values(vaults).map((v) => v.close().catch(() => undefined)));

  // ── the codec alone ─────────────────────────────────────────────────────────────────────────────
  const codec = aesGcmCodec({ keys: `${B},${A}` });
  const at = { table: 'grants', column: 'access_token', key: seedGrantId(1) } as const;
  const sealed = aesGcmCodec({ keys: A }).encode('at-1-2654435761', at);
  const codecOps = await compareThroughput({ encode: () => codec.encode('at-1-2654435761', at), decode: () => codec.decode(sealed, at) }, { rounds: 5, durationMs: 300 });
  console.log(`\ncodec: encode ${(1e6 / codecOps.encode!).toFixed(1)} µs, decode ${(1e6 / codecOps.decode!).toFixed(1)} µs per value (a rekeyed grant with 2 secrets costs 2 of each)`);

  // ── rekey ───────────────────────────────────────────────────────────────────────────────────────
  const rekey = async (name: string, where = dir, workers?: number): Promise<number> => {
    const seeding = performance.now();
    const underA = await openSeeded(name, { keys: A }, REKEY_GRANTS, where);
    await underA.close();
    const seededMs = performance.now() - seeding;
    const ring = sqliteStore({ filename: join(where, `${name}.db`), encryption: { keys: `${B},${A}` } });
    await ring.ready();
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const summary = await ring.rekey({ pageSize: 1_000, ...(workers !== undefined && { workers }) });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const check = await ring.rekey({ pageSize: 1_000 });
    await ring.close();
    if (summary.grants.rekeyed !== REKEY_GRANTS || check.grants.rekeyed !== 0) throw new Error(`rekey moved ${summary.grants.rekeyed}, then ${check.grants.rekeyed}`);
    const rowsPerSecond = summary.grants.rekeyed / seconds;
    console.log(
      `rekey A → B, ${name}: ${summary.grants.rekeyed.toLocaleString('en-US')} rows in ${seconds.toFixed(2)} s = ${Math.round(rowsPerSecond).toLocaleString('en-US')} rows/s; ` +
        `${cpuSeconds.toFixed(2)} CPU s (all threads) = ${Math.round(summary.grants.rekeyed / cpuSeconds).toLocaleString('en-US')} rows per CPU second, ` +
        `${((cpuSeconds * 1e6) / summary.grants.rekeyed).toFixed(1)} CPU µs per row (seeded in ${(seededMs / 1000).toFixed(1)} s)`,
    );
    return rowsPerSecond;
  };
  // Three runs, each on a freshly seeded file: the first also pays for compiling the codec and rekey
  // paths (a real rekey of a large table is past that after its first pages); the verdict takes the median.
  console.log(
    `\nSQLite file in ${dir}, ${REKEY_GRANTS.toLocaleString('en-US')} grants, 2 secrets each, pages of 1,000, ` +
      `default worker threads (${Math.min(8, availableParallelism())}; re-encryption off the main thread, pipelined with its reads and writes):`,
  );
  const runs = [await rekey('run 1'), await rekey('run 2'), await rekey('run 3')];
  const medianRate = [...runs].sort((x, y) => x - y)[1]!;
  console.log('the same with workers: 0 (everything on the main thread, as before worker threads), for comparison:');
  await rekey('one thread', dir, 0);
  if (diskDir !== undefined) {
    console.log(`the same on this machine's disk (${diskDir}), default workers, for comparison:`);
    await rekey('disk', diskDir);
  }
  console.log(`\nrekey: ${verdict(medianRate >= 20_000)} ≥ 20,000 rows/s (median of 3 runs in ${dir}: ${Math.round(medianRate).toLocaleString('en-US')} rows/s)`);
  console.log(`machine load average during the run: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (wall-clock figures shrink with it; CPU-second figures much less)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (diskDir !== undefined) rmSync(diskDir, { recursive: true, force: true });
}
