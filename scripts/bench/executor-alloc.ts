// Bytes a vault.fetch call allocates beyond calling fetch directly, without a network (fetch answering
// at once). Run with a young generation large enough that no GC happens during a round:
//   node --expose-gc --max-semi-space-size=128 --conditions=@tokenvault/source --import tsx scripts/bench/executor-alloc.ts
import { createVault, memoryStore, providers } from '@tokenvault/core';
import { authorizedRecord } from './lib/grant-fixtures';
import { median } from './lib/measure';

const exposedGc = (globalThis as { gc?: () => void }).gc;
if (exposedGc === undefined) throw new Error('run with --expose-gc');
const gc: () => void = exposedGc;
const store = memoryStore();
const record = authorizedRecord('alice', 'mixi', Date.now(), 24 * 3600_000);
await store.create(record);
const base = 'http://127.0.0.1:9';
const url = `${base}/2/people/@me/@self`;
const headers = { authorization: `Bearer ${record.accessToken!.reveal()}` };
const response = new Response(null, { status: 200 });
const answer: typeof fetch = async () => response; // one shared response: only the caller's allocations count
const vault = createVault({
  store,
  fetch: answer,
  clients: [{ id: 'mixi', provider: providers.mixi({ apiBaseUrl: `${base}/2/`, tokenEndpoint: `${base}/2/token` }), clientId: 'b', clientSecret: 's', redirectUri: 'https://app.example/cb' }],
});
const sides = { plain: () => answer(url, { headers }), vault: () => vault.fetch('alice', url) };
const n = 20_000;
async function bytesPerCall(call: () => Promise<unknown>): Promise<number> {
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) await call();
  return (process.memoryUsage().heapUsed - before) / n;
}
for (const c of Object.values(sides)) for (let i = 0; i < 5; i++) await bytesPerCall(c);
const out = { plain: [] as number[], vault: [] as number[] };
for (let r = 0; r < 9; r++) for (const [k, c] of Object.entries(sides)) out[k as keyof typeof out].push(await bytesPerCall(c));
console.log(`bytes per call: plain ${median(out.plain).toFixed(0)}, vault.fetch ${median(out.vault).toFixed(0)}, added ${(median(out.vault) - median(out.plain)).toFixed(0)}`);
await vault.close();
