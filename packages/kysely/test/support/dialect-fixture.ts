import { join } from 'node:path';
import Database from 'better-sqlite3';
import { silentLogger } from '@tokenvault/core';
import { postgresStore, type RekeyableKyselyStore, sqliteStore, type StoreEncryption } from '../../src/index';
import { dropSchema, POSTGRES_URL, randomSchema, withClient } from './postgres-harness';
import { tempDir } from './sqlite-harness';

/**
 * One database (a SQLite file or a PostgreSQL schema) that several stores can open, each with its own
 * key ring, plus raw SQL around them: what the tamper, rekey and rotation tests need on both dialects.
 */
export interface DialectFixture {
  readonly dialect: 'sqlite' | 'postgres';
  /** `{ filename }` or `{ connectionString, schema }`: enough for another process to open the same tables. */
  readonly location: Readonly<Record<string, string>>;
  open(encryption: StoreEncryption): RekeyableKyselyStore;
  /** Raw SQL; `?` placeholders (rewritten to `$n` for PostgreSQL); table names without schema. */
  sql(text: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  dispose(): Promise<void>;
}

export async function sqliteFixture(): Promise<DialectFixture> {
  const { dir, remove } = await tempDir();
  const filename = join(dir, 'grants.db');
  const stores: RekeyableKyselyStore[] = [];
  return {
    dialect: 'sqlite',
    location: { filename },
    open(encryption) {
      const store = sqliteStore({ filename, encryption, logger: silentLogger });
      stores.push(store);
      return store;
    },
    async sql(text, params = []) {
      const db = new Database(filename);
      try {
        const statement = db.prepare(text);
        return statement.reader ? (statement.all(...params) as Record<string, unknown>[]) : (statement.run(...params), []);
      } finally {
        db.close();
      }
    },
    async dispose() {
      for (const store of stores) await store.close();
      await remove();
    },
  };
}

export async function postgresFixture(): Promise<DialectFixture> {
  const schema = randomSchema();
  const connectionString = POSTGRES_URL as string;
  const stores: RekeyableKyselyStore[] = [];
  return {
    dialect: 'postgres',
    location: { connectionString, schema },
    open(encryption) {
      const store = postgresStore({ connectionString, schema, maxConnections: 4, encryption, logger: silentLogger });
      stores.push(store);
      return store;
    },
    sql(text, params = []) {
      let n = 0;
      const qualified = text.replace(/\btokenvault_(grants|clients)\b/g, `"${schema}".tokenvault_$1`).replace(/\?/g, () => `$${++n}`);
      return withClient(async (c) => (await c.query(qualified, [...params])).rows as Record<string, unknown>[]);
    },
    async dispose() {
      for (const store of stores) await store.close();
      await dropSchema(schema);
    },
  };
}
