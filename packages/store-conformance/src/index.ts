/**
 * @tokenvault/store-conformance — the one suite every tokenvault store adapter runs unchanged.
 *
 * @example
 * import { describeGrantStoreConformance, toPlainGrant } from '@tokenvault/store-conformance';
 * describeGrantStoreConformance('memory', async () => {
 *   const store = memoryStore();
 *   return { store, rawRead: async (id) => toPlainGrant(store.peek(id)), dispose: () => store.close() };
 * });
 */
export { describeGrantStoreConformance, type ConformanceOptions } from './describe-grant-store-conformance';
export { runGrantStoreModel, type ModelRunOptions } from './grant-store-model';
export { BASE_TIME, makeClientRecord, makeGrantRecord, nextGrantRecord, uniqueGrantId } from './grant-record-builder';
export { toPlainClient, toPlainGrant, type PlainClient, type PlainGrant } from './plain-records';
export type { StoreHarness, StoreHarnessFactory } from './store-harness';
