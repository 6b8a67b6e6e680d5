/**
 * What `vault.fetch` adds to an API call: `vault.fetch` (memory store, fresh token) against plain
 * `fetch` with a fixed Authorization header, both calling the same loopback server in the same run.
 *
 * The server is a tiny node:http one answering a fixed 80-byte JSON, not the emulator's People API:
 * the less time the server takes, the larger the client's share of each call, so this is the strict
 * version of the comparison (the emulator's routing and token lookup would dilute the overhead).
 * Many short blocks, the two sides alternating (A B B A …), each figure the median of the per-pair
 * ratios: other processes' load comes and goes in seconds, and pairing cancels most of it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createVault, memoryStore, providers } from '@tokenvault/core';
import { authorizedRecord } from './grant-fixtures';
import { median, percentile } from './measure';

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
}

export interface ExecutorOverheadReport {
  readonly plain: ExecutorSide;
  readonly vault: ExecutorSide;
  /** Added p50 latency at concurrency 1 (median of paired ratios − 1); target ≤ 0.10. */
  readonly addedP50: number;
  readonly addedP99: number;
  /** vault.fetch throughput / plain fetch throughput at the concurrency (median of paired ratios); target ≥ 0.95. */
  readonly throughputRatio: number;
  readonly concurrency: number;
  readonly pairs: number;
  readonly load: number;
}

type Call = () => Promise<unknown>;

/**
 * @example
 * const { addedP50, throughputRatio } = await measureExecutorOverhead({ pairs: 8 });
 */
export async function measureExecutorOverhead(options: ExecutorOverheadOptions = {}): Promise<ExecutorOverheadReport> {
  const pairs = options.pairs ?? 24;
  const latencyCalls = options.latencyCalls ?? 250;
  const throughputMs = options.throughputMs ?? 400;
  const concurrency = options.concurrency ?? 32;

  const body = JSON.stringify({ entry: { id: 'bench-user', displayName: 'Bench', thumbnailUrl: 'https://x/t.png' } });
  const server = createServer((req, res) => {
    // Refuse what the vault must never send, so a broken run cannot look fast.
    const auth = req.headers.authorization;
    if (auth === undefined || !auth.startsWith('Bearer ') || (req.url ?? '').includes('access_token')) {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `${base}/2/people/@me/@self`;

  const store = memoryStore();
  await store.create(authorizedRecord('alice', 'mixi', Date.now(), 24 * 3600_000));
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
  const headers = { authorization: 'Bearer at-alice' };
  const sides: Record<'plain' | 'vault', Call> = {
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
    for (let pair = 0; pair < pairs; pair++) {
      const order = pair % 2 === 0 ? names : ([...names].reverse() as unknown as typeof names);
      for (const name of order) {
        const samples = await latencies(sides[name], latencyCalls);
        lat[name].push(...samples);
        p50[name].push(percentile(samples, 50));
      }
      for (const name of order) rps[name].push(await throughput(sides[name], concurrency, throughputMs));
    }
    const ratios = (m: { plain: number[]; vault: number[] }) => m.vault.map((v, i) => v / m.plain[i]!);
    const side = (name: 'plain' | 'vault'): ExecutorSide => ({
      p50Us: median(p50[name]) * 1000,
      p99Us: percentile(lat[name], 99) * 1000,
      callsPerSec: median(rps[name]),
    });
    return {
      plain: side('plain'),
      vault: side('vault'),
      addedP50: median(ratios(p50)) - 1,
      addedP99: percentile(lat.vault, 99) / percentile(lat.plain, 99) - 1,
      throughputRatio: median(ratios(rps)),
      concurrency,
      pairs,
      load: loadavg()[0] ?? 0,
    };
  } finally {
    await vault.close();
    server.closeAllConnections();
    server.close();
  }
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

async function throughput(call: Call, concurrency: number, ms: number): Promise<number> {
  let done = 0;
  const start = performance.now();
  const end = start + ms;
  const worker = async () => {
    while (performance.now() < end) {
      await call();
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (done / (performance.now() - start)) * 1000;
}
