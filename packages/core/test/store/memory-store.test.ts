import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors/errors';
import { memoryStore } from '../../src/store/memory-store';
import { grantRecord } from './grant-record-fixture';

// The behaviour every store shares is in @tokenvault/store-conformance (run against the memory store
// there); these tests cover what is particular to the reference implementation.
describe('memoryStore', () => {
  it('hands out the stored frozen record itself: a read copies nothing', async () => {
    const store = memoryStore();
    await store.create(grantRecord());
    const first = await store.get('alice');
    expect(await store.get('alice')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(store.peek('alice')).toBe(first);
  });

  it('stores a copy, not the caller’s object', async () => {
    const store = memoryStore();
    const record = grantRecord();
    await store.create(record);
    expect(await store.get('alice')).not.toBe(record);
    expect(await store.get('alice')).toEqual(record);
  });

  it('keeps its data readable through peek after close, while calls reject', async () => {
    const store = memoryStore();
    await store.create(grantRecord());
    await store.close();
    await expect(store.get('alice')).rejects.toBeInstanceOf(StoreError);
    expect(store.peek('alice')?.grantId).toBe('alice');
  });

  it('frees a state hash when its grant moves on or is deleted', async () => {
    const store = memoryStore();
    const pending = { stateHash: 'h', deadline: 1, scope: [], redirectUri: 'https://a/cb', codeVerifier: null, serverState: null };
    await store.create(grantRecord({ state: 'awaitingCode', pending }));
    await store.compareAndSet(grantRecord({ version: 2 }), 1);
    expect(await store.create(grantRecord({ grantId: 'bob', state: 'awaitingCode', pending }))).toBe(true);
    await store.delete('bob');
    expect(await store.findByStateHash('h')).toBeUndefined();
    expect(await store.create(grantRecord({ grantId: 'carol', state: 'awaitingCode', pending }))).toBe(true);
  });
});
