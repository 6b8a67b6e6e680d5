import type { GrantRecord, GrantStore } from '../../src/store/grant-store';

/** One successful write to the shared store, in the world's global order. */
export interface WriteEntry {
  /** Global order (shared with provider events and hand-outs). */
  readonly order: number;
  /** World time. */
  readonly at: number;
  /** Owner name of the vault that wrote it (`seed` for the world's initial records). */
  readonly vault: string;
  readonly op: 'create' | 'cas' | 'delete';
  readonly grantId: string;
  readonly before: GrantRecord | undefined;
  readonly after: GrantRecord | undefined;
}

/** A write the store refused with an injected failure. */
export interface FailedWrite {
  readonly order: number;
  readonly vault: string;
  readonly op: 'create' | 'cas' | 'delete';
  readonly grantId: string;
}

/**
 * The store every vault of a world shares, seen from above: it forwards to the real store and keeps a
 * shadow of what was written and a log of every successful write. All writes of a world go through
 * here, so the shadow is exactly the stored state (the oracle for invariants 3 to 7).
 */
export class ObservedStore {
  readonly writes: WriteEntry[] = [];
  readonly failedWrites: FailedWrite[] = [];
  readonly shadow = new Map<string, GrantRecord>();
  readonly base: GrantStore;
  readonly #order: () => number;
  readonly #now: () => number;

  constructor(base: GrantStore, order: () => number, now: () => number) {
    this.base = base;
    this.#order = order;
    this.#now = now;
  }

  async create(vault: string, record: GrantRecord): Promise<boolean> {
    const ok = await this.base.create(record);
    if (ok) this.#log(vault, 'create', record.grantId, undefined, record);
    return ok;
  }

  async compareAndSet(vault: string, next: GrantRecord, expectedVersion: number): Promise<boolean> {
    const before = this.shadow.get(next.grantId);
    const ok = await this.base.compareAndSet(next, expectedVersion);
    if (ok) this.#log(vault, 'cas', next.grantId, before, next);
    return ok;
  }

  async delete(vault: string, grantId: string, expectedVersion?: number): Promise<boolean> {
    const before = this.shadow.get(grantId);
    const ok = await this.base.delete(grantId, expectedVersion);
    if (ok) this.#log(vault, 'delete', grantId, before, undefined);
    return ok;
  }

  recordFailure(vault: string, op: FailedWrite['op'], grantId: string): void {
    this.failedWrites.push({ order: this.#order(), vault, op, grantId });
  }

  /** Writes of one grant, oldest first. */
  writesOf(grantId: string): WriteEntry[] {
    return this.writes.filter((w) => w.grantId === grantId);
  }

  #log(vault: string, op: WriteEntry['op'], grantId: string, before: GrantRecord | undefined, after: GrantRecord | undefined): void {
    if (after) this.shadow.set(grantId, after);
    else this.shadow.delete(grantId);
    this.writes.push({ order: this.#order(), at: this.#now(), vault, op, grantId, before, after });
  }
}

/** How a vault's view of the store behaves: scheduling points, crash, injected write failures. */
export interface StoreSeam {
  /** Resolves when the scheduler lets this vault's next store call through; never, once it crashed. */
  gate(label: string): Promise<void>;
  /** Runs a store call that may take real time (SQL) so the world can wait for it. */
  track<T>(work: () => Promise<T>): Promise<T>;
  /** True when this write must fail (the world's fault plan). */
  writeFails(op: FailedWrite['op'], grantId: string): boolean;
  /** The `StoreError` to throw (the engine's own class: the vault retries only those). */
  storeError(message: string): Error;
  readonly owner: string;
}

/**
 * One vault's store: every call waits for the scheduler (so fast-check decides the interleaving), a
 * crashed vault's calls never settle, and writes fail when the fault plan says so, leaving the stored
 * record as it was (what the store contract promises for a failed write).
 */
export function vaultStore(observed: ObservedStore, seam: StoreSeam): GrantStore {
  const base = observed.base;
  const read = <T>(label: string, work: () => Promise<T>): Promise<T> => seam.gate(label).then(() => seam.track(work));
  const write = <T>(op: FailedWrite['op'], grantId: string, label: string, work: () => Promise<T>): Promise<T> =>
    seam.gate(label).then(() => {
      if (seam.writeFails(op, grantId)) {
        observed.recordFailure(seam.owner, op, grantId);
        throw seam.storeError(`injected ${op} failure`);
      }
      return seam.track(work);
    });
  const o = seam.owner;
  return {
    get: (grantId) => read(`${o} store.get ${grantId}`, () => base.get(grantId)),
    create: (record) => write('create', record.grantId, `${o} store.create ${record.grantId}`, () => observed.create(o, record)),
    compareAndSet: (next, expected) =>
      write('cas', next.grantId, `${o} store.cas ${next.grantId} v${expected}→${next.state}`, () => observed.compareAndSet(o, next, expected)),
    delete: (grantId, expected) => write('delete', grantId, `${o} store.delete ${grantId}`, () => observed.delete(o, grantId, expected)),
    findByStateHash: (hash) => read(`${o} store.findByStateHash`, () => base.findByStateHash(hash)),
    listDue: (before, page) => read(`${o} store.listDue`, () => base.listDue(before, page)),
    listExpiredLeases: (now, page) => read(`${o} store.listExpiredLeases`, () => base.listExpiredLeases(now, page)),
    list: (filter, page) => read(`${o} store.list`, () => base.list(filter, page)),
    count: (filter) => read(`${o} store.count`, () => base.count(filter)),
    getClient: (id) => read(`${o} store.getClient`, () => base.getClient(id)),
    putClient: (record) => read(`${o} store.putClient`, () => base.putClient(record)),
    deleteClient: (id) => read(`${o} store.deleteClient`, () => base.deleteClient(id)),
    listClients: () => read(`${o} store.listClients`, () => base.listClients()),
    // Closing one vault must not close the store the others share.
    close: async () => {},
  };
}
