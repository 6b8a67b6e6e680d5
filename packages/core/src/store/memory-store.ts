import {
  assertWritableClientRecord,
  assertWritableGrantRecord,
  compareCodePoints,
  freezeClientRecord,
  freezeGrantRecord,
} from './grant-record';
import type { ClientRecord, DueGrant, GrantFilter, GrantRecord, GrantStore, Page, PageRequest } from './grant-store';
import { closedStoreError, stateHashTakenError } from './store-errors';
import { assertPageRequest, buildPage, decodePageCursor, type PageKey } from './page-cursor';
import {
  assertEpochMs,
  assertFirstVersion,
  assertKeyArgument,
  assertNextVersion,
  assertOptionalVersion,
  normalizeGrantFilter,
  type NormalizedGrantFilter,
} from './store-arguments';

/**
 * The reference {@link GrantStore}: grants in a `Map`, in this process only. Use it in tests and in
 * single-process tools; every other adapter must behave exactly like it (the conformance suite uses it
 * as the model).
 *
 * Records are stored as frozen copies and `get` hands out the stored object itself, so a read costs
 * a map lookup. Listings scan every grant (O(n) per page): fine up to some hundred thousand grants.
 *
 * @example
 * const store = memoryStore();
 * await store.create(record);
 * const same = await store.get(record.grantId); // frozen, equal to `record`
 */
export class MemoryGrantStore implements GrantStore {
  readonly #grants = new Map<string, GrantRecord>();
  /** Pending state hash → grant id: the unique index the SQL adapters have. */
  readonly #byStateHash = new Map<string, string>();
  readonly #clients = new Map<string, ClientRecord>();
  #closed = false;

  async get(grantId: string): Promise<GrantRecord | undefined> {
    if (this.#closed) throw closedStoreError();
    return this.#grants.get(grantId);
  }

  async create(record: GrantRecord): Promise<boolean> {
    if (this.#closed) throw closedStoreError();
    assertWritableGrantRecord(record);
    assertFirstVersion(record);
    if (this.#grants.has(record.grantId)) return false;
    this.#put(freezeGrantRecord(record), undefined);
    return true;
  }

  async compareAndSet(next: GrantRecord, expectedVersion: number): Promise<boolean> {
    if (this.#closed) throw closedStoreError();
    assertWritableGrantRecord(next);
    assertNextVersion(next, expectedVersion);
    const current = this.#grants.get(next.grantId);
    if (current === undefined || current.version !== expectedVersion) return false;
    this.#put(freezeGrantRecord(next), current);
    return true;
  }

  async delete(grantId: string, expectedVersion?: number): Promise<boolean> {
    if (this.#closed) throw closedStoreError();
    assertKeyArgument(grantId, 'grantId');
    assertOptionalVersion(expectedVersion);
    const current = this.#grants.get(grantId);
    if (current === undefined || (expectedVersion !== undefined && current.version !== expectedVersion)) return false;
    this.#grants.delete(grantId);
    if (current.pending !== null) this.#byStateHash.delete(current.pending.stateHash);
    return true;
  }

  async findByStateHash(stateHash: string): Promise<GrantRecord | undefined> {
    if (this.#closed) throw closedStoreError();
    assertKeyArgument(stateHash, 'stateHash');
    const grantId = this.#byStateHash.get(stateHash);
    return grantId === undefined ? undefined : this.#grants.get(grantId);
  }

  async listDue(beforeMs: number, page: PageRequest): Promise<Page<DueGrant>> {
    if (this.#closed) throw closedStoreError();
    assertEpochMs(beforeMs, 'beforeMs');
    assertPageRequest(page);
    const after = decodePageCursor('due', page.cursor);
    const rows: GrantRecord[] = [];
    for (const r of this.#grants.values()) {
      const at = r.accessTokenExpiresAt;
      if (r.state !== 'authorized' || at === null || at >= beforeMs) continue;
      if (after !== undefined && compareTimed(at, r.grantId, after.at, after.grantId) <= 0) continue;
      rows.push(r);
    }
    rows.sort((a, b) => compareTimed(a.accessTokenExpiresAt as number, a.grantId, b.accessTokenExpiresAt as number, b.grantId));
    return pageOfKeys(rows, page.limit, (r) => ({ kind: 'due', at: r.accessTokenExpiresAt as number, grantId: r.grantId }));
  }

  async listExpiredLeases(nowMs: number, page: PageRequest): Promise<Page<DueGrant>> {
    if (this.#closed) throw closedStoreError();
    assertEpochMs(nowMs, 'nowMs');
    assertPageRequest(page);
    const after = decodePageCursor('lease', page.cursor);
    const rows: GrantRecord[] = [];
    for (const r of this.#grants.values()) {
      if (r.state !== 'refreshing' || r.lease === null || r.lease.until >= nowMs) continue;
      if (after !== undefined && compareTimed(r.lease.until, r.grantId, after.at, after.grantId) <= 0) continue;
      rows.push(r);
    }
    const until = (r: GrantRecord) => (r.lease as { until: number }).until;
    rows.sort((a, b) => compareTimed(until(a), a.grantId, until(b), b.grantId));
    return pageOfKeys(rows, page.limit, (r) => ({ kind: 'lease', at: until(r), grantId: r.grantId }));
  }

  async list(filter: GrantFilter, page: PageRequest): Promise<Page<GrantRecord>> {
    if (this.#closed) throw closedStoreError();
    const f = normalizeGrantFilter(filter);
    assertPageRequest(page);
    const after = decodePageCursor('grant', page.cursor);
    const rows: GrantRecord[] = [];
    for (const r of this.#grants.values()) {
      if (!matches(r, f)) continue;
      if (after !== undefined && compareCodePoints(r.grantId, after.grantId) <= 0) continue;
      rows.push(r);
    }
    rows.sort((a, b) => compareCodePoints(a.grantId, b.grantId));
    return pageOfRecords(rows, page.limit, (r) => ({ kind: 'grant', grantId: r.grantId }));
  }

  async count(filter: GrantFilter): Promise<number> {
    if (this.#closed) throw closedStoreError();
    const f = normalizeGrantFilter(filter);
    let n = 0;
    for (const r of this.#grants.values()) if (matches(r, f)) n++;
    return n;
  }

  async getClient(id: string): Promise<ClientRecord | undefined> {
    if (this.#closed) throw closedStoreError();
    return this.#clients.get(id);
  }

  async putClient(record: ClientRecord): Promise<void> {
    if (this.#closed) throw closedStoreError();
    assertWritableClientRecord(record);
    this.#clients.set(record.id, freezeClientRecord(record));
  }

  async deleteClient(id: string): Promise<boolean> {
    if (this.#closed) throw closedStoreError();
    assertKeyArgument(id, 'id');
    return this.#clients.delete(id);
  }

  async listClients(): Promise<readonly ClientRecord[]> {
    if (this.#closed) throw closedStoreError();
    return [...this.#clients.values()].sort((a, b) => compareCodePoints(a.id, b.id));
  }

  /** Further calls reject with a `StoreError`; closing again is a no-op. The data stays readable through {@link peek}. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /**
   * The stored record, read around the contract (even after `close`): the conformance suite's
   * raw-read oracle, and a debugging aid. Never use it in place of `get`.
   */
  peek(grantId: string): GrantRecord | undefined {
    return this.#grants.get(grantId);
  }

  /** Stores `record` (already frozen) in place of `previous`, keeping the state-hash index unique. */
  #put(record: GrantRecord, previous: GrantRecord | undefined): void {
    const hash = record.pending?.stateHash;
    if (hash !== undefined) {
      const holder = this.#byStateHash.get(hash);
      if (holder !== undefined && holder !== record.grantId) throw stateHashTakenError();
    }
    const previousHash = previous?.pending?.stateHash;
    if (previousHash !== undefined && previousHash !== hash) this.#byStateHash.delete(previousHash);
    if (hash !== undefined) this.#byStateHash.set(hash, record.grantId);
    this.#grants.set(record.grantId, record);
  }
}

/**
 * A new, empty in-memory store (see {@link MemoryGrantStore}).
 *
 * @example
 * const vault = createVault({ store: memoryStore(), clients: [...] });
 */
export function memoryStore(): MemoryGrantStore {
  return new MemoryGrantStore();
}

function compareTimed(at: number, grantId: string, otherAt: number, otherId: string): number {
  return at !== otherAt ? at - otherAt : compareCodePoints(grantId, otherId);
}

function matches(r: GrantRecord, f: NormalizedGrantFilter): boolean {
  return (f.states === undefined || f.states.includes(r.state)) && (f.client === undefined || r.client === f.client);
}

function pageOfRecords(sorted: GrantRecord[], limit: number, keyOf: (r: GrantRecord) => PageKey): Page<GrantRecord> {
  return buildPage(sorted.length > limit + 1 ? sorted.slice(0, limit + 1) : sorted, limit, keyOf, (r) => r);
}

/** A page of a timed listing: the keys of the records, each with the time it is listed by. */
function pageOfKeys(sorted: GrantRecord[], limit: number, keyOf: (r: GrantRecord) => PageKey & { at: number }): Page<DueGrant> {
  return buildPage(sorted.length > limit + 1 ? sorted.slice(0, limit + 1) : sorted, limit, keyOf, (r) => {
    const { grantId, at } = keyOf(r);
    return { grantId, at };
  });
}
