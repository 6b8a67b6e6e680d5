import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { StoreHarness } from '@tokenvault/store-conformance';
import { sqliteStore, type KyselyGrantStore, type SqliteStoreOptions } from '../../src/index';
import { CORRUPT_SCOPE, rawRowToPlain } from './raw-grant-row';
import { UNENCRYPTED } from './unencrypted';

/** A fresh directory for one test's database files; removed by the returned function. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tokenvault-kysely-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A harness on a new SQLite file. The oracle reads through a second, read-only connection: what it
 * sees was committed to the file, not merely held by the store's connection.
 */
export async function sqliteFileHarness(options: Partial<SqliteStoreOptions> = {}): Promise<StoreHarness & { store: KyselyGrantStore; filename: string }> {
  const { dir, remove } = await tempDir();
  const filename = join(dir, 'grants.db');
  const store = sqliteStore({ filename, ...UNENCRYPTED, ...options });
  await store.ready();
  const withOracle = <T>(use: (db: Database.Database) => T): T => {
    const db = new Database(filename, { readonly: true });
    try {
      return use(db);
    } finally {
      db.close();
    }
  };
  return {
    store,
    filename,
    rawRead: async (grantId) =>
      rawRowToPlain(withOracle((db) => db.prepare('select * from tokenvault_grants where grant_id = ?').get(grantId) as Record<string, unknown> | undefined)),
    corrupt: async (grantId) => {
      const db = new Database(filename);
      try {
        db.prepare('update tokenvault_grants set scope = ? where grant_id = ?').run(CORRUPT_SCOPE, grantId);
      } finally {
        db.close();
      }
    },
    dispose: async () => {
      await store.close();
      await remove();
    },
  };
}

/** A harness on a private `:memory:` database: the oracle can only share the store's own connection. */
export async function sqliteMemoryHarness(): Promise<StoreHarness> {
  const store = sqliteStore({ filename: ':memory:' });
  await store.ready();
  const handle = store.sqliteDatabase as Database.Database;
  return {
    store,
    rawRead: async (grantId) =>
      rawRowToPlain(handle.prepare('select * from tokenvault_grants where grant_id = ?').get(grantId) as Record<string, unknown> | undefined),
    corrupt: async (grantId) => {
      handle.prepare('update tokenvault_grants set scope = ? where grant_id = ?').run(CORRUPT_SCOPE, grantId);
    },
    dispose: () => store.close(),
  };
}
