import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';
import { classifySqliteError } from './driver-errors';
import { CasGroups, type QueuedCas } from './group-commit';
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
  readonly #compareAndSetGroup: (group: readonly QueuedCas[]) => boolean[];
  readonly #handle: BetterSqlite3.Database;
  readonly #groups = new CasGroups((queued) => this.#commit(queued));

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
    const cas = this.#compareAndSet;
    const group = handle.transaction((queued: readonly QueuedCas[]) => queued.map((q) => cas.run(...q.parameters).changes === 1));
    this.#compareAndSetGroup = (queued) => group.immediate(queued);
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

  /**
   * Runs the compare-and-set; true when it changed the row (the version matched).
   *
   * Group commit ({@link CasGroups}): the compare-and-sets asked for during one turn of the event loop
   * run in one `BEGIN IMMEDIATE` transaction, committed once. A commit writes every page the
   * transaction touched to the WAL and syncs it: 8 writes at once cost a third (tmpfs) to a fifth
   * (disk) of 8 commits, 32 a quarter to a tenth (`scripts/bench/sqlite-group-commit.ts`). Each caller
   * gets its own answer, after the commit: a group is as durable as one write, and each statement
   * keeps its own guard, so a group is the same writes one after another. A group whose transaction
   * fails as a whole (one statement refused) is rolled back and its members run one by one, each
   * meeting its own outcome; a busy database fails every member with SQLITE_BUSY (each caller's retry
   * takes it from there). When the handle is inside another transaction at commit time (a Kysely
   * transaction of the caller's), the members take `alone` (Kysely's path, which waits its turn)
   * rather than join it.
   */
  compareAndSet(grantId: string, parameters: readonly unknown[], alone: () => Promise<boolean>): Promise<boolean> {
    return this.#groups.add(grantId, parameters, alone);
  }

  /** Commits the queued compare-and-sets now (the store's `close` calls it before closing the handle). */
  flush(): void {
    this.#groups.flushNow();
  }

  #commit(queued: readonly QueuedCas[]): void {
    if (this.#handle.inTransaction) {
      for (const q of queued) q.resolve(q.alone());
      return;
    }
    if (queued.length > 1) {
      let changed: boolean[];
      try {
        changed = this.#compareAndSetGroup(queued);
      } catch (e) {
        // Another connection holds the write lock (the busy timeout has run out): nothing ran, and
        // each member is retried by its caller, with backoff. Any other failure rolled the group back
        // as a whole: each member runs alone below and meets its own outcome.
        if (classifySqliteError(e) === 'retry') {
          for (const q of queued) q.reject(e);
          return;
        }
        changed = [];
      }
      if (changed.length === queued.length) {
        for (let i = 0; i < queued.length; i++) queued[i]!.resolve(changed[i]!);
        return;
      }
    }
    for (const q of queued) {
      try {
        q.resolve(this.#compareAndSet.run(...q.parameters).changes === 1);
      } catch (e) {
        q.reject(e);
      }
    }
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
