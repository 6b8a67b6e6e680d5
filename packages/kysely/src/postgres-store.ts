import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { InvalidArgumentError, type Clock } from '@tokenvault/core';
// security: encryption at rest and rekey
import { RekeyableKyselyStore } from './rekeyable-kysely-store';
import { resolveStoreEncryption, type StoreEncryption, type StoreWarningLogger } from './store-encryption';
import type { SecretCodec } from './secret-codec';
import type { StoreRetryOptions } from './store-retry';

interface PostgresStoreCommonOptions {
  /** Schema holding the tables (created when missing). Default: the connection's `search_path`. */
  readonly schema?: string;
  /** Prefix of tokenvault's tables. Default `tokenvault_`. */
  readonly tablePrefix?: string;
  /**
   * How secrets are protected at rest: `{ keys }` (AES-256-GCM under a key ring, e.g. `{ keys:
   * process.env.TOKENVAULT_KEYS }`), `{ codec }`, or `'none'` (logged as a warning). Required. See
   * {@link StoreEncryption}.
   */
  readonly encryption?: StoreEncryption;
  /** Lower-level form of `encryption: { codec }`. Give one or the other. */
  readonly codec?: SecretCodec;
  /** Where the warning for `encryption: 'none'` goes. Default: `console.warn`. */
  readonly logger?: StoreWarningLogger;
  /** Bounds of the retries on serialization failures and dropped connections. Default: 5 attempts. */
  readonly retry?: StoreRetryOptions;
  /** Time for retry backoff. Default: the system clock. */
  readonly clock?: Pick<Clock, 'now' | 'sleep'>;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** Options of {@link postgresStore}: a connection string (the store owns its pool) or your pool. */
export type PostgresStoreOptions = PostgresStoreCommonOptions &
  (
    | {
        /** `postgres://user@host:5432/db`. The store makes a pool and ends it on `close()`. */
        readonly connectionString: string;
        /** Most connections in the store's pool. Default 10. */
        readonly maxConnections?: number;
        readonly pool?: undefined;
      }
    | {
        /**
         * Your pool; `close()` leaves it open. Give it an `'error'` listener (pg emits one when an idle
         * connection dies, and an unhandled one ends the process).
         */
        readonly pool: pg.Pool;
        readonly connectionString?: undefined;
      }
  );

/**
 * The store for many machines: PostgreSQL through pg and Kysely. Runs the migrations (creating the
 * schema if it is missing) on first use.
 *
 * Compare-and-set is one `UPDATE … WHERE version = $n` under READ COMMITTED, which is atomic for a
 * single row: of concurrent writers, the row lock lets exactly one match. Serialization failures,
 * deadlocks and dropped connections are retried a few times; a retried write that finds its change
 * already made (the connection died after the commit) reports success.
 *
 * @example
 * const store = postgresStore({ connectionString: process.env.DATABASE_URL!, schema: 'tokenvault', encryption: { keys: process.env.TOKENVAULT_KEYS } });
 */
export function postgresStore(options: PostgresStoreOptions): RekeyableKyselyStore {
  // security: refuse to keep secrets without keys (or an explicit 'none'), before any connection.
  const codec = resolveStoreEncryption({ factory: 'postgresStore', persistent: true, encryption: options.encryption, codec: options.codec, logger: options.logger });
  let pool: pg.Pool;
  let owned: boolean;
  if (options.pool !== undefined) {
    pool = options.pool;
    owned = false;
  } else if (typeof options.connectionString === 'string' && options.connectionString !== '') {
    const max = options.maxConnections ?? 10;
    if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError('"maxConnections" must be a positive integer');
    // Waiting for a pooled connection is queueing, not failure: a refresh storm of thousands of callers
    // per process waits its turn instead of timing out (a dead server still fails on connect).
    pool = new pg.Pool({ connectionString: options.connectionString, max, connectionTimeoutMillis: 60_000 });
    // An idle connection that dies (server restart, pg_terminate_backend) is dropped by the pool; the
    // next query gets a fresh one, and a query that was running is retried by the store.
    pool.on('error', () => undefined);
    owned = true;
  } else {
    throw new InvalidArgumentError('postgresStore needs "connectionString" or "pool"');
  }
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  return new RekeyableKyselyStore({
    db,
    dialect: 'postgres',
    migrate: true,
    destroyOnClose: owned,
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.tablePrefix === undefined ? {} : { tablePrefix: options.tablePrefix }),
    ...(codec === undefined ? {} : { codec }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
}
