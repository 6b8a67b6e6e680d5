import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe } from 'vitest';
import type { StoreHarness } from '@tokenvault/store-conformance';
import { postgresStore, type KyselyGrantStore, type StoreEncryption } from '../../src/index';
import { UNENCRYPTED } from './unencrypted';
import { CORRUPT_SCOPE, rawRowToPlain } from './raw-grant-row';

/** Where the PostgreSQL tests connect: `.ci/run` sets it to the local server. */
export const POSTGRES_URL = process.env.TOKENVAULT_TEST_POSTGRES_URL;

/**
 * `describe` when TOKENVAULT_TEST_POSTGRES_URL is set; otherwise a loud banner and `describe.skip`,
 * so a green run without PostgreSQL never passes for a tested one.
 */
export function describePostgres(name: string, body: () => void): void {
  if (POSTGRES_URL) {
    describe(name, body);
    return;
  }
  console.warn(
    [
      '',
      '################################################################################',
      `#  PostgreSQL tests SKIPPED: ${name}`,
      '#  TOKENVAULT_TEST_POSTGRES_URL is not set, so nothing here ran against PostgreSQL.',
      '#  Set it (e.g. postgres://root@127.0.0.1:5432/test) or run .ci/run, which does.',
      '################################################################################',
      '',
    ].join('\n'),
  );
  describe.skip(name, body);
}

/** A random schema name: every harness gets its own, dropped afterwards, so test files run in parallel. */
export function randomSchema(): string {
  return `tv_test_${randomBytes(6).toString('hex')}`;
}

/** Runs `use` on a connection of its own (the oracle's, never the store's pool). */
export async function withClient<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates the schema before a store migrates into it. Under heavy parallel load the migrator's own
 * schema creation was seen to race its first table ("3F000 schema does not exist"); creating it first,
 * on its own connection, takes that race out of the tests (the store still creates a missing schema).
 */
export async function createSchema(schema: string): Promise<void> {
  await withClient((c) => c.query(`create schema if not exists "${schema}"`));
}

export async function dropSchema(schema: string): Promise<void> {
  await withClient((c) => c.query(`drop schema if exists "${schema}" cascade`));
}

/** A harness on a fresh schema of the test database. */
export async function postgresHarness(options: { encryption?: StoreEncryption } = {}): Promise<StoreHarness & { store: KyselyGrantStore; schema: string }> {
  const schema = randomSchema();
  await createSchema(schema);
  const store = postgresStore({ connectionString: POSTGRES_URL as string, schema, maxConnections: 8, ...UNENCRYPTED, ...options });
  await store.ready();
  const table = `"${schema}".tokenvault_grants`;
  return {
    store,
    schema,
    rawRead: (grantId) =>
      withClient(async (c) => rawRowToPlain((await c.query(`select * from ${table} where grant_id = $1`, [grantId])).rows[0] as Record<string, unknown> | undefined)),
    corrupt: (grantId) => withClient(async (c) => void (await c.query(`update ${table} set scope = $1 where grant_id = $2`, [CORRUPT_SCOPE, grantId]))),
    dispose: async () => {
      await store.close();
      await dropSchema(schema);
    },
  };
}
