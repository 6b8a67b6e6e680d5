import { describe, expect, it } from 'vitest';
import { memoryStore, type GrantRecord, type GrantStore } from '@tokenvault/core';
import { runGrantStoreModel, toPlainGrant, type StoreHarness } from '../src/index';

/** A memory store with one method replaced by a subtly wrong one: the model test must catch it. */
function mutant(override: (inner: GrantStore) => Partial<GrantStore>): () => Promise<StoreHarness> {
  return async () => {
    const inner = memoryStore();
    const store: GrantStore = Object.assign(Object.create(inner) as GrantStore, override(inner));
    for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(inner)) as (keyof GrantStore)[]) {
      if (key !== ('constructor' as never) && !(key in override(inner))) {
        (store as unknown as Record<string, unknown>)[key] = (inner[key] as (...a: unknown[]) => unknown).bind(inner);
      }
    }
    return { store, rawRead: async (id) => toPlainGrant(inner.peek(id)), dispose: () => inner.close() };
  };
}

describe('the model-based test', () => {
  it('passes for the memory store against itself', async () => {
    await runGrantStoreModel(mutant(() => ({})), { numRuns: 50 });
  });

  it.each<[string, (inner: GrantStore) => Partial<GrantStore>]>([
    [
      'a compare-and-set that ignores the version',
      (inner) => ({
        compareAndSet: async (next: GrantRecord) => {
          const current = await inner.get(next.grantId);
          return current !== undefined && inner.compareAndSet({ ...next, version: current.version + 1 }, current.version);
        },
      }),
    ],
    [
      'a list ordered by UTF-16 code units instead of code points',
      (inner) => ({
        list: async (filter, page) => {
          const all = await inner.list(filter, { limit: 10_000 });
          const items = [...all.items].sort((a, b) => (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0));
          return page.cursor === undefined ? { items: items.slice(0, page.limit), cursor: items.length > page.limit ? 'x' : undefined } : { items: [], cursor: undefined };
        },
      }),
    ],
    [
      'a listDue that includes the bound itself',
      (inner) => ({ listDue: (before, page) => inner.listDue(before + 1, page) }),
    ],
    [
      'a delete that ignores the expected version',
      (inner) => ({ delete: (grantId: string) => inner.delete(grantId) }),
    ],
  ])('fails for %s', async (_label, override) => {
    // A fixed seed keeps this deterministic: the same sequences every run.
    await expect(runGrantStoreModel(mutant(override), { numRuns: 200, seed: 20_231_114 })).rejects.toThrow(/Property failed/);
  });
});
