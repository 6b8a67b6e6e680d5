import type { GrantStore } from '@tokenvault/core';

/**
 * What an adapter hands the conformance suite: a store on empty storage, plus a way to look at that
 * storage without going through the store.
 *
 * @example
 * const factory = async (): Promise<StoreHarness> => {
 *   const store = memoryStore();
 *   return { store, rawRead: async (id) => toPlainGrant(store.peek(id)), dispose: () => store.close() };
 * };
 */
export interface StoreHarness {
  /** A store on empty storage (no grants, no clients), used by one test only. */
  readonly store: GrantStore;
  /**
   * The raw-read oracle: the grant as it really is in storage, read around the store (its own SQL on a
   * separate connection, say), or undefined when no row exists. Return the {@link PlainGrant} shape:
   * record field names, secrets as plain (decoded) strings, times as numbers, JSON columns parsed.
   */
  rawRead(grantId: string): Promise<Record<string, unknown> | undefined>;
  /**
   * Damages the stored grant so that it can no longer be read back as a record (unparseable JSON in
   * a column, say) while its keys and state stay in place. Adapters that cannot hold a corrupt value
   * (the memory store) leave it out, and the corrupt-row tests are skipped for them.
   */
  corrupt?(grantId: string): Promise<void>;
  /** Closes the store if the test has not, and removes the storage (files, schema). */
  dispose(): Promise<void>;
}

/** Makes a fresh harness; the suite calls it once per test and once per model run. */
export type StoreHarnessFactory = () => Promise<StoreHarness>;
