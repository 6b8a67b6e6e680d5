import type { StoreFactory } from '../../core/test/sim/engine';
import { postgresStore, sqliteStore } from '../src/index';
import { createSchema, dropSchema, POSTGRES_URL, randomSchema } from './support/postgres-harness';
import { UNENCRYPTED } from './support/unencrypted';

/**
 * The race-proof simulation (packages/core/test/sim) over the Kysely stores: a fresh database per
 * simulated world, an in-memory SQLite one or a new PostgreSQL schema (dropped afterwards). The records
 * hold core's `Secret`, so these runs use the real engine (not a mutant copy).
 */
export function kyselyStoreFactory(dialect: 'sqlite' | 'postgres'): StoreFactory {
  if (dialect === 'sqlite') {
    return async () => {
      const store = sqliteStore({ filename: ':memory:', ...UNENCRYPTED });
      await store.ready();
      return { store, dispose: () => store.close() };
    };
  }
  const connectionString = POSTGRES_URL;
  if (!connectionString) throw new Error('TOKENVAULT_TEST_POSTGRES_URL is not set');
  return async () => {
    const schema = randomSchema();
    await createSchema(schema);
    const store = postgresStore({ connectionString, schema, maxConnections: 2, ...UNENCRYPTED });
    await store.ready();
    return {
      store,
      dispose: async () => {
        await store.close();
        await dropSchema(schema);
      },
    };
  };
}
