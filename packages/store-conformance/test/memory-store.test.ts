import { memoryStore } from '@tokenvault/core';
import { describeGrantStoreConformance, toPlainGrant } from '../src/index';

// The reference store holds no raw bytes to damage, so it has no `corrupt` hook: those tests skip.
describeGrantStoreConformance('memory', async () => {
  const store = memoryStore();
  return {
    store,
    rawRead: async (grantId) => toPlainGrant(store.peek(grantId)),
    dispose: () => store.close(),
  };
});
