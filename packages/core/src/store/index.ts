export * from './grant-store';
export * from './grant-record';
export * from './page-cursor';
export * from './store-arguments';
export * from './store-errors';
export { MemoryGrantStore, memoryStore } from './memory-store';
