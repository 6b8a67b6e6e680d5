import * as core from '../../src/index';
import type { GrantStore } from '../../src/store/grant-store';

/**
 * What the simulation needs from the engine, as one module object. The real engine is `core`; a
 * deliberately broken copy (see `mutants.ts`) is loaded from a patched copy of `src/` and has the same
 * shape. Errors are told apart by their `code` string, never by `instanceof`, so that a mutant's own
 * error classes are recognised too.
 */
export type Engine = typeof core;

/** The engine under test: `packages/core/src`. */
export const realEngine: Engine = core;

/**
 * Makes the store every vault of one simulated world shares. It receives the engine because records
 * hold the engine's own `Secret` class, which a store checks with `instanceof`.
 */
export type StoreFactory = (engine: Engine) => Promise<SimStoreHandle> | SimStoreHandle;

export interface SimStoreHandle {
  readonly store: GrantStore;
  /** Drops the store (closes connections, drops the schema). Called once per world. */
  dispose(): Promise<void>;
}

/** The memory store: the default world. */
export const memoryStoreFactory: StoreFactory = (engine) => {
  const store = engine.memoryStore();
  return { store, dispose: async () => store.close() };
};
