/**
 * What `vault.fetch` adds to an API call: `vault.fetch` (memory store, fresh token) against plain
 * `fetch` with a fixed Authorization header, both calling the same loopback server in the same run:
 * the same URL, the same header value (the server refuses any other request, and counts that each call
 * made exactly one), the body read the same way.
 *
 * The server (`executor-overhead-server.ts`) is a tiny node:http one answering a fixed 80-byte JSON,
 * not the emulator's People API: the less time the server takes, the larger the client's share of each
 * call, so this is the strict version of the comparison. It runs in a child process. In this process
 * it would share the clients' event loop, and every call's cost would include the server's work on the
 * same thread (about 60 µs per request here, a sixth of a call's CPU), diluting what vault.fetch adds
 * to the throughput ratio; a real API never runs on its caller's thread. In a child process the
 * clients' thread does only client work. Two things to know when reading the figures:
 * - At concurrency 1 each call also waits for the other process to wake up, the same on both sides:
 *   the added-latency ratio is a little milder for it (and closer to a real call).
 * - At concurrency 32 the client still sleeps and wakes about once per call. On a shared 2-core
 *   machine that makes extra client work cost more than its own CPU time (measured at load 3–7 with
 *   plain fetch plus a busy loop: 5 µs and 20 µs of extra work per call cost about 5% and 18% of the
 *   throughput, where their share of the client's CPU was 2% and 8%), so there the ratio is stricter.
 * The server's CPU is reported: near one core busy, the server rather than the clients would set the
 * pace and the throughput ratio would mean little.
 *
 * Many short blocks, the two sides alternating (A B B A …), each figure the median of the per-pair
 * ratios: other processes' load comes and goes in seconds, and pairing cancels most of it; the pairs'
 * interquartile range says how much is left. This process's CPU time per call is reported too (user +
 * system, all threads): the difference between the sides is what vault.fetch costs the caller's CPU.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createVault, memoryStore, providers } from '@tokenvault/core';
import { track } from './child-processes';
import { authorizedRecord } from './grant-fixtures';
import { median, percentile } from './measure';
import { tsNodeArgs, workspaceRoot } from './ts-process';

export interface ExecutorOverheadOptions {
  /** Alternating pairs of blocks. Default 24. */
  readonly pairs?: number;
  /** Sequential calls per latency block. Default 250. */
  readonly latencyCalls?: number;
  /** Duration of a throughput block, ms. Default 400. */
  readonly throughputMs?: number;
  /** Concurrent callers in throughput blocks. Default 32. */
  readonly concurrency?: number;
}

export interface ExecutorSide {
  /** Median over blocks of each block's p50 latency, µs (concurrency 1). */
  readonly p50Us: number;
  /** p99 over every call, µs (concurrency 1). */
  readonly p99Us: number;
  /** Median over blocks of calls/s at the throughput concurrency. */
  readonly callsPerSec: number;
  /** Median over throughput blocks of this process's CPU time per call, µs (user + system, all threads). */
  readonly cpuUsPerCall: number;
}

export interface ExecutorOverheadReport {
  readonly plain: ExecutorSide;
  readonly vault: ExecutorSide;
  /** Added p50 latency at concurrency 1 (median of paired ratios − 1); target ≤ 0.10. */
  readonly addedP50: number;
  readonly addedP99: number;
  /** vault.fetch throughput / plain fetch throughput at the concurrency (median of paired ratios); target ≥ 0.95. */
  readonly throughputRatio: number;
  /** Interquartile ranges of the paired figures behind `addedP50` and `throughputRatio`: how much pairs disagree. */
  readonly spread: { readonly addedP50: readonly [number, number]; readonly throughputRatio: readonly [number, number] };
  /** CPU time vault.fetch adds per call at the concurrency, µs (median of paired differences). */
  readonly addedCpuUs: number;
  /** The server process's CPU time / wall time during throughput blocks (median); 1 is one core saturated. */
  readonly serverBusy: number;
  /** The server's CPU time per request during throughput blocks (median), µs: what it would add to each call in this process. */
  readonly serverCpuUsPerCall: number;
  readonly concurrency: number;
  readonly pairs: number;
  /** One-minute load average when the measurement started. */
  readonly loadBefore: number;
  /** One-minute load average when it ended. */
  readonly load: number;
}

type Call = () => Promise<unknown>;
type Side = 'plain' | 'vault';

const SERVER = join(workspaceRoot, 'scripts/bench/lib/executor-overhead-server.ts');
const PATH = '/2/people/@me/@self';

/**
 * @example
 * const { addedP50, throughputRatio } = await measureExecutorOverhead({ pairs: 8 });
 */
export async function measureExecutorOverhead(options: ExecutorOverheadOptions = {}): Promise<ExecutorOverheadReport> {
  const pairs = options.pairs ?? 24;
  const latencyCalls = options.latencyCalls ?? 250;
  const throughputMs = options.throughputMs ?? 400;
  const concurrency = options.concurrency ?? 32;
  const loadBefore = loadavg()[0] ?? 0;

  const store = memoryStore();
  const record = authorizedRecord('alice', 'mixi', Date.now(), 24 * 3600_000);
  await store.create(record);
  // Both sides send this exact value; the server refuses any other.
  const authorization = `Bearer ${record.accessToken!.reveal()}`;
  const server = await startServer(authorization);
  const base = `http://127.0.0.1:${server.port}`;
  const url = `${base}${PATH}`;
  const vault = createVault({
    store,
    clients: [
      {
        id: 'mixi',
        provider: providers.mixi({ apiBaseUrl: `${base}/2/`, tokenEndpoint: `${base}/2/token` }),
        clientId: 'bench',
        clientSecret: 'bench-secret',
        redirectUri: 'https://app.example/callback',
      },
    ],
  });
  const headers = { authorization };
  const sides: Record<Side, Call> = {
    plain: async () => {
      const res = await fetch(url, { headers });
      if (res.status !== 200) throw new RangeError(`plain fetch got ${res.status}`);
      return res.arrayBuffer();
    },
    vault: async () => {
      const res = await vault.fetch('alice', url);
      if (res.status !== 200) throw new RangeError(`vault.fetch got ${res.status}`);
      return res.arrayBuffer();
    },
  };

  try {
    // Warm both sides (JIT, connection pool) before measuring.
    for (const call of Object.values(sides)) {
      await latencies(call, 1_000);
      await throughput(call, concurrency, 500);
    }
    const names = ['plain', 'vault'] as const;
    const lat = { plain: [] as number[], vault: [] as number[] };
    const p50 = { plain: [] as number[], vault: [] as number[] };
    const rps = { plain: [] as number[], vault: [] as number[] };
    const cpu = { plain: [] as number[], vault: [] as number[] };
    const serverBusy: number[] = [];
    const serverCpu: number[] = [];
    for (let pair = 0; pair < pairs; pair++) {
      const order = pair % 2 === 0 ? names : ([...names].reverse() as unknown as typeof names);
      for (const name of order) {
        const before = await server.stats();
        const samples = await latencies(sides[name], latencyCalls);
        server.expectServed(before, await server.stats(), samples.length, name);
        lat[name].push(...samples);
        p50[name].push(percentile(samples, 50));
      }
      for (const name of order) {
        const before = await server.stats();
        const block = await throughput(sides[name], concurrency, throughputMs);
        const after = await server.stats();
        server.expectServed(before, after, block.calls, name);
        rps[name].push(block.callsPerSec);
        cpu[name].push(block.cpuUsPerCall);
        serverBusy.push((after.cpuUs - before.cpuUs) / 1000 / block.ms);
        serverCpu.push((after.cpuUs - before.cpuUs) / block.calls);
      }
    }
    const ratios = (m: Record<Side, number[]>) => m.vault.map((v, i) => v / m.plain[i]!);
    const quartiles = (values: number[], shift = 0) => [percentile(values, 25) + shift, percentile(values, 75) + shift] as const;
    const side = (name: Side): ExecutorSide => ({
      p50Us: median(p50[name]) * 1000,
      p99Us: percentile(lat[name], 99) * 1000,
      callsPerSec: median(rps[name]),
      cpuUsPerCall: median(cpu[name]),
    });
    return {
      plain: side('plain'),
      vault: side('vault'),
      addedP50: median(ratios(p50)) - 1,
      addedP99: percentile(lat.vault, 99) / percentile(lat.plain, 99) - 1,
      throughputRatio: median(ratios(rps)),
      spread: { addedP50: quartiles(ratios(p50), -1), throughputRatio: quartiles(ratios(rps)) },
      addedCpuUs: median(cpu.vault.map((v, i) => v - cpu.plain[i]!)),
      serverBusy: median(serverBusy),
      serverCpuUsPerCall: median(serverCpu),
      concurrency,
      pairs,
      loadBefore,
      load: loadavg()[0] ?? 0,
    };
  } finally {
    await vault.close();
    server.stop();
  }
}

export interface ExecutorOwnWork {
  /** CPU time per call of `vault.fetch` over a fetch that answers at once, minus that fetch's own, µs (median of rounds). */
  readonly addedUs: number;
  /** CPU time per call of calling that fetch directly, µs (median of rounds). */
  readonly fetchUs: number;
  readonly rounds: number;
}

/**
 * The executor's own work per call, without a network: `vault.fetch` (memory store, fresh token) over a
 * `fetch` that answers 200 at once, against calling that `fetch` directly with the header, in
 * interleaved rounds of this process's CPU time. Far steadier than the loopback comparison, and it
 * says how much of that comparison's difference is the executor's own code.
 *
 * @example
 * const { addedUs } = await measureExecutorOwnWork();
 */
export async function measureExecutorOwnWork(options: { rounds?: number; calls?: number } = {}): Promise<ExecutorOwnWork> {
  const rounds = options.rounds ?? 21;
  const calls = options.calls ?? 20_000;
  const answer: typeof fetch = async () => new Response(null, { status: 200 });
  const store = memoryStore();
  const record = authorizedRecord('alice', 'mixi', Date.now(), 24 * 3600_000);
  await store.create(record);
  const base = 'http://127.0.0.1:9';
  const url = `${base}${PATH}`;
  const headers = { authorization: `Bearer ${record.accessToken!.reveal()}` };
  const vault = createVault({
    store,
    fetch: answer,
    clients: [
      {
        id: 'mixi',
        provider: providers.mixi({ apiBaseUrl: `${base}/2/`, tokenEndpoint: `${base}/2/token` }),
        clientId: 'bench',
        clientSecret: 'bench-secret',
        redirectUri: 'https://app.example/callback',
      },
    ],
  });
  const sides: Record<Side, Call> = { plain: () => answer(url, { headers }), vault: () => vault.fetch('alice', url) };
  const cpuPerCall = async (call: Call, n: number) => {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) await call();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
  try {
    for (const call of Object.values(sides)) await cpuPerCall(call, calls);
    const cpu = { plain: [] as number[], vault: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? (['plain', 'vault'] as const) : (['vault', 'plain'] as const)) cpu[name].push(await cpuPerCall(sides[name], calls));
    }
    return { addedUs: median(cpu.vault.map((v, i) => v - cpu.plain[i]!)), fetchUs: median(cpu.plain), rounds };
  } finally {
    await vault.close();
  }
}

export interface ServerStats {
  readonly served: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  readonly cpuUs: number;
}

export interface ServerProcess {
  readonly port: number;
  /** Requests served and CPU time so far (one request of its own, not counted). */
  stats(): Promise<ServerStats>;
  /** Throws unless exactly one request was served per call between `before` and `after`. */
  expectServed(before: ServerStats, after: ServerStats, calls: number, side: string): void;
  stop(): void;
}

/** Starts the benchmark's API server (a child process) expecting exactly `authorization`. */
export async function startServer(authorization: string): Promise<ServerProcess> {
  const child: ChildProcess = track(
    spawn(process.execPath, [...tsNodeArgs(), SERVER, authorization], { cwd: workspaceRoot, stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the benchmark server exited (${signal ?? `code ${code}`}) before listening`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  const statsUrl = `http://127.0.0.1:${port}/_stats`;
  return {
    port,
    stats: async () => (await (await fetch(statsUrl)).json()) as ServerStats,
    expectServed(before, after, calls, side) {
      const served = after.served - before.served;
      if (served !== calls) throw new RangeError(`${side}: ${calls} calls made ${served} requests; every call must make exactly one`);
    },
    stop: () => {
      child.stdin!.end();
      child.kill();
    },
  };
}

async function latencies(call: Call, n: number): Promise<number[]> {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    out[i] = performance.now() - t0;
  }
  return out;
}

/** `concurrency` callers calling back to back for `ms`: calls/s, and this process's CPU time per call. */
export async function throughput(call: Call, concurrency: number, ms: number): Promise<{ calls: number; ms: number; callsPerSec: number; cpuUsPerCall: number }> {
  let calls = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  const worker = async () => {
    while (performance.now() < end) {
      await call();
      calls++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { calls, ms: elapsed, callsPerSec: (calls / elapsed) * 1000, cpuUsPerCall: (used.user + used.system) / calls };
}
