import { InvalidArgumentError, type SecretCodec, systemClock } from '@tokenvault/core';
import { classifyDriverError } from './driver-errors';
import { KyselyGrantStore, type KyselyStoreOptions } from './kysely-grant-store';
import { type RekeyOptions, type RekeySummary, rekeyTables } from './kysely-rekey';
import { resolveRetryPolicy, type RetryContext } from './store-retry';
import { tableNames, type TableNames } from './table-names';

/** Rekey's retry bounds on a busy database, per dialect (as the store's own statements). */
const REKEY_RETRY = {
  sqlite: { maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 10_000, initialDelayMs: 5, maxDelayMs: 250 },
  postgres: { maxAttempts: 5, maxElapsedMs: 10_000, initialDelayMs: 25, maxDelayMs: 1_000 },
} as const;

/**
 * The store `sqliteStore` and `postgresStore` return: a {@link KyselyGrantStore} that also knows its
 * secret codec, so it can move every stored secret to the active key with {@link rekey}.
 *
 * @example
 * const store = sqliteStore({ filename: 'tokenvault.db', encryption: { keys: 'k3:…,k2:…,k1:…' } });
 * const summary = await store.rekey({ onProgress: (p) => console.log(p.table, p.summary.seen, '/', p.total) });
 */
export class RekeyableKyselyStore extends KyselyGrantStore {
  /** The codec every secret column goes through (undefined: none, SQLite `:memory:` only). */
  readonly secretCodec: SecretCodec | undefined;
  readonly #names: TableNames;
  readonly #schema: string | undefined;
  readonly #retry: RetryContext;

  constructor(options: KyselyStoreOptions) {
    super(options);
    this.secretCodec = options.codec;
    this.#names = tableNames(options.tablePrefix);
    this.#schema = options.schema;
    const dialect = options.dialect;
    this.#retry = {
      policy: resolveRetryPolicy(REKEY_RETRY[dialect], options.retry),
      classify: (e) => classifyDriverError(dialect, e),
      clock: options.clock ?? systemClock,
      random: options.random ?? Math.random,
    };
  }

  /**
   * Re-encrypts every secret not under the codec's active key (or not encrypted at all, with
   * `acceptUnencrypted`), grants then clients, a page at a time, while the store stays in service.
   * Each page is one compare-and-set write: a row another process changed meanwhile is read again,
   * never overwritten. Returns counts; rows that cannot be decoded are listed by key, not fatal.
   * A large table is re-encrypted on worker threads while this thread reads and writes (`workers`,
   * `minRowsForWorkers`); the threads end with the run.
   *
   * Rotation: give every process the new key ring (new key first, old keys still listed), then run
   * this once; afterwards the old keys can be removed from the ring.
   *
   * @example
   * const { grants, clients } = await store.rekey({ pageSize: 500 });
   * console.log(`${grants.rekeyed} grants and ${clients.rekeyed} clients moved to the active key`);
   */
  async rekey(options: RekeyOptions = {}): Promise<RekeySummary> {
    const codec = this.secretCodec;
    if (codec === undefined) throw new InvalidArgumentError('rekey needs a store opened with encryption keys');
    await this.ready();
    return rekeyTables(
      { db: this.db, dialect: this.dialect, names: this.#names, schema: this.#schema, codec, retry: this.#retry, sqliteDatabase: this.sqliteDatabase },
      options,
    );
  }
}
