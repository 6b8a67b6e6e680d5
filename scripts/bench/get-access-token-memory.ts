// Hot path: vault.getAccessToken on a valid token with the memory store, against a baseline that does
// `await map.get(id)` plus an expiry check, in the same run (`lib/hot-path.ts`, which `pnpm bench`
// runs for every store).
// Run: node scripts/run-source.mjs scripts/bench/get-access-token-memory.ts
// Targets (issue "Core engine"): ≥ 1,000,000 calls/s, and ≤ 3× the baseline's time per call.
import { measureHotPath } from './lib/hot-path';
import { table, verdict } from './lib/measure';

const rows = await measureHotPath({ stores: ['memory'], keys: null });
console.log('getAccessToken, memory store, 10,000 grants (median of 5 rounds of 400 ms)\n');
console.log(
  table(
    ['operation', 'calls/s', 'time per call vs baseline', 'load'],
    [[rows[0]!.baseline, rows[0]!.baselinePerSec, '1.00×', ''], ...rows.map((r) => [r.subject, r.callsPerSec, `${r.timeVsBaseline.toFixed(2)}×`, r.load.toFixed(1)])],
  ),
);
// The target is the default vault, whose cache is on; with the cache off (each call a memory-store
// read) the figures are reported.
for (const r of rows.filter((row) => row.subject.endsWith('cache on'))) {
  console.log(`\n${r.subject}: ${verdict(r.callsPerSec >= 1_000_000)} ≥ 1,000,000 calls/s; ${verdict(r.timeVsBaseline <= 3)} ≤ 3× baseline`);
}
