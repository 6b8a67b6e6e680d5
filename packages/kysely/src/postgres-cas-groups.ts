import type { Kysely } from 'kysely';
import type { DriverFailure } from './driver-errors';
import { CasGroups, type QueuedCas } from './group-commit';
import { type GuardedUpdate, guardedUpdateQuery } from './guarded-update';
import { CAS_COLUMNS, INT64_GRANT_COLUMNS } from './row-mapping';

/** Rows per statement: 23 parameters each, well under PostgreSQL's 65,535. */
const MAX_ROWS = 500;

/**
 * Group commit on PostgreSQL ({@link CasGroups}): the compare-and-sets asked for during one turn of
 * the event loop become one statement, one round trip and one commit,
 *
 *   WITH v(k, g, <columns>) AS (VALUES ($1::text, $2::bigint, …), …)
 *   UPDATE grants AS t SET <every column> = v.<column> FROM v WHERE t.grant_id = v.k AND t.version = v.g
 *   RETURNING t.grant_id                                        (see {@link guardedUpdateQuery})
 *
 * each row guarded by its own expected version, exactly as the single statement guards it (under READ
 * COMMITTED a row another writer changed meanwhile is re-checked and matches nothing). A grant asked
 * for twice in one turn goes in the next statement, after the first (one UPDATE cannot tell which of
 * two rows for one target won). A statement that fails for good (a unique state hash taken) runs its
 * members one by one, each meeting its own outcome; a failure worth retrying (a dropped connection,
 * a serialization failure) fails every member with it, and each caller's retry takes it from there
 * (after an ambiguous drop, reading back whether its own write landed). Every value is a bound
 * parameter; the only names in the text are tokenvault's own, checked identifiers.
 */
export class PostgresCasGroups {
  readonly #db: Kysely<any>;
  readonly #classify: (e: unknown) => DriverFailure;
  readonly #spec: GuardedUpdate;
  readonly #groups = new CasGroups((queued) => this.#commit(queued));
  readonly #inFlight = new Set<Promise<void>>();

  /** `table`: the grants table, quoted and qualified as it goes into SQL. */
  constructor(db: Kysely<any>, table: string, classify: (e: unknown) => DriverFailure) {
    this.#db = db;
    this.#classify = classify;
    this.#spec = {
      dialect: 'postgres',
      table,
      key: 'grant_id',
      guard: 'version',
      columns: CAS_COLUMNS,
      types: { key: 'text', guard: 'bigint', columns: CAS_COLUMNS.map((c) => (INT64_GRANT_COLUMNS.has(c) ? 'bigint' : 'text')) },
    };
  }

  /** Queues a compare-and-set for this turn's statement; `alone` runs it by itself. */
  compareAndSet(grantId: string, parameters: readonly unknown[], alone: () => Promise<boolean>): Promise<boolean> {
    return this.#groups.add(grantId, parameters, alone);
  }

  /** Sends what is queued and waits for every statement in flight (before the pool closes). */
  async drain(): Promise<void> {
    this.#groups.flushNow();
    await Promise.allSettled([...this.#inFlight]);
  }

  #commit(queued: QueuedCas[]): void {
    const run: Promise<void> = this.#rounds(queued).finally(() => this.#inFlight.delete(run));
    this.#inFlight.add(run);
  }

  async #rounds(queued: readonly QueuedCas[]): Promise<void> {
    let rest = queued;
    while (rest.length > 0) {
      const round: QueuedCas[] = [];
      const later: QueuedCas[] = [];
      const ids = new Set<string>();
      for (const q of rest) {
        if (ids.has(q.grantId) || round.length >= MAX_ROWS) later.push(q);
        else {
          ids.add(q.grantId);
          round.push(q);
        }
      }
      await this.#round(round);
      rest = later;
    }
  }

  async #round(round: readonly QueuedCas[]): Promise<void> {
    if (round.length === 1) {
      const q = round[0]!;
      await q.alone().then(q.resolve, q.reject);
      return;
    }
    let written: Set<string>;
    try {
      written = await this.#writeTogether(round);
    } catch (e) {
      if (this.#classify(e) === 'fail') {
        await Promise.all(round.map((q) => q.alone().then(q.resolve, q.reject)));
      } else {
        for (const q of round) q.reject(e);
      }
      return;
    }
    for (const q of round) q.resolve(written.has(q.grantId));
  }

  async #writeTogether(round: readonly QueuedCas[]): Promise<Set<string>> {
    // casParameters order is (new values…, key, expected version).
    const rows = round.map(({ parameters: p }) => ({ key: p[p.length - 2], guard: p[p.length - 1], values: p.slice(0, p.length - 2) }));
    const result = await this.#db.executeQuery(guardedUpdateQuery(this.#spec, rows));
    return new Set(result.rows.map((r) => String(r.k)));
  }

}
