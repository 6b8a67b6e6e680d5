import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';
import { GRANT_COLUMNS, grantRowFromValues, type GrantRow } from './row-mapping';

type Row = Record<string, unknown>;

/**
 * Prepared statements on the better-sqlite3 handle for the hot paths: point reads, due/lease pages and
 * bulk inserts. The SQL is compiled by Kysely from the same builders the general path runs, so both
 * paths execute the same statement; only the per-call builder, compiler and async driver are skipped.
 * Point reads come back as arrays (`raw` mode), which better-sqlite3 builds at about half the cost of
 * objects, and are turned into the row objects the shared mapping reads.
 */
export class SqliteFastPath {
  readonly #get: BetterSqlite3.Statement;
  readonly #pages: ReadonlyMap<string, BetterSqlite3.Statement>;
  readonly #insertMany: (rows: readonly GrantRow[]) => number;
  readonly #compareAndSet: BetterSqlite3.Statement;
  readonly #handle: BetterSqlite3.Database;

  constructor(
    handle: BetterSqlite3.Database,
    statements: {
      readonly get: CompiledQuery;
      /** Page statements by name; each binds its parameters in the order the caller passes them. */
      readonly pages: ReadonlyMap<string, CompiledQuery>;
      readonly insert: CompiledQuery;
      /** Binds the new values, then the key and the expected version (see `casParameters`). */
      readonly compareAndSet: CompiledQuery;
    },
  ) {
    this.#handle = handle;
    this.#compareAndSet = handle.prepare(statements.compareAndSet.sql);
    this.#get = handle.prepare(statements.get.sql).raw(true);
    this.#pages = new Map([...statements.pages].map(([name, q]) => [name, handle.prepare(q.sql)]));
    const insert = handle.prepare(statements.insert.sql);
    const insertAll = handle.transaction((rows: readonly GrantRow[]) => {
      let inserted = 0;
      for (const row of rows) inserted += insert.run(GRANT_COLUMNS.map((c) => row[c])).changes;
      return inserted;
    });
    // IMMEDIATE takes the write lock up front: a deferred transaction that upgrades later can get
    // SQLITE_BUSY without SQLite's busy handler ever waiting.
    this.#insertMany = (rows) => insertAll.immediate(rows);
  }

  /** The grants row with this id, or undefined. */
  get(grantId: string): Row | undefined {
    const values = this.#get.get(grantId) as unknown[] | undefined;
    return values === undefined ? undefined : grantRowFromValues(values);
  }

  /** The rows of a prepared page statement (keys and their time: two columns, read as objects). */
  page(name: string, parameters: readonly unknown[]): Row[] {
    const statement = this.#pages.get(name);
    if (statement === undefined) throw new RangeError(`no prepared page statement "${name}"`);
    return statement.all(...parameters) as Row[];
  }

  /** Runs the compare-and-set; true when it changed the row (the version matched). */
  compareAndSet(parameters: readonly unknown[]): boolean {
    return this.#compareAndSet.run(...parameters).changes === 1;
  }

  /**
   * Whether a transaction is open on the handle (a migration, or a Kysely transaction of the caller's):
   * a statement run on the handle now would join it, so writes take Kysely's path and wait their turn.
   */
  busyElsewhere(): boolean {
    return this.#handle.inTransaction;
  }

  /** Inserts rows in one IMMEDIATE transaction, skipping ids that exist; returns how many went in. */
  insertMany(rows: readonly GrantRow[]): number {
    return this.#insertMany(rows);
  }
}
