import { CompiledQuery, type Kysely } from 'kysely';
import { GRANT_COLUMNS } from './row-mapping';

type Row = Record<string, unknown>;

/** Keys per statement: one array parameter, so only the answer's size bounds it. */
const MAX_KEYS = 1_000;

interface Waiter {
  readonly resolve: (row: Row | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Batched reads on PostgreSQL, the read side of {@link PostgresCasGroups}: the grants asked for during
 * one turn of the event loop (a sweep's refreshes starting together) are read by one statement, one
 * round trip,
 *
 *   SELECT <every column> FROM grants WHERE grant_id = ANY($1::text[])
 *
 * and each caller gets its own row (or undefined). A read is never answered from older data than a
 * read of its own would see: the statement runs after the call, in the same turn's batch or later. A
 * failing statement fails every caller in it with its error; each caller's own retry takes it from
 * there. The key list is one bound parameter; the only names in the text are tokenvault's own.
 *
 * @example
 * const reads = new PostgresReadBatches(db, '"public"."tokenvault_grants"');
 * const row = await reads.get('alice');
 */
export class PostgresReadBatches {
  readonly #db: Kysely<any>;
  readonly #sql: string;
  #queue = new Map<string, Waiter[]>();
  readonly #inFlight = new Set<Promise<void>>();

  /** `table`: the grants table, quoted and qualified as it goes into SQL. */
  constructor(db: Kysely<any>, table: string) {
    this.#db = db;
    this.#sql = `select ${GRANT_COLUMNS.map((c) => `"${c}"`).join(', ')} from ${table} where "grant_id" = any($1::text[])`;
  }

  /** The stored row of `grantId`, read with the other reads of this turn. */
  get(grantId: string): Promise<Row | undefined> {
    return new Promise<Row | undefined>((resolve, reject) => {
      const waiters = this.#queue.get(grantId);
      if (waiters !== undefined) waiters.push({ resolve, reject });
      else if (this.#queue.set(grantId, [{ resolve, reject }]).size === 1) setImmediate(() => this.flushNow());
    });
  }

  /** Sends what is queued now. */
  flushNow(): void {
    const queued = this.#queue;
    if (queued.size === 0) return;
    this.#queue = new Map();
    const entries = [...queued];
    for (let i = 0; i < entries.length; i += MAX_KEYS) {
      const run: Promise<void> = this.#read(entries.slice(i, i + MAX_KEYS)).finally(() => this.#inFlight.delete(run));
      this.#inFlight.add(run);
    }
  }

  /** Sends what is queued and waits for every statement in flight (before the pool closes). */
  async drain(): Promise<void> {
    this.flushNow();
    await Promise.allSettled([...this.#inFlight]);
  }

  async #read(entries: ReadonlyArray<readonly [string, Waiter[]]>): Promise<void> {
    let rows: readonly Row[];
    try {
      rows = (await this.#db.executeQuery<Row>(CompiledQuery.raw(this.#sql, [entries.map(([id]) => id)]))).rows;
    } catch (e) {
      for (const [, waiters] of entries) for (const w of waiters) w.reject(e);
      return;
    }
    const byId = new Map<unknown, Row>();
    for (const row of rows) byId.set(row.grant_id, row);
    for (const [id, waiters] of entries) {
      const row = byId.get(id);
      for (const w of waiters) w.resolve(row);
    }
  }
}
