/**
 * Refresh-grant throughput of the mixi emulator: the storm and sweep benchmarks measure the engine
 * against it, so it must not be the bottleneck (target: ≥ 5,000 refresh grants/s on loopback).
 *
 * The emulator runs in a child process (its own event loop and core, started through the package's
 * own `bin.ts --control --json`); this process mints the grants over the control API, then fires one
 * refresh per grant per round from K concurrent keep-alive connections, and finally checks the
 * emulator's counters: exactly `rounds` refreshes per grant, no invalid_grant. The measurement itself
 * is `lib/emulator-ceiling.ts`, which `pnpm bench` also runs.
 *
 *   node scripts/run-source.mjs scripts/bench/emulator-refresh.ts [--grants 30000] [--concurrency 32] [--rounds 1] [--client raw|node] [--min-rate 5000]
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { measureRefreshCeiling } from './lib/emulator-ceiling';
import { startEmulatorProcess } from './lib/emulator-control';

const { values } = parseArgs({
  options: {
    grants: { type: 'string', default: '30000' },
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '1' },
    'min-rate': { type: 'string', default: '5000' },
    client: { type: 'string', default: 'raw' },
  },
});
if (values.client !== 'raw' && values.client !== 'node') throw new Error('--client must be raw or node');
const CLIENT = values.client;
const GRANTS = positive(values.grants, 'grants');
const CONCURRENCY = positive(values.concurrency, 'concurrency');
const ROUNDS = positive(values.rounds, 'rounds');
const MIN_RATE = positive(values['min-rate'], 'min-rate');

function positive(value: string | undefined, name: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

async function main(): Promise<void> {
  const emulator = await startEmulatorProcess();
  try {
    const r = await measureRefreshCeiling({
      url: emulator.url,
      control: emulator.control,
      grants: GRANTS,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      client: CLIENT,
      serverCpuSeconds: emulator.cpuSeconds,
    });
    const c = r.counters;
    console.log(`mixi emulator refresh benchmark (server in a child process, loopback, node ${process.version})`);
    console.log(`  grants minted:        ${GRANTS} in ${r.mintSeconds.toFixed(2)} s (${Math.round(GRANTS / r.mintSeconds)} grants/s over the control API)`);
    console.log(`  refreshes:            ${r.refreshes} (${ROUNDS} per grant) over ${CONCURRENCY} keep-alive connections (${CLIENT} client) in ${r.seconds.toFixed(2)} s`);
    console.log(`  throughput:           ${Math.round(r.rate)} refresh grants/s (wall clock; target ≥ ${MIN_RATE})`);
    if (r.serverCpuUsPerRefresh !== undefined) {
      console.log(`  server CPU:           ${r.serverCpuUsPerRefresh.toFixed(0)} µs per refresh → one core sustains ${Math.round(1e6 / r.serverCpuUsPerRefresh)} refresh grants/s`);
    }
    console.log(`  machine load:         ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min) on ${availableParallelism()} cores`);
    console.log(`  latency:              p50 ${r.p50Ms.toFixed(2)} ms, p90 ${r.p90Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, max ${r.maxMs.toFixed(2)} ms`);
    console.log(
      `  counters:             refreshes ${c.refreshes.total}, grants ${c.refreshes.grants}, max per grant ${c.refreshes.maxPerGrant}, invalid_grant ${c.invalidGrant}, reuse ${c.reuseDetections}, client-side failures ${r.failures}`,
    );
    console.log(`  exactly ${ROUNDS} refresh${ROUNDS === 1 ? '' : 'es'} per grant: ${r.exact ? 'yes' : 'NO'}`);
    if (!r.exact || r.rate < MIN_RATE) process.exitCode = 1;
  } finally {
    await emulator.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
