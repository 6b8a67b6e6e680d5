// Which ingredient of vault.fetch costs throughput: plain fetch with one of vault.fetch's ingredients
// added at a time (a timer per call, a promise wrapper, a fresh header object, async layers), against
// plain fetch and vault.fetch itself, at concurrency 32 against the same loopback server (a child
// process) as executor-overhead.ts. Blocks rotate through the variants; each figure is the median over
// rounds of the variant's ratio to plain fetch in the same round. GC counts and pause time per 1,000
// calls come from a PerformanceObserver.
// Run: node scripts/run-source.mjs scripts/bench/executor-ingredients.ts [--rounds 20] [--only a,b]
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createVault, memoryStore, providers } from '@tokenvault/core';
import { killChildrenOnExit } from './lib/child-processes';
import { startServer, throughput } from './lib/executor-overhead';
import { authorizedRecord } from './lib/grant-fixtures';
import { median, table } from './lib/measure';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '20' }, ms: { type: 'string', default: '400' }, only: { type: 'string' }, solo: { type: 'string' }, concurrency: { type: 'string', default: '32' }, fake: { type: 'boolean', default: false } },
});
killChildrenOnExit();
const rounds = Number(values.rounds);
const blockMs = Number(values.ms);
const concurrency = Number(values.concurrency);

const store = memoryStore();
const record = authorizedRecord('alice', 'mixi', Date.now(), 24 * 3600_000);
await store.create(record);
const token = record.accessToken!.reveal();
const authorization = `Bearer ${token}`;
const server = await startServer(authorization);
const base = `http://127.0.0.1:${server.port}`;
const url = `${base}/2/people/@me/@self`;
const client = {
  id: 'mixi',
  provider: providers.mixi({ apiBaseUrl: `${base}/2/`, tokenEndpoint: `${base}/2/token` }),
  clientId: 'bench',
  clientSecret: 'bench-secret',
  redirectUri: 'https://app.example/callback',
};
// --fake: no network; fetch answers on a later turn of the event loop (setImmediate), so timers and
// promises live across turns as with a real request, without the server's noise.
const fakeFetch: typeof fetch = () => new Promise((resolve) => setImmediate(() => resolve(new Response('{"entry":{}}', { status: 200 }))));
const f: typeof fetch = values.fake ? fakeFetch : fetch;
const vault = createVault({ store, clients: [client], fetch: f });
const untimed = createVault({ store, clients: [client], fetch: f, executor: { timeoutMs: Number.POSITIVE_INFINITY, attemptTimeoutMs: Number.POSITIVE_INFINITY } });
const headers = { authorization };
// vault.fetch whose fetch ignores the executor's arguments and calls fetch exactly as the plain side does.
const plainArgs = createVault({ store, clients: [client], fetch: () => f(url, { headers }) });
// Half of each: the executor's URL with the plain side's init, and the plain side's URL with the executor's init.
const ownUrl = createVault({ store, clients: [client], fetch: (u) => f(u, { headers }) });
const ownInit = createVault({ store, clients: [client], fetch: (_u, i) => f(url, i) });
const noop = () => undefined;
const NO_INIT: RequestInit = Object.freeze({});
const href = new URL(url).href;

async function check(res: Response): Promise<unknown> {
  if (res.status !== 200) throw new RangeError(`got ${res.status}`);
  return res.arrayBuffer();
}
const wrap = (p: Promise<Response>) =>
  new Promise<Response>((resolve, reject) => {
    p.then(resolve, reject);
  });
async function layer(p: Promise<Response>): Promise<Response> {
  return await p;
}

const variants: Record<string, () => Promise<unknown>> = {
  plain: async () => check(await f(url, { headers })),
  '+timer': async () => {
    const t = setTimeout(noop, 10_000);
    t.unref();
    const res = await f(url, { headers });
    clearTimeout(t);
    return check(res);
  },
  '+2 timers': async () => {
    const t = setTimeout(noop, 10_000);
    t.unref();
    const u = setTimeout(noop, 30_000);
    u.unref();
    const res = await f(url, { headers });
    clearTimeout(t);
    clearTimeout(u);
    return check(res);
  },
  '+promise': async () => check(await wrap(f(url, { headers }))),
  '+2 async layers': async () => check(await layer(layer(f(url, { headers })))),
  '+fresh header': async () => check(await f(url, { headers: { authorization: `Bearer ${token}` } })),
  '+4 KB garbage': async () => {
    const junk = new Array(64);
    for (let i = 0; i < 64; i++) junk[i] = { a: i, b: i, c: i, d: i };
    const res = await f(url, { headers });
    junk.length = 0;
    return check(res);
  },
  // fetch called exactly as the executor calls it: the URL's href, an init spread from a frozen empty
  // object, a fresh header record with a template-literal value.
  '+vault-init': async () => {
    const init: RequestInit = { ...NO_INIT };
    init.headers = { authorization: `Bearer ${token}` };
    return check(await f(href, init));
  },
  vault: async () => check(await vault.fetch('alice', url)),
  'vault-plainargs': async () => check(await plainArgs.fetch('alice', url)),
  'vault-own-url': async () => check(await ownUrl.fetch('alice', url)),
  'vault-own-init': async () => check(await ownInit.fetch('alice', url)),
  'vault-untimed': async () => check(await untimed.fetch('alice', url)),
};
const names = Object.keys(variants).filter((n) => n === 'plain' || values.only === undefined || values.only.split(',').includes(n));

let gcCount = 0;
let gcMs = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCount++;
    gcMs += e.duration;
  }
});
obs.observe({ entryTypes: ['gc'] });

async function block(call: () => Promise<unknown>, ms: number) {
  const g0 = gcCount;
  const gms0 = gcMs;
  const { calls, callsPerSec, cpuUsPerCall } = await throughput(call, concurrency, ms);
  await new Promise((r) => setImmediate(r)); // let the observer report
  return { rps: callsPerSec, cpu: cpuUsPerCall, gc: ((gcCount - g0) / calls) * 1000, gcMs: ((gcMs - gms0) / calls) * 1000 };
}

try {
  if (values.solo !== undefined) {
    // One variant alone for a long block (run it under --trace-gc to see what its calls leave behind).
    await block(variants[values.solo]!, 1_000);
    console.log('--- measuring');
    const s0 = await server.stats();
    const b = await block(variants[values.solo]!, blockMs);
    const s1 = await server.stats();
    console.log(`server: ${s1.served - s0.served} requests, ${s1.connections - s0.connections} new connections`);
    console.log(`${values.solo}: ${Math.round((b.rps * blockMs) / 1000)} calls, ${b.rps.toFixed(0)} calls/s, ${b.cpu.toFixed(1)} µs CPU/call, ${b.gc.toFixed(2)} GCs per 1k calls`);
    process.exit(0);
  }
  for (const n of names) await block(variants[n]!, 500);
  const res: Record<string, { rps: number[]; cpu: number[]; gc: number[]; gcMs: number[] }> = {};
  for (const n of names) res[n] = { rps: [], cpu: [], gc: [], gcMs: [] };
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    if (r % 2 === 1) order.reverse();
    for (const n of order) {
      const b = await block(variants[n]!, blockMs);
      res[n]!.rps.push(b.rps);
      res[n]!.cpu.push(b.cpu);
      res[n]!.gc.push(b.gc);
      res[n]!.gcMs.push(b.gcMs);
    }
  }
  const p = res.plain!;
  console.log(`concurrency ${concurrency}, ${rounds} rounds of ${blockMs} ms blocks per variant`);
  console.log(
    table(
      ['variant', 'calls/s', 'throughput vs plain', 'CPU µs/call', 'added CPU µs', 'GCs per 1k calls', 'GC ms per 1k calls'],
      names.map((n) => {
        const v = res[n]!;
        return [
          n,
          Math.round(median(v.rps)),
          `${(median(v.rps.map((x, i) => x / p.rps[i]!)) * 100).toFixed(1)}%`,
          median(v.cpu).toFixed(1),
          median(v.cpu.map((x, i) => x - p.cpu[i]!)).toFixed(1),
          median(v.gc).toFixed(2),
          median(v.gcMs).toFixed(2),
        ];
      }),
    ),
  );
} finally {
  obs.disconnect();
  await vault.close();
  await untimed.close();
  await plainArgs.close();
  await ownUrl.close();
  await ownInit.close();
  server.stop();
}
