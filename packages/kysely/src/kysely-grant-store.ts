import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import {
  assertEpochMs,
  assertFirstVersion,
  assertKeyArgument,
  assertNextVersion,
  assertOptionalVersion,
  assertPageRequest,
  assertWritableClientRecord,
  assertWritableGrantRecord,
  buildPage,
  closedStoreError,
  decodePageCursor,
  grantRecordsEqual,
  InvalidArgumentError,
  normalizeGrantFilter,
  stateHashTakenError,
  StoreError,
  systemClock,
  type ClientRecord,
  type Clock,
  type DueGrant,
  type GrantFilter,
  type GrantRecord,
  type GrantStore,
  type NormalizedGrantFilter,
  type Page,
  type PageKey,
  type PageRequest,
} from '@tokenvault/core';
import { classifyDriverError, DriverError, isStateHashConflict, toStoreError } from './driver-errors';
import { migrateOrThrowDriverError } from './migrations';
import { PostgresCasGroups } from './postgres-cas-groups';
import { PostgresReadBatches } from './postgres-read-batches';
import { SqliteFastPath } from './sqlite-fast-path';
import { CAS_COLUMNS, casParameters, CLIENT_COLUMNS, clientToRow, GRANT_COLUMNS, grantToRow, readInteger, readRowKey, rowToClient, rowToGrant, ScopeCache, type GrantRow } from './row-mapping';
import type { SecretCodec } from './secret-codec';
import { SecretMemo } from './secret-memo';
import { resolveRetryPolicy, withStoreRetry, type ResolvedRetryPolicy, type RetryContext, type StoreRetryOptions } from './store-retry';
import { assertSqlIdentifier, tableNames, type StoreDialect, type TableNames } from './table-names';

/** Options of {@link kyselyStore}. */
export interface KyselyStoreOptions {
  /** Your Kysely instance (SqliteDialect on better-sqlite3, or PostgresDialect on pg). */
  readonly db: Kysely<any>;
  readonly dialect: StoreDialect;
  /** Prefix of tokenvault's tables and indexes. Default `tokenvault_`. Never change it afterwards. */
  readonly tablePrefix?: string;
  /** PostgreSQL schema holding the tables. Default: the connection's `search_path`. */
  readonly schema?: string;
  /**
   * Run tokenvault's migrations before the first operation. Default false: run {@link migrateToLatest}
   * yourself (at deploy time, say), or pass true and let the first call do it.
   */
  readonly migrate?: boolean;
  /** Encodes every secret column (AES-GCM, say). Default: secrets are stored as they are. */
  readonly codec?: SecretCodec;
  /** How long and how often to retry a busy database. */
  readonly retry?: StoreRetryOptions;
  /**
   * SQLite only: the better-sqlite3 handle under `db`. Point reads (`get`) and bulk imports then run as
   * prepared statements on it, skipping Kysely's builder and async driver on the hot path.
   */
  readonly sqliteDatabase?: BetterSqlite3.Database;
  /** Destroy `db` on {@link KyselyGrantStore.close}. Default false: the instance is yours. */
  readonly destroyOnClose?: boolean;
  /** Time for retry backoff. Default: the system clock. */
  readonly clock?: Pick<Clock, 'now' | 'sleep'>;
  /** Jitter source for retry backoff, in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** Options of {@link KyselyGrantStore.createMany}. */
export interface CreateManyOptions {
  /** Rows per transaction. Default 5,000. */
  readonly chunkSize?: number;
}

/**
 * Retry bounds per dialect. SQLite: a busy file is normal under multi-process load, so it retries for
 * up to 10 s (the busy timeout already waits inside SQLite first). PostgreSQL: serialization failures
 * and dropped connections are rare, so a few attempts.
 */
const RETRY_DEFAULTS: Record<StoreDialect, ResolvedRetryPolicy> = {
  sqlite: { maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 10_000, initialDelayMs: 5, maxDelayMs: 250 },
  postgres: { maxAttempts: 5, maxElapsedMs: 10_000, initialDelayMs: 25, maxDelayMs: 1_000 },
};

/** The two time-ordered listings: which state they cover and which column orders them. */
const TIMED = {
  due: { state: 'authorized', column: 'access_token_expires_at' },
  lease: { state: 'refreshing', column: 'lease_until' },
} as const;

const OPENING = 0;
const READY = 1;
const CLOSED = 2;

/** PostgreSQL's bind-parameter limit is 65,535: 500 rows of 21 columns stay far below it. */
const POSTGRES_INSERT_BATCH = 500;

type Row = Record<string, unknown>;

/**
 * The tokenvault {@link GrantStore} on a Kysely instance: SQLite or PostgreSQL, one class.
 *
 * Every statement is a single row-level statement, so nothing here holds a transaction open:
 * compare-and-set is one `UPDATE … WHERE grant_id = ? AND version = ?` whose affected-row count says
 * who won, atomic in SQLite (one writer at a time) and in PostgreSQL under READ COMMITTED (the row
 * lock makes a second UPDATE re-check `version` on the committed row). Busy databases, serialization
 * failures and dropped connections are retried within bounds; what still fails is a `StoreError`,
 * and the stored row is then the previous one.
 *
 * @example
 * const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
 * await migrateToLatest(db, { dialect: 'postgres' });
 * const store = kyselyStore({ db, dialect: 'postgres' });
 */
export class KyselyGrantStore implements GrantStore {
  /** The Kysely instance the store runs on. */
  readonly db: Kysely<any>;
  readonly dialect: StoreDialect;
  /** The better-sqlite3 handle used for prepared point reads, when there is one. */
  readonly sqliteDatabase: BetterSqlite3.Database | undefined;
  readonly #q: Kysely<any>;
  readonly #names: TableNames;
  readonly #tablePrefix: string | undefined;
  readonly #schema: string | undefined;
  readonly #codec: SecretCodec | undefined;
  readonly #retry: RetryContext;
  readonly #migrate: boolean;
  readonly #destroyOnClose: boolean;
  #phase: number = OPENING;
  #opening: Promise<void> | undefined;
  #fast: SqliteFastPath | undefined;
  /** PostgreSQL: compare-and-sets of one turn written by one statement (group commit). */
  readonly #pgGroups: PostgresCasGroups | undefined;
  /** PostgreSQL: reads of one turn answered by one statement. */
  readonly #pgReads: PostgresReadBatches | undefined;
  #casQuery: CompiledQuery | undefined;
  readonly #scopes = new ScopeCache();
  /** Stored forms of recently read or written secrets (see {@link SecretMemo}); none without a codec. */
  readonly #memo: SecretMemo | undefined;

  constructor(options: KyselyStoreOptions) {
    if (options.dialect !== 'sqlite' && options.dialect !== 'postgres') {
      throw new InvalidArgumentError('"dialect" must be "sqlite" or "postgres"');
    }
    if (options.schema !== undefined) {
      if (options.dialect !== 'postgres') throw new InvalidArgumentError('"schema" is for PostgreSQL only');
      assertSqlIdentifier(options.schema, 'schema');
    }
    if (options.sqliteDatabase !== undefined && options.dialect !== 'sqlite') {
      throw new InvalidArgumentError('"sqliteDatabase" is for the sqlite dialect only');
    }
    this.db = options.db;
    this.dialect = options.dialect;
    this.sqliteDatabase = options.sqliteDatabase;
    this.#schema = options.schema;
    this.#q = options.schema === undefined ? options.db : options.db.withSchema(options.schema);
    this.#tablePrefix = options.tablePrefix;
    this.#names = tableNames(options.tablePrefix);
    this.#codec = options.codec;
    this.#memo = options.codec === undefined ? undefined : new SecretMemo(options.codec);
    this.#migrate = options.migrate ?? false;
    this.#destroyOnClose = options.destroyOnClose ?? false;
    const dialect = options.dialect;
    this.#retry = {
      policy: resolveRetryPolicy(RETRY_DEFAULTS[dialect], options.retry),
      classify: (e) => classifyDriverError(dialect, e),
      clock: options.clock ?? systemClock,
      random: options.random ?? Math.random,
    };
    const grantsTable = options.schema === undefined ? `"${this.#names.grants}"` : `"${options.schema}"."${this.#names.grants}"`;
    this.#pgGroups = dialect === 'postgres' ? new PostgresCasGroups(options.db, grantsTable, this.#retry.classify) : undefined;
    this.#pgReads = dialect === 'postgres' ? new PostgresReadBatches(options.db, grantsTable) : undefined;
  }

  /**
   * Resolves once the store can serve calls (migrations run, statements prepared). Calls wait for
   * it by themselves; await it at start-up to fail fast on a bad database.
   */
  ready(): Promise<void> {
    if (this.#phase === CLOSED) return Promise.reject(closedStoreError());
    this.#opening ??= this.#initialize().then(
      () => {
        if (this.#phase === OPENING) this.#phase = READY;
      },
      (e: unknown) => {
        // A failed start (database down, say) is tried again by the next call.
        this.#opening = undefined;
        throw e;
      },
    );
    return this.#opening;
  }

  async #initialize(): Promise<void> {
    if (this.#migrate) {
      const options = { dialect: this.dialect, tablePrefix: this.#tablePrefix, schema: this.#schema };
      await withStoreRetry(this.#retry, 'migrating the tokenvault tables', () => migrateOrThrowDriverError(this.db, options));
    }
    const handle = this.sqliteDatabase;
    if (handle !== undefined) {
      try {
        this.#fast = new SqliteFastPath(handle, this.#fastPathStatements());
      } catch (e) {
        throw toStoreError('preparing the tokenvault statements (have the migrations run?)', e);
      }
    }
  }

  /**
   * The hot statements, compiled by Kysely from the builders the general path uses. Compiled with
   * sentinel values, whose order in the parameters is checked: the fast path binds in that order.
   */
  #fastPathStatements(): ConstructorParameters<typeof SqliteFastPath>[1] {
    const [before, at, id, limit] = [-101, -102, '\u0001sentinel', -103];
    const checked = (query: CompiledQuery, expected: readonly unknown[]): CompiledQuery => {
      if (query.parameters.length !== expected.length || query.parameters.some((p, i) => p !== expected[i])) {
        throw new StoreError('a prepared statement binds its parameters in an unexpected order (a Kysely upgrade?)');
      }
      return query;
    };
    const pages = new Map<string, CompiledQuery>();
    for (const kind of ['due', 'lease'] as const) {
      pages.set(kind, checked(this.#timedQuery(kind, before, undefined, limit).compile(), [before, limit]));
      pages.set(`${kind}-after`, checked(this.#timedQuery(kind, before, { at, grantId: id }, limit).compile(), [before, at, id, limit]));
    }
    const insert = this.#q
      .insertInto(this.#names.grants)
      .values(Object.fromEntries(GRANT_COLUMNS.map((c, i) => [c, -1000 - i])))
      .onConflict((oc) => oc.column('grant_id').doNothing())
      .compile();
    return {
      get: checked(this.#selectGrants().where('grant_id', '=', id).compile(), [id]),
      pages,
      insert: checked(insert, GRANT_COLUMNS.map((_, i) => -1000 - i)),
      compareAndSet: this.#compareAndSetQuery(),
    };
  }

  /**
   * The compare-and-set statement, compiled once: `UPDATE grants SET <every column but grant_id> =
   * ? … WHERE grant_id = ? AND version = ?`, binding in {@link casParameters} order (checked here with
   * sentinel values, so a Kysely upgrade that reorders them fails loudly at start-up, not silently).
   * Building and compiling it with Kysely on every write cost more than running it.
   */
  #compareAndSetQuery(): CompiledQuery {
    const sentinels = Object.fromEntries(CAS_COLUMNS.map((c, i) => [c, -2000 - i]));
    const [id, version] = ['\u0001sentinel-cas', -2999];
    const query = this.#q
      .updateTable(this.#names.grants)
      .set(sentinels)
      .where('grant_id', '=', id)
      .where('version', '=', version)
      .compile();
    const expected = [...CAS_COLUMNS.map((_, i) => -2000 - i), id, version];
    if (query.parameters.length !== expected.length || query.parameters.some((p, i) => p !== expected[i])) {
      throw new StoreError('the compare-and-set statement binds its parameters in an unexpected order (a Kysely upgrade?)');
    }
    return query;
  }

  async get(grantId: string): Promise<GrantRecord | undefined> {
    if (this.#phase !== READY) await this.ready();
    const fast = this.#fast;
    if (fast !== undefined) {
      let row: Row | undefined;
      try {
        row = fast.get(grantId);
      } catch {
        // Busy, or worse: the general path below retries and reports.
        return this.#readGrant(grantId);
      }
      return row === undefined ? undefined : rowToGrant(row, this.#codec, this.#scopes, this.#memo);
    }
    return this.#readGrant(grantId);
  }

  async #readGrant(grantId: string): Promise<GrantRecord | undefined> {
    const batches = this.#pgReads;
    const row = await this.#reading('get', () =>
      batches !== undefined ? batches.get(grantId) : this.#selectGrants().where('grant_id', '=', grantId).executeTakeFirst(),
    );
    return row === undefined ? undefined : rowToGrant(row, this.#codec, this.#scopes, this.#memo);
  }

  async create(record: GrantRecord): Promise<boolean> {
    if (this.#phase !== READY) await this.ready();
    assertWritableGrantRecord(record);
    assertFirstVersion(record);
    const row = grantToRow(record, this.#codec, this.#memo);
    return this.#writing('create', async () => {
      const result = await this.#q
        .insertInto(this.#names.grants)
        .values(row)
        .onConflict((oc) => oc.column('grant_id').doNothing())
        .executeTakeFirst();
      return result.numInsertedOrUpdatedRows === 1n;
    }, () => this.#stored(record.grantId, record));
  }

  async compareAndSet(next: GrantRecord, expectedVersion: number): Promise<boolean> {
    if (this.#phase !== READY) await this.ready();
    assertWritableGrantRecord(next);
    assertNextVersion(next, expectedVersion);
    const parameters = casParameters(grantToRow(next, this.#codec, this.#memo), expectedVersion);
    return this.#writing('compareAndSet', async () => {
      const viaKysely = async () => {
        this.#casQuery ??= this.#compareAndSetQuery();
        const result = await this.db.executeQuery(CompiledQuery.raw(this.#casQuery.sql, parameters));
        return result.numAffectedRows === 1n;
      };
      const fast = this.#fast;
      if (fast !== undefined && !fast.busyElsewhere()) return fast.compareAndSet(next.grantId, parameters, viaKysely);
      return this.#pgGroups !== undefined ? this.#pgGroups.compareAndSet(next.grantId, parameters, viaKysely) : viaKysely();
    }, () => this.#stored(next.grantId, next));
  }

  async delete(grantId: string, expectedVersion?: number): Promise<boolean> {
    if (this.#phase !== READY) await this.ready();
    assertKeyArgument(grantId, 'grantId');
    assertOptionalVersion(expectedVersion);
    return this.#writing('delete', async () => {
      let query = this.#q.deleteFrom(this.#names.grants).where('grant_id', '=', grantId);
      if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
      const result = await query.executeTakeFirst();
      return result.numDeletedRows === 1n;
    }, () => this.#stored(grantId, undefined));
  }

  async findByStateHash(stateHash: string): Promise<GrantRecord | undefined> {
    if (this.#phase !== READY) await this.ready();
    assertKeyArgument(stateHash, 'stateHash');
    const row = await this.#reading('findByStateHash', () =>
      this.#selectGrants().where('pending_state_hash', '=', stateHash).executeTakeFirst(),
    );
    return row === undefined ? undefined : rowToGrant(row, this.#codec, this.#scopes, this.#memo);
  }

  async listDue(beforeMs: number, page: PageRequest): Promise<Page<DueGrant>> {
    if (this.#phase !== READY) await this.ready();
    assertEpochMs(beforeMs, 'beforeMs');
    assertPageRequest(page);
    return this.#timedPage('listDue', 'due', beforeMs, page);
  }

  async listExpiredLeases(nowMs: number, page: PageRequest): Promise<Page<DueGrant>> {
    if (this.#phase !== READY) await this.ready();
    assertEpochMs(nowMs, 'nowMs');
    assertPageRequest(page);
    return this.#timedPage('listExpiredLeases', 'lease', nowMs, page);
  }

  /**
   * A keyset page on (time column, grant_id) over one state, as keys: one range of the
   * (state, time, grant_id) index, read from the index alone (no table row, nothing to decode).
   */
  async #timedPage(operation: string, kind: 'due' | 'lease', before: number, page: PageRequest): Promise<Page<DueGrant>> {
    const after = decodePageCursor(kind, page.cursor);
    const limit = page.limit + 1;
    const fast = this.#fast;
    const rows = await this.#reading(operation, async () => {
      if (fast === undefined) return this.#timedQuery(kind, before, after, limit).execute();
      return after === undefined ? fast.page(kind, [before, limit]) : fast.page(`${kind}-after`, [before, after.at, after.grantId, limit]);
    });
    const column = TIMED[kind].column;
    const keyOf = (row: Row): PageKey & DueGrant => {
      const grantId = readRowKey(row.grant_id, 'grant_id');
      return { kind, at: readInteger(row[column], column, grantId), grantId };
    };
    return buildPage(rows, page.limit, keyOf, (row) => {
      const { grantId, at } = keyOf(row);
      return { grantId, at };
    });
  }

  #timedQuery(kind: 'due' | 'lease', before: number, after: { at: number; grantId: string } | undefined, limit: number) {
    const { state, column } = TIMED[kind];
    // The state is a literal: the planners then know the selectivity of the index prefix.
    let query = this.#q
      .selectFrom(this.#names.grants)
      .select(['grant_id', column])
      .where('state', '=', sql.lit(state))
      .where(column, '<', before);
    if (after !== undefined) {
      query = query.where((eb) => eb(eb.refTuple(column, 'grant_id'), '>', eb.tuple(after.at, after.grantId)));
    }
    return query.orderBy(column).orderBy('grant_id').limit(limit);
  }

  async list(filter: GrantFilter, page: PageRequest): Promise<Page<GrantRecord>> {
    if (this.#phase !== READY) await this.ready();
    const f = normalizeGrantFilter(filter);
    assertPageRequest(page);
    const after = decodePageCursor('grant', page.cursor);
    if (f.states?.length === 0) return { items: [], cursor: undefined };
    const rows = await this.#reading('list', () => {
      let query = this.#filtered(this.#selectGrants(), f);
      if (after !== undefined) query = query.where('grant_id', '>', after.grantId);
      return query.orderBy('grant_id').limit(page.limit + 1).execute();
    });
    const keyOf = (row: Row): PageKey => ({ kind: 'grant', grantId: readRowKey(row.grant_id, 'grant_id') });
    return buildPage(rows, page.limit, keyOf, (row) => rowToGrant(row, this.#codec, this.#scopes, this.#memo));
  }

  async count(filter: GrantFilter): Promise<number> {
    if (this.#phase !== READY) await this.ready();
    const f = normalizeGrantFilter(filter);
    if (f.states?.length === 0) return 0;
    const row = await this.#reading('count', () =>
      this.#filtered(this.#q.selectFrom(this.#names.grants).select((eb) => eb.fn.countAll().as('n')), f).executeTakeFirstOrThrow(),
    );
    try {
      return readInteger((row as Row).n, 'count', 'count');
    } catch (e) {
      throw toStoreError('count', e);
    }
  }

  async getClient(id: string): Promise<ClientRecord | undefined> {
    if (this.#phase !== READY) await this.ready();
    assertKeyArgument(id, 'id');
    const row = await this.#reading('getClient', () =>
      this.#q.selectFrom(this.#names.clients).select(CLIENT_COLUMNS).where('id', '=', id).executeTakeFirst(),
    );
    return row === undefined ? undefined : rowToClient(row, this.#codec);
  }

  async putClient(record: ClientRecord): Promise<void> {
    if (this.#phase !== READY) await this.ready();
    assertWritableClientRecord(record);
    const row = clientToRow(record, this.#codec);
    // An upsert: running it twice is harmless, so an ambiguous failure needs no check.
    await this.#writing('putClient', async () => {
      await this.#q
        .insertInto(this.#names.clients)
        .values(row)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) =>
            Object.fromEntries(CLIENT_COLUMNS.filter((c) => c !== 'id').map((c) => [c, eb.ref(`excluded.${c}`)])),
          ),
        )
        .execute();
      return true;
    }, async () => true);
  }

  async deleteClient(id: string): Promise<boolean> {
    if (this.#phase !== READY) await this.ready();
    assertKeyArgument(id, 'id');
    return this.#writing('deleteClient', async () => {
      const result = await this.#q.deleteFrom(this.#names.clients).where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows === 1n;
    }, async () => (await this.#q.selectFrom(this.#names.clients).select('id').where('id', '=', id).executeTakeFirst()) === undefined);
  }

  async listClients(): Promise<readonly ClientRecord[]> {
    if (this.#phase !== READY) await this.ready();
    const rows = await this.#reading('listClients', () =>
      this.#q.selectFrom(this.#names.clients).select(CLIENT_COLUMNS).orderBy('id').execute(),
    );
    return rows.map((row) => rowToClient(row, this.#codec));
  }

  /**
   * Imports new grants fast: each chunk of `chunkSize` records in one transaction (a prepared
   * statement on SQLite, multi-row INSERTs on PostgreSQL). Records whose id exists are skipped. Each
   * chunk is atomic; the import as a whole is not. Returns how many grants were inserted.
   *
   * @example
   * const inserted = await store.createMany(generateRecords(1_000_000)); // seeding a benchmark
   */
  async createMany(records: Iterable<GrantRecord>, options: CreateManyOptions = {}): Promise<number> {
    if (this.#phase !== READY) await this.ready();
    const chunkSize = options.chunkSize ?? 5_000;
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 100_000) {
      throw new InvalidArgumentError('"chunkSize" must be an integer from 1 to 100000');
    }
    let inserted = 0;
    let chunk: GrantRow[] = [];
    for (const record of records) {
      assertWritableGrantRecord(record);
      assertFirstVersion(record);
      chunk.push(grantToRow(record, this.#codec));
      if (chunk.length === chunkSize) {
        inserted += await this.#insertChunk(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) inserted += await this.#insertChunk(chunk);
    return inserted;
  }

  #insertChunk(rows: readonly GrantRow[]): Promise<number> {
    const fast = this.#fast;
    // A bulk insert is all-or-nothing per chunk: a retry after a dropped connection simply runs it again.
    return this.#withStateHashCheck(() =>
      withStoreRetry(this.#retry, 'createMany', async () => {
        if (fast !== undefined) return fast.insertMany(rows);
        return this.#q.transaction().execute(async (trx) => {
          let inserted = 0n;
          for (let i = 0; i < rows.length; i += POSTGRES_INSERT_BATCH) {
            const result = await trx
              .insertInto(this.#names.grants)
              .values(rows.slice(i, i + POSTGRES_INSERT_BATCH))
              .onConflict((oc) => oc.column('grant_id').doNothing())
              .executeTakeFirst();
            inserted += result.numInsertedOrUpdatedRows ?? 0n;
          }
          return Number(inserted);
        });
      }),
    );
  }

  /** Further calls reject with a `StoreError`; closing again is a no-op. */
  async close(): Promise<void> {
    if (this.#phase === CLOSED) return;
    this.#phase = CLOSED;
    await this.#opening?.catch(() => undefined);
    // Writes already asked for are committed (or fail) before the handle or the pool goes.
    this.#fast?.flush();
    await Promise.all([this.#pgGroups?.drain(), this.#pgReads?.drain()]);
    this.#fast = undefined;
    if (this.#destroyOnClose) {
      try {
        await this.db.destroy();
      } catch (e) {
        throw toStoreError('closing the store', e);
      }
    }
  }

  #selectGrants() {
    return this.#q.selectFrom(this.#names.grants).select(GRANT_COLUMNS);
  }

  #filtered<Q extends { where: (...args: any[]) => any }>(query: Q, f: NormalizedGrantFilter): Q {
    let q = query;
    if (f.states !== undefined) q = f.states.length === 1 ? q.where('state', '=', f.states[0]) : q.where('state', 'in', f.states);
    if (f.client !== undefined) q = q.where('client', '=', f.client);
    return q;
  }

  #reading<T>(operation: string, query: () => Promise<T>): Promise<T> {
    return withStoreRetry(this.#retry, operation, query);
  }

  /**
   * Runs a single-statement write with retries. After an ambiguous failure (the connection dropped
   * mid-statement) a retry that changes nothing may mean the first attempt landed: `landed` then
   * looks at the stored row to tell.
   */
  #writing(operation: string, write: () => Promise<boolean>, landed: () => Promise<boolean>): Promise<boolean> {
    return this.#withStateHashCheck(() =>
      withStoreRetry(this.#retry, operation, async (afterAmbiguousFailure) => {
        const changed = await write();
        return changed || (afterAmbiguousFailure && (await landed()));
      }),
    );
  }

  /** Whether the stored grant is exactly `expected` (or, for undefined, whether it is gone). */
  async #stored(grantId: string, expected: GrantRecord | undefined): Promise<boolean> {
    const row = await this.#selectGrants().where('grant_id', '=', grantId).executeTakeFirst();
    if (expected === undefined) return row === undefined;
    return row !== undefined && grantRecordsEqual(rowToGrant(row, this.#codec, this.#scopes, this.#memo), expected);
  }

  /** A unique violation on the pending state hash is the contract's StoreError, same as the memory store's. */
  async #withStateHashCheck<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof DriverError ? e.cause : e;
      if (isStateHashConflict(cause, this.#names.stateHashIndex)) throw stateHashTakenError({ cause });
      throw e;
    }
  }
}

/**
 * A {@link KyselyGrantStore} on your Kysely instance. Run {@link migrateToLatest} first, or pass
 * `migrate: true`. For a SQLite file or a PostgreSQL URL, {@link sqliteStore} and {@link postgresStore}
 * build everything for you.
 *
 * @example
 * const store = kyselyStore({ db, dialect: 'sqlite', migrate: true, sqliteDatabase: handle });
 * const vault = createVault({ store, clients: [...] });
 */
export function kyselyStore(options: KyselyStoreOptions): KyselyGrantStore {
  return new KyselyGrantStore(options);
}
