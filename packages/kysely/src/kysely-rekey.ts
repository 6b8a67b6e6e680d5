import { availableParallelism } from 'node:os';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { formatSecretLocation, InvalidArgumentError, type RekeyWorkers, type SecretCodec, type SecretLocation } from '@tokenvault/core';
import { guardedUpdateQuery } from './guarded-update';
import { type RetryContext, withStoreRetry } from './store-retry';
import type { TableNames, StoreDialect } from './table-names';

/** Options of `store.rekey()`. */
export interface RekeyOptions {
  /** Rows read and written per statement. Default 500. Each page is one short write. */
  readonly pageSize?: number | undefined;
  /** Called after every page with the running totals. */
  readonly onProgress?: ((progress: RekeyProgress) => void) | undefined;
  /**
   * Pause after each page, ms. Default 0. A rekey of a busy production database can leave room for
   * the traffic it shares the database with.
   */
  readonly pauseMs?: number | undefined;
  /** Stops between pages (rows already moved stay moved; run again to finish). */
  readonly signal?: AbortSignal | undefined;
  /**
   * How often a row that another writer changed meanwhile is read and tried again. Default 5. A
   * vault's own write re-encrypts the whole row under the active key, so one retry nearly always ends it.
   */
  readonly maxAttemptsPerRow?: number | undefined;
  /**
   * Worker threads that decrypt and encrypt while this thread reads and writes the database: a page
   * is re-encrypted on the workers while the previous one is written and the next one read. Default:
   * `os.availableParallelism()`, at most 8; `0` keeps everything on this thread. Used only with a
   * codec that can start them (`aesGcmCodec`, i.e. `encryption: { keys }`; a codec of your own
   * re-encodes on this thread) and only for a table of at least `minRowsForWorkers` rows. The key
   * ring goes to each thread as it starts; the threads are terminated when the run ends, however it
   * ends (done, aborted, failed), and never keep the process alive.
   *
   * Measured on 2 cores, 100,000 grants on SQLite: 24,000 to 26,000 rows/s on this thread, 34,000
   * to 50,000 (median of 3 runs) with the default 2 threads (docs/security.md). A thread that fails
   * fails the run; rows already written stay written.
   */
  readonly workers?: number | undefined;
  /**
   * The fewest rows a table must have, when the run reaches it, for worker threads to be started.
   * Default {@link MIN_ROWS_FOR_WORKERS}: starting a thread takes about 40 ms of CPU, more than a
   * small table's whole rekey.
   */
  readonly minRowsForWorkers?: number | undefined;
}

/** The default `minRowsForWorkers` of `rekey`. */
export const MIN_ROWS_FOR_WORKERS = 10_000;

/** Running totals of one table, as `onProgress` sees them. */
export interface RekeyTableSummary {
  /** Rows looked at. */
  readonly seen: number;
  /** Rows written again under the active key by this run. */
  readonly rekeyed: number;
  /** Rows that needed nothing (already under the active key, or no secrets). */
  readonly current: number;
  /** Compare-and-set misses: another writer changed the row between read and write; it was read again. */
  readonly conflicts: number;
  /** Rows left as they were after `maxAttemptsPerRow` misses (rare; run rekey again). */
  readonly gaveUp: number;
  /** Rows whose secrets did not decode (tampered, or under a key not configured), left as they were. */
  readonly unreadableCount: number;
  /** Their keys (grant or client ids), the first {@link MAX_LISTED_UNREADABLE}. */
  readonly unreadable: readonly string[];
}

/** How many unreadable keys a summary lists (a wrong key ring would make every row one). */
export const MAX_LISTED_UNREADABLE = 1_000;

export interface RekeyProgress {
  readonly table: 'grants' | 'clients';
  /** Rows in the table when the run started (a progress bar's total). */
  readonly total: number;
  readonly summary: RekeyTableSummary;
}

/** What `rekey` did. Afterwards every readable row is under the active key, unless `gaveUp` says otherwise. */
export interface RekeySummary {
  readonly grants: RekeyTableSummary;
  readonly clients: RekeyTableSummary;
}

/** What the rekey needs of a store: its Kysely instance, dialect, table names and codec. */
export interface RekeyTarget {
  readonly db: Kysely<any>;
  readonly dialect: StoreDialect;
  readonly names: TableNames;
  readonly schema: string | undefined;
  readonly codec: SecretCodec;
  /** Busy databases and dropped connections are retried as the store's own statements are. */
  readonly retry: RetryContext;
  /**
   * SQLite: the better-sqlite3 handle under `db`. Pages are then read and written with prepared
   * statements on it (a page's writes in one `BEGIN IMMEDIATE` transaction), as the store's fast path does.
   */
  readonly sqliteDatabase?: BetterSqlite3.Database | undefined;
}

const GRANT_SECRETS = ['access_token', 'refresh_token', 'id_token', 'pending_code_verifier', 'pending_server_state'] as const;

interface TableSpec {
  readonly table: 'grants' | 'clients';
  readonly name: string;
  readonly key: string;
  /** The column compared on write: the row's version, or (clients have none) the old secret itself. */
  readonly guard: string;
  readonly guardIsInteger: boolean;
  readonly secrets: readonly string[];
}

type Row = Record<string, unknown>;

/** A row to write: its key, the guard value read, and every secret column's new (or unchanged) value. */
interface Rewrite {
  readonly key: string;
  readonly guard: unknown;
  readonly values: readonly (string | null)[];
}

/**
 * Moves every secret to the codec's active key, a page at a time in key order, while the store stays
 * in service: each page is one short write (PostgreSQL: one `UPDATE … FROM (VALUES …)`; SQLite: one
 * transaction of row updates), every row guarded by compare-and-set (the grant's `version`; a client's
 * old secret), so a concurrent refresh is never overwritten: that row is read again and, if still
 * needed, tried again. Rows the codec cannot read are counted and listed, not fatal.
 *
 * With worker threads (`workers`, a large table and a codec that can start them) the decrypting and
 * encrypting runs on the threads as a pipeline: page N+1 is read and handed to the threads before page
 * N is written, so the threads work while this thread reads and writes. Nothing else changes: a page
 * is written only after its plans are back, with the same guards, retries, progress, pause and abort
 * (a page read ahead when the run is aborted is dropped unwritten).
 *
 * @example
 * const summary = await rekeyTables({ db, dialect: 'sqlite', names: tableNames(), schema: undefined, codec }, { pageSize: 500 });
 */
export async function rekeyTables(target: RekeyTarget, options: RekeyOptions = {}): Promise<RekeySummary> {
  const pageSize = options.pageSize ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 5_000) throw new InvalidArgumentError('"pageSize" must be an integer from 1 to 5,000');
  const maxAttempts = options.maxAttemptsPerRow ?? 5;
  const pauseMs = options.pauseMs ?? 0;
  if (!Number.isFinite(pauseMs) || pauseMs < 0) throw new InvalidArgumentError('"pauseMs" must be a non-negative number');
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new InvalidArgumentError('"maxAttemptsPerRow" must be a positive integer');
  const threads = options.workers ?? Math.min(8, availableParallelism());
  if (!Number.isInteger(threads) || threads < 0 || threads > 64) throw new InvalidArgumentError('"workers" must be an integer from 0 to 64');
  const minRows = options.minRowsForWorkers ?? MIN_ROWS_FOR_WORKERS;
  if (!Number.isInteger(minRows) || minRows < 0) throw new InvalidArgumentError('"minRowsForWorkers" must be a non-negative integer');
  const specs: TableSpec[] = [
    { table: 'grants', name: target.names.grants, key: 'grant_id', guard: 'version', guardIsInteger: true, secrets: GRANT_SECRETS },
    { table: 'clients', name: target.names.clients, key: 'id', guard: 'client_secret', guardIsInteger: false, secrets: ['client_secret'] },
  ];
  // Started when the first table big enough for them comes up, shared by both, closed however the run ends.
  let workers: RekeyWorkers | undefined;
  const workersFor = (total: number): RekeyWorkers | undefined => {
    if (workers === undefined && threads > 0 && total >= minRows && target.codec.startRekeyWorkers !== undefined) {
      workers = target.codec.startRekeyWorkers(threads);
    }
    return workers;
  };
  try {
    const grants = await rekeyTable(target, specs[0] as TableSpec, pageSize, maxAttempts, pauseMs, options, workersFor);
    const clients = await rekeyTable(target, specs[1] as TableSpec, pageSize, maxAttempts, pauseMs, options, workersFor);
    return { grants, clients };
  } finally {
    await workers?.close();
  }
}

/** Each row of a page: what to write, or why not. */
type Plan = Rewrite | 'current' | 'unreadable';

async function rekeyTable(
  target: RekeyTarget,
  spec: TableSpec,
  pageSize: number,
  maxAttempts: number,
  pauseMs: number,
  options: RekeyOptions,
  workersFor: (total: number) => RekeyWorkers | undefined,
): Promise<RekeyTableSummary> {
  const { db, codec } = target;
  const run = <T>(query: () => Promise<T>, operation: string) => withStoreRetry(target.retry, operation, query);
  const table = qualified(target, spec.name);
  const totals = { seen: 0, rekeyed: 0, current: 0, conflicts: 0, gaveUp: 0, unreadableCount: 0 };
  const unreadable: string[] = [];
  const report = () => ({ ...totals, unreadable: [...unreadable] });
  const columns = [...new Set([spec.key, spec.guard, ...spec.secrets])];
  const fast = target.sqliteDatabase === undefined ? undefined : new SqliteRekeyStatements(target.sqliteDatabase, spec, columns);
  const total = Number((await run(() => db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(), 'counting rows')).n);
  const workers = workersFor(total);
  const planRows = (rows: readonly Row[]): Promise<Plan[]> => (workers === undefined ? Promise.resolve(rows.map((row) => plan(row, spec, codec))) : planOnWorkers(rows, spec, codec, workers));
  let after: string | undefined;
  const readPage = async (): Promise<Row[]> => {
    const page = await run(async () => {
      if (fast !== undefined) return fast.page(after, pageSize);
      let query = db.selectFrom(table).select(columns).orderBy(spec.key).limit(pageSize);
      if (after !== undefined) query = query.where(spec.key, '>', after);
      return query.execute();
    }, `reading ${spec.table}`);
    if (page.length > 0) after = String((page[page.length - 1] as Row)[spec.key]);
    return page;
  };
  /** A page and its plans, under way (on the workers) while the page before it is written. */
  const start = (page: Row[]) => {
    const plans = page.length === 0 ? Promise.resolve([]) : planRows(page);
    plans.catch(() => undefined); // awaited below; not an unhandled rejection if the run stops first
    return { page, plans };
  };
  options.signal?.throwIfAborted();
  let current = start(await readPage());
  while (current.page.length > 0) {
    // With workers, the next page is read and sent off before this one is written: a pipeline.
    // Without them the crypto runs on this thread, and the next page is read after the write as before.
    const next = workers !== undefined ? start(await readPage()) : undefined;
    const page = current.page;
    totals.seen += page.length;
    let pending: readonly Row[] = page;
    let plans = await current.plans;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const rewrites: Rewrite[] = [];
      pending.forEach((row, i) => {
        const planned = plans[i] as Plan;
        if (planned === 'unreadable') {
          totals.unreadableCount++;
          if (unreadable.length < MAX_LISTED_UNREADABLE) unreadable.push(String(row[spec.key]));
        }
        else if (planned === 'current') totals.current++;
        else rewrites.push(planned);
      });
      if (rewrites.length === 0) break;
      const written = await run(
        async () => (fast !== undefined && !fast.busyElsewhere() ? fast.write(rewrites) : writeGuarded(target, spec, rewrites)),
        `rekeying ${spec.table}`,
      );
      totals.rekeyed += written.size;
      const missed = rewrites.filter((r) => !written.has(r.key)).map((r) => r.key);
      if (missed.length === 0) break;
      totals.conflicts += missed.length;
      if (attempt >= maxAttempts) {
        totals.gaveUp += missed.length;
        break;
      }
      // Changed meanwhile (a refresh, say): read the rows as they are now and decide again.
      pending = await run(() => db.selectFrom(table).select(columns).where(spec.key, 'in', missed).execute(), `reading ${spec.table}`);
      plans = await planRows(pending);
    }
    options.onProgress?.({ table: spec.table, total, summary: report() });
    // One page at a time, yielding in between: the store keeps serving this process's other calls.
    if (pauseMs > 0) await target.retry.clock.sleep(pauseMs);
    else await new Promise<void>((resolve) => setImmediate(resolve));
    // Stops between pages: a page read ahead is dropped unwritten.
    options.signal?.throwIfAborted();
    current = next ?? start(await readPage());
  }
  return report();
}

/**
 * {@link plan} for a page, the decoding and encoding done on the worker threads: every value that
 * needs it goes over in one batch (the pool splits it between threads); a row any of whose values
 * does not decode is unreadable, as on this thread.
 */
async function planOnWorkers(rows: readonly Row[], spec: TableSpec, codec: SecretCodec, workers: RekeyWorkers): Promise<Plan[]> {
  const plans: (Plan | (string | null)[])[] = [];
  const values: string[] = [];
  const locations: string[] = [];
  /** Where each sent value goes back: row, column. */
  const slots: [number, number][] = [];
  rows.forEach((row, r) => {
    const key = row[spec.key];
    if (typeof key !== 'string') return void plans.push('unreadable');
    const kept: (string | null)[] = [];
    for (let c = 0; c < spec.secrets.length; c++) {
      const column = spec.secrets[c] as string;
      const stored = row[column];
      if (stored === null || stored === undefined) kept.push(null);
      else if (typeof stored !== 'string') return void plans.push('unreadable');
      else {
        kept.push(stored);
        if (codec.needsRekey === undefined || codec.needsRekey(stored)) {
          values.push(stored);
          locations.push(formatSecretLocation({ table: spec.table, column, key }));
          slots.push([r, c]);
        }
      }
    }
    plans.push(kept);
  });
  const recoded = values.length === 0 ? [] : await workers.recode(values, locations);
  const changed = new Set<number>();
  slots.forEach(([r, c], i) => {
    const row = plans[r];
    if (typeof row !== 'object' || row === null || !Array.isArray(row)) return;
    const value = recoded[i];
    if (value === null || value === undefined) plans[r] = 'unreadable';
    else {
      row[c] = value;
      changed.add(r);
    }
  });
  return plans.map((p, r) => (Array.isArray(p) ? (changed.has(r) ? { key: rows[r]?.[spec.key] as string, guard: rows[r]?.[spec.guard], values: p } : 'current') : p));
}

/** What to write for `row`: its secrets re-encoded where the codec asks for it. */
function plan(row: Row, spec: TableSpec, codec: SecretCodec): Plan {
  const key = row[spec.key];
  if (typeof key !== 'string') return 'unreadable';
  let changed = false;
  const values: (string | null)[] = [];
  for (const column of spec.secrets) {
    const stored = row[column];
    if (stored === null || stored === undefined) {
      values.push(null);
      continue;
    }
    if (typeof stored !== 'string') return 'unreadable';
    if (codec.needsRekey !== undefined && !codec.needsRekey(stored)) {
      values.push(stored);
      continue;
    }
    const at: SecretLocation = { table: spec.table, column, key };
    try {
      values.push(codec.encode(codec.decode(stored, at), at));
    } catch {
      return 'unreadable';
    }
    changed = true;
  }
  return changed ? { key, guard: row[spec.guard], values } : 'current';
}

/**
 * One statement for the page: `WITH v(key, guard, secrets…) AS (VALUES …) UPDATE t SET … FROM v
 * WHERE t.key = v.key AND t.guard = v.guard RETURNING t.key`. Returns the keys written.
 *
 * The text is built here rather than with Kysely's `sql` template: compiling a template of thousands
 * of values cost more than the statement itself (about 60 µs a row against 25). Every value is a bound
 * parameter; the only names in the text are tokenvault's own identifiers, checked when the store was
 * made (`assertSqlIdentifier`). SQLite's RETURNING sees only the updated table, and only unqualified.
 */
async function writeGuarded(target: RekeyTarget, spec: TableSpec, rewrites: readonly Rewrite[]): Promise<Set<string>> {
  const q = (name: string) => `"${name}"`;
  const query = guardedUpdateQuery(
    {
      dialect: target.dialect,
      table: target.schema === undefined ? q(spec.name) : `${q(target.schema)}.${q(spec.name)}`,
      key: spec.key,
      guard: spec.guard,
      columns: spec.secrets,
      types: { key: 'text', guard: spec.guardIsInteger ? 'bigint' : 'text', columns: spec.secrets.map(() => 'text') },
    },
    // A bigint guard goes to pg as its decimal text (pg has no binding for a JS bigint).
    rewrites.map((r) => ({ key: r.key, guard: spec.guardIsInteger && target.dialect === 'postgres' ? String(r.guard) : r.guard, values: r.values })),
  );
  const result = await target.db.executeQuery(query);
  return new Set(result.rows.map((r) => String(r.k)));
}

/**
 * The SQLite statements of a rekey, prepared once on the better-sqlite3 handle: a keyset page read and
 * a guarded one-row update. A page's updates run in one `BEGIN IMMEDIATE` transaction: measured, row
 * statements in a transaction beat one `UPDATE … FROM (VALUES …)` of the same page (whose text, with
 * thousands of parameters, SQLite must also compile each time). Names are tokenvault's own, checked
 * identifiers; every value is bound.
 */
class SqliteRekeyStatements {
  readonly #handle: BetterSqlite3.Database;
  readonly #first: BetterSqlite3.Statement;
  readonly #after: BetterSqlite3.Statement;
  readonly #update: BetterSqlite3.Statement;

  constructor(handle: BetterSqlite3.Database, spec: TableSpec, columns: readonly string[]) {
    const q = (name: string) => `"${name}"`;
    const select = `select ${columns.map(q).join(', ')} from ${q(spec.name)}`;
    this.#handle = handle;
    this.#first = handle.prepare(`${select} order by ${q(spec.key)} limit ?`);
    this.#after = handle.prepare(`${select} where ${q(spec.key)} > ? order by ${q(spec.key)} limit ?`);
    this.#update = handle.prepare(
      `update ${q(spec.name)} set ${spec.secrets.map((c) => `${q(c)} = ?`).join(', ')} where ${q(spec.key)} = ? and ${q(spec.guard)} = ?`,
    );
  }

  page(after: string | undefined, limit: number): Row[] {
    return (after === undefined ? this.#first.all(limit) : this.#after.all(after, limit)) as Row[];
  }

  /** A Kysely transaction holds the connection (its statements would be joined): let Kysely's path wait its turn. */
  busyElsewhere(): boolean {
    return this.#handle.inTransaction;
  }

  write(rewrites: readonly Rewrite[]): Set<string> {
    const written = new Set<string>();
    this.#handle
      .transaction(() => {
        for (const r of rewrites) if (this.#update.run(...r.values, r.key, r.guard).changes === 1) written.add(r.key);
      })
      .immediate();
    return written;
  }
}

function qualified(target: RekeyTarget, name: string): string {
  return target.schema === undefined ? name : `${target.schema}.${name}`;
}
