/**
 * Which store a benchmark or a worker process opens, as plain JSON (so it crosses a process
 * boundary in a worker's config file), and the one function that opens it. Every process of a run
 * opens the same spec: one SQLite file, or one PostgreSQL schema.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEncryptionKey, generateEncryptionKey, silentLogger } from '@tokenvault/core';
import { type KyselyGrantStore, postgresStore, sqliteStore } from '@tokenvault/kysely';

export type StoreKind = 'sqlite' | 'postgres';

interface CommonSpec {
  /**
   * `TOKENVAULT_KEYS` text (AES-256-GCM at rest, the recommended setting), or null for the explicit
   * opt-out `encryption: 'none'` (its warning silenced).
   */
  readonly keys: string | null;
}

export type StoreSpec =
  | (CommonSpec & { readonly kind: 'sqlite'; readonly filename: string })
  | (CommonSpec & { readonly kind: 'postgres'; readonly connectionString: string; readonly schema: string; readonly maxConnections?: number });

/**
 * Opens the store a spec names, the way an application would (`sqliteStore` / `postgresStore` with
 * their defaults: WAL + synchronous FULL, a pool of 10).
 *
 * @example
 * const store = openStore({ kind: 'sqlite', filename: '/tmp/x.db', keys: null });
 */
export function openStore(spec: StoreSpec): KyselyGrantStore {
  const encryption = spec.keys === null ? ({ encryption: 'none', logger: silentLogger } as const) : { encryption: { keys: spec.keys } };
  if (spec.kind === 'sqlite') return sqliteStore({ filename: spec.filename, ...encryption });
  return postgresStore({
    connectionString: spec.connectionString,
    schema: spec.schema,
    ...(spec.maxConnections === undefined ? {} : { maxConnections: spec.maxConnections }),
    ...encryption,
  });
}

/** A fresh key ring for one run, in the `TOKENVAULT_KEYS` format. */
export function runKeys(): string {
  return formatEncryptionKey(generateEncryptionKey({ id: 'bench' }));
}

/**
 * Where SQLite files go by default: tmpfs (`/dev/shm`) when the machine has one, so figures measure
 * the engine rather than the disk's fsync (each commit is fsynced: `synchronous = FULL`); otherwise
 * the temp directory. Benchmarks that want the disk say so (`--sqlite-dir`).
 */
export function defaultSqliteDir(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

export interface TempStore {
  readonly spec: StoreSpec;
  /** Where it lives, for reports: the SQLite directory or the PostgreSQL schema. */
  readonly where: string;
  /** Deletes the file (and its WAL) or drops the schema. */
  dispose(): Promise<void>;
}

/**
 * A new, empty store for one run: a SQLite file in a fresh directory, or a fresh random schema in
 * the PostgreSQL database (dropped by `dispose`).
 *
 * @example
 * const { spec, dispose } = await tempStore('postgres', { postgresUrl, keys: runKeys() });
 */
export async function tempStore(
  kind: StoreKind,
  options: { readonly sqliteDir?: string | undefined; readonly postgresUrl?: string | undefined; readonly keys: string | null; readonly maxConnections?: number },
): Promise<TempStore> {
  if (kind === 'sqlite') {
    const base = options.sqliteDir ?? defaultSqliteDir();
    const dir = await mkdtemp(join(base, 'tokenvault-bench-'));
    return {
      spec: { kind, filename: join(dir, 'grants.db'), keys: options.keys },
      where: base,
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  }
  if (!options.postgresUrl) throw new RangeError('a PostgreSQL store needs a connection string');
  const schema = `tv_bench_${randomBytes(6).toString('hex')}`;
  const spec: StoreSpec = {
    kind,
    connectionString: options.postgresUrl,
    schema,
    keys: options.keys,
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
  };
  return {
    spec,
    where: `schema ${schema}`,
    dispose: async () => {
      const store = openStore(spec);
      try {
        await store.db.schema.dropSchema(schema).ifExists().cascade().execute();
      } finally {
        await store.close();
      }
    },
  };
}
