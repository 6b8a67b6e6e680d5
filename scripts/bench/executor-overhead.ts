// What vault.fetch adds to an API call: vault.fetch (memory store, fresh token) against plain fetch with
// a fixed Authorization header, both calling the same loopback server (a child process) in the same run
// (`lib/executor-overhead.ts`, which `pnpm bench` also runs); then the executor's own CPU per call with
// a fetch that answers at once (no network), which is steadier and says how much of the difference is
// the executor's code.
// Run: node scripts/run-source.mjs scripts/bench/executor-overhead.ts [--pairs 24]
// Targets (issue 5): at most 10% added latency at p50 (concurrency 1); at least 95% of plain fetch's
// throughput at concurrency 32.
import { parseArgs } from 'node:util';
import { killChildrenOnExit } from './lib/child-processes';
import { measureExecutorOverhead, measureExecutorOwnWork } from './lib/executor-overhead';
import { table, verdict } from './lib/measure';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '24' } } });
killChildrenOnExit();
const r = await measureExecutorOverhead({ pairs: Number(values.pairs) });
console.log(
  `vault.fetch vs plain fetch, loopback node:http server in a child process, ${r.pairs} alternating pairs of blocks ` +
    `(load average ${r.loadBefore.toFixed(1)} before, ${r.load.toFixed(1)} after)`,
);
console.log(`(latency: 250 sequential calls per block; throughput: ${r.concurrency} concurrent callers for 400 ms per block)\n`);
console.log(
  table(
    ['side', 'p50 µs (median of blocks)', 'p99 µs (all calls)', `calls/s at ${r.concurrency} (median)`, `client CPU µs per call at ${r.concurrency}`],
    [
      ['plain fetch', r.plain.p50Us, r.plain.p99Us, r.plain.callsPerSec, r.plain.cpuUsPerCall],
      ['vault.fetch', r.vault.p50Us, r.vault.p99Us, r.vault.callsPerSec, r.vault.cpuUsPerCall],
    ],
  ),
);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const iqr = ([q1, q3]: readonly [number, number]) => `pairs' interquartile range ${pct(q1)} … ${pct(q3)}`;
console.log(`\nadded latency at p50 (median of paired ratios): ${pct(r.addedP50)}  ${verdict(r.addedP50 <= 0.1)} (target ≤ 10%; ${iqr(r.spread.addedP50)})`);
console.log(`added latency at p99 (all calls): ${pct(r.addedP99)}  (no target; noisy on a shared machine)`);
console.log(
  `throughput at concurrency ${r.concurrency} (median of paired ratios): ${pct(r.throughputRatio)} of plain fetch  ${verdict(r.throughputRatio >= 0.95)} ` +
    `(target ≥ 95%; ${iqr(r.spread.throughputRatio)})`,
);
console.log(`client CPU added per call (median of paired differences): ${r.addedCpuUs.toFixed(1)} µs`);
console.log(
  `server (child process) during throughput blocks (medians): ${(r.serverBusy * 100).toFixed(0)}% of one core busy, ${r.serverCpuUsPerCall.toFixed(1)} µs CPU per request` +
    (r.serverBusy > 0.85 ? '  (near saturation: the throughput ratio understates the difference)' : ''),
);

const own = await measureExecutorOwnWork();
console.log(
  `\nthe executor's own work, without a network (${own.rounds} interleaved rounds, fetch answering at once): ` +
    `${own.addedUs.toFixed(2)} µs CPU per call over calling fetch directly (${own.fetchUs.toFixed(2)} µs)`,
);
