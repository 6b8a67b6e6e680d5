/**
 * Group commit, shared by the SQLite and PostgreSQL stores: the compare-and-sets asked for during one
 * turn of the event loop (a sweep's or a storm's refresh answers arriving together) are handed to the
 * store's `flush` together, right after the turn's I/O callbacks (`setImmediate`), so it can write
 * them with one commit. Each caller is answered on its own, after that commit.
 */

/** A compare-and-set waiting for its group. */
export interface QueuedCas {
  readonly grantId: string;
  /** The compare-and-set statement's parameters (see `casParameters`). */
  readonly parameters: readonly unknown[];
  /** Runs it on its own, as without grouping (Kysely's path). */
  readonly alone: () => Promise<boolean>;
  readonly resolve: (changed: boolean | Promise<boolean>) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Collects compare-and-sets for one turn and hands them to `flush`.
 *
 * @example
 * const groups = new CasGroups((queued) => writeTogether(queued));
 * const changed = await groups.add(grantId, parameters, () => writeAlone(parameters));
 */
export class CasGroups {
  readonly #flush: (queued: QueuedCas[]) => void;
  #queue: QueuedCas[] = [];

  constructor(flush: (queued: QueuedCas[]) => void) {
    this.#flush = flush;
  }

  add(grantId: string, parameters: readonly unknown[], alone: () => Promise<boolean>): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      if (this.#queue.push({ grantId, parameters, alone, resolve, reject }) === 1) setImmediate(() => this.flushNow());
    });
  }

  /** Hands what is queued to `flush` now (before the store closes, say). */
  flushNow(): void {
    const queued = this.#queue;
    if (queued.length === 0) return;
    this.#queue = [];
    this.#flush(queued);
  }
}
