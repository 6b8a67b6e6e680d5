// What vault.fetch adds to an API call: vault.fetch (memory store, fresh token) against plain fetch with
// a fixed Authorization header, both calling the same loopback server in the same run
// (`lib/executor-overhead.ts`, which `pnpm bench` also runs).
// Run: node scripts/run-source.mjs scripts/bench/executor-overhead.ts [--pairs 24]
// Targets (issue 5): at most 10% added latency at p50 (concurrency 1); at least 95% of plain fetch's
// throughput at concurrency 32.
import { parseArgs } from 'node:util';
import { measureExecutorOverhead } from './lib/executor-overhead';
import { table, verdict } from './lib/measure';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '24' } } });
const r = await measureExecutorOverhead({ pairs: Number(values.pairs) });
console.log(`vault.fetch vs plain fetch, loopback node:http server, ${r.pairs} alternating pairs of blocks (load average ${r.load.toFixed(1)})`);
console.log(`(latency: 250 sequential calls per block; throughput: ${r.concurrency} concurrent callers for 400 ms per block)\n`);
console.log(
  table(
    ['side', 'p50 µs (median of blocks)', 'p99 µs (all calls)', `calls/s at ${r.concurrency} (median)`],
    [
      ['plain fetch', r.plain.p50Us, r.plain.p99Us, r.plain.callsPerSec],
      ['vault.fetch', r.vault.p50Us, r.vault.p99Us, r.vault.callsPerSec],
    ],
  ),
);
console.log(`\nadded latency at p50 (median of paired ratios): ${(r.addedP50 * 100).toFixed(1)}%  ${verdict(r.addedP50 <= 0.1)} (target ≤ 10%)`);
console.log(`added latency at p99 (all calls): ${(r.addedP99 * 100).toFixed(1)}%  (no target; noisy on a shared machine)`);
console.log(`throughput at concurrency ${r.concurrency} (median of paired ratios): ${(r.throughputRatio * 100).toFixed(1)}% of plain fetch  ${verdict(r.throughputRatio >= 0.95)} (target ≥ 95%)`);
