// Hot path: vault.getAccessToken on a valid token with the memory store, against a baseline that does
// `await map.get(id)` plus an expiry check, in the same run.
// Run: node scripts/run-source.mjs scripts/bench/get-access-token-memory.ts
// Targets (issue "Core engine"): ≥ 1,000,000 calls/s, and ≤ 3× the baseline's time per call.
import { createVault, memoryStore, providers } from '@tokenvault/core';
import { authorizedRecord } from './lib/grant-fixtures';
import { compareThroughput, table, verdict } from './lib/measure';

const GRANTS = 10_000;
const now = Date.now();
const ids = Array.from({ length: GRANTS }, (_, i) => `user-${i}`);
const client = { id: 'mixi', provider: providers.mixi(), clientId: 'bench', clientSecret: 'bench-secret', redirectUri: 'https://app.example/callback' };

const cachedStore = memoryStore();
const uncachedStore = memoryStore();
const baseline = new Map<string, { token: string; expiresAt: number }>();
for (const id of ids) {
  const record = authorizedRecord(id, 'mixi', now);
  await cachedStore.create(record);
  await uncachedStore.create(record);
  baseline.set(id, { token: `at-${id}`, expiresAt: now + 900_000 });
}
const cached = createVault({ store: cachedStore, clients: [client] });
const uncached = createVault({ store: uncachedStore, clients: [client], cache: false });
const skew = 60_000;

const results = await compareThroughput({
  baseline: async (i) => {
    const entry = await baseline.get(ids[i % GRANTS]!);
    if (entry === undefined || entry.expiresAt - skew <= Date.now()) throw new Error('expired');
    return entry.token;
  },
  'vault (cache on)': (i) => cached.getAccessToken(ids[i % GRANTS]!),
  'vault (cache off)': (i) => uncached.getAccessToken(ids[i % GRANTS]!),
});

const base = results.baseline!;
console.log(`getAccessToken, memory store, ${GRANTS.toLocaleString('en-US')} grants (median of 5 rounds of 400 ms)\n`);
console.log(
  table(
    ['operation', 'calls/s', 'time per call vs baseline'],
    Object.entries(results).map(([name, ops]) => [name, ops, `${(base / ops).toFixed(2)}×`]),
  ),
);
for (const name of ['vault (cache on)', 'vault (cache off)']) {
  const ops = results[name]!;
  console.log(`\n${name}: ${verdict(ops >= 1_000_000)} ≥ 1,000,000 calls/s; ${verdict(base / ops <= 3)} ≤ 3× baseline`);
}
