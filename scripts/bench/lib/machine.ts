/**
 * What a benchmark report says about the machine it ran on: CPU, memory, Node, PostgreSQL, load, and
 * what one durable SQLite commit costs on the disk and on tmpfs (the figure that explains most of the
 * difference between SQLite runs on different machines).
 */
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Secret } from '@tokenvault/core';
import { seedGrantId, seedGrants } from './seed-grants';
import { openStore, tempStore } from './store-spec';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  readonly postgres: string | undefined;
}

export async function machineInfo(postgresUrl: string | undefined): Promise<MachineInfo> {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGb: totalmem() / 1024 ** 3,
    os: `${osType()} ${release()}`,
    node: process.version,
    postgres: postgresUrl === undefined ? undefined : await postgresVersion(postgresUrl).catch((e: unknown) => `unreachable (${(e as Error).message})`),
  };
}

/** The 1, 5 and 15-minute load averages, as printed beside every figure. */
export function loadText(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

/** pg as @tokenvault/kysely has it (the repository root does not depend on pg itself). */
export function loadPg(): PgModule {
  return createRequire(import.meta.resolve('@tokenvault/kysely'))('pg') as PgModule;
}

export interface PgModule {
  Pool: new (config: { connectionString: string; max: number }) => {
    query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
    end(): Promise<void>;
  };
}

async function postgresVersion(url: string): Promise<string> {
  const pool = new (loadPg().Pool)({ connectionString: url, max: 1 });
  try {
    const { rows } = await pool.query('show server_version');
    const { rows: sync } = await pool.query('show synchronous_commit');
    return `PostgreSQL ${String(rows[0]?.server_version)} (synchronous_commit ${String(sync[0]?.synchronous_commit)})`;
  } finally {
    await pool.end();
  }
}

/**
 * Milliseconds per durable write on a SQLite file in `dir`: a point read and a compare-and-set,
 * sequentially, with the store's defaults (WAL, synchronous FULL: one fsync per commit).
 */
export async function sqliteCommitMs(dir: string, writes = 150): Promise<number> {
  const temp = await tempStore('sqlite', { sqliteDir: dir, keys: null });
  const store = openStore(temp.spec);
  try {
    await seedGrants(store, writes);
    const t0 = performance.now();
    for (let i = 0; i < writes; i++) {
      const record = (await store.get(seedGrantId(i)))!;
      await store.compareAndSet({ ...record, version: record.version + 1, accessToken: new Secret(`probe-${i}`) }, record.version);
    }
    return (performance.now() - t0) / writes;
  } finally {
    await store.close();
    await temp.dispose();
  }
}

