/**
 * The worker program of the cross-process tests and the benchmarks: one OS process of a refresh
 * storm or a sweep. It opens what its config names (tokenvault on the shared store, or a competitor
 * with its own per-process token storage), prints `ready`, then runs one command per stdin line and
 * answers each with one JSON line (see `worker-protocol.ts`).
 *
 *   node --conditions=@tokenvault/source --import tsx scripts/bench/lib/vault-worker.ts <config.json>
 *
 * Started and driven by `worker-process.ts`; nothing in it asserts: the orchestrator judges.
 */
import { readFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { FetchLike, Logger } from '@tokenvault/core';
import { type Contender, errorCode, fingerprint } from './contenders/contender';
import { type TokenvaultContender, tokenvaultContender } from './contenders/tokenvault';
import type { StormGrant, StormResult, SweepResult, WorkerCommand, WorkerConfig, WorkerMessage } from './worker-protocol';

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write('usage: vault-worker.ts <config.json>\n');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8')) as WorkerConfig;
const grants: readonly StormGrant[] = config.grantsFile ? (JSON.parse(readFileSync(config.grantsFile, 'utf8')) as StormGrant[]) : [];

function send(message: WorkerMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** warn/error lines by message: a lease takeover or a lost lease shows up here, never a token. */
const logs: Record<string, number> = {};
const count = (_obj: object, msg?: string) => void (logs[msg ?? '?'] = (logs[msg ?? '?'] ?? 0) + 1);
const logger: Logger = { debug: () => undefined, info: () => undefined, warn: count, error: count };
// The competitors report refresh failures with console.warn/error; count those too, off the protocol's stdout.
console.warn = (...args: unknown[]) => count({}, String(args[0]).slice(0, 80));
console.error = (...args: unknown[]) => count({}, String(args[0]).slice(0, 80));

/** The crash tests' hook: a refresh of one of these refresh tokens gets its answer, then never returns. */
function holdingFetch(hold: ReadonlySet<string>): FetchLike {
  return async (input, init) => {
    const res = await fetch(input, init);
    const body = typeof init?.body === 'string' ? new URLSearchParams(init.body) : undefined;
    const refreshToken = body?.get('grant_type') === 'refresh_token' ? body.get('refresh_token') : null;
    if (refreshToken !== null && hold.has(refreshToken)) {
      await res.text(); // the whole answer is here: the provider has rotated the token
      send({ type: 'held', pid: process.pid });
      return new Promise<Response>(() => undefined); // … and the process dies before storing it
    }
    return res;
  };
}

const offset = { ms: 0 };
let contender: Contender;
if (config.contender === 'tokenvault') {
  const fetchImpl = config.holdRefreshAnswers?.length
    ? holdingFetch(new Set(config.holdRefreshAnswers))
    : config.vault?.tokenRequestsViaFetch === true
      ? globalThis.fetch
      : undefined;
  const tokenvault = tokenvaultContender(config, offset, fetchImpl, logger);
  await tokenvault.ready();
  contender = tokenvault;
} else if (config.contender === 'simple-oauth2') {
  contender = (await import('./contenders/simple-oauth2')).simpleOAuth2Contender(config, grants);
} else {
  contender = (await import('./contenders/oauth2-client')).oauth2ClientContender(config, grants);
}

/** An error's message and its causes' (tokenvault's messages never carry a token). */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) parts.push(`${errorCode(e)}: ${e.message}`);
  if (parts.length === 0) parts.push(String(error));
  return parts.join(' ← ').slice(0, 500);
}

/** One People API call with `token`; a dropped connection is tried again (it says nothing about the token). */
async function apiStatus(url: string, token: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      return res.status;
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

async function storm(cmd: Extract<WorkerCommand, { cmd: 'storm' }>): Promise<StormResult> {
  const startedAt = Date.now();
  const errors: Record<string, number> = {};
  const samples: Record<string, string> = {};
  const latencies: number[] = [];
  const handed = new Map<string, Set<string>>();
  let ok = 0;
  const caller = async (grantId: string, viaApi: boolean) => {
    const t0 = performance.now();
    try {
      if (viaApi) {
        const status = await contender.fetch(grantId);
        if (status !== 200) throw Object.assign(new Error(`status ${status}`), { code: `http_${status}` });
      } else {
        const token = await contender.token(grantId);
        let seen = handed.get(grantId);
        if (seen === undefined) handed.set(grantId, (seen = new Set()));
        seen.add(token);
      }
      ok++;
    } catch (error) {
      const code = errorCode(error);
      errors[code] = (errors[code] ?? 0) + 1;
      if (!(code in samples)) samples[code] = describe(error);
    }
    latencies.push(Math.round((performance.now() - t0) * 10) / 10);
  };
  // `mixed`: the first caller of each grant goes through vault.fetch, the others ask for the token.
  const viaApi = (c: number) => cmd.call === 'fetch' || (cmd.call === 'mixed' && c === 0);
  const calls: Promise<void>[] = [];
  if (cmd.maxInFlight === undefined) {
    for (let c = 0; c < cmd.callersPerGrant; c++) for (const { grantId } of grants) calls.push(caller(grantId, viaApi(c)));
  } else {
    // Grant by grant, all C callers of a grant together, at most maxInFlight callers at a time.
    const queue: [string, number][] = grants.flatMap(({ grantId }) => Array.from({ length: cmd.callersPerGrant }, (_, c): [string, number] => [grantId, c]));
    let next = 0;
    const lane = async () => {
      while (next < queue.length) {
        const [grantId, c] = queue[next++]!;
        await caller(grantId, viaApi(c));
      }
    };
    for (let i = 0; i < Math.min(cmd.maxInFlight, queue.length); i++) calls.push(lane());
  }
  await Promise.all(calls);
  const endedAt = Date.now();

  // Untimed: what each grant ends with in this process, and whether the API takes it.
  const final: Record<string, string | null> = {};
  const finalTokens = new Map<string, string>();
  let inconsistent = 0;
  for (const { grantId } of grants) {
    const token = await contender.current(grantId);
    final[grantId] = token === undefined ? null : fingerprint(token);
    if (token !== undefined) finalTokens.set(grantId, token);
    for (const t of handed.get(grantId) ?? []) if (t !== token) inconsistent++;
  }
  let validated = 0;
  const rejected: string[] = [];
  if (cmd.validate) {
    const apiUrl = `${config.emulator.url}/2/people/@me/@self`;
    const queue = [...finalTokens];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let entry = queue.pop(); entry !== undefined; entry = queue.pop()) {
          const status = await apiStatus(apiUrl, entry[1]);
          validated++;
          if (status !== 200) rejected.push(entry[0]);
        }
      }),
    );
    // No token at all is no working token.
    for (const { grantId } of grants) if (!finalTokens.has(grantId)) rejected.push(grantId);
  }
  return { type: 'result', cmd: 'storm', pid: process.pid, startedAt, endedAt, callers: grants.length * cmd.callersPerGrant, ok, errors, latencies, final, inconsistent, errorSamples: samples, validated, invalidFinal: rejected.length, rejected, logs };
}

async function sweep(cmd: Extract<WorkerCommand, { cmd: 'sweep' }>): Promise<SweepResult> {
  if (config.contender !== 'tokenvault') throw new RangeError('only tokenvault sweeps');
  const { vault } = contender as TokenvaultContender;
  const mb = (bytes: number) => bytes / 1024 / 1024;
  const startRssMb = mb(process.memoryUsage.rss());
  let peakRssMb = startRssMb;
  const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, mb(process.memoryUsage.rss()))), 100);
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const summary = await vault.refreshDue({ withinMs: cmd.withinMs, concurrency: cmd.concurrency });
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  // Entries arrive asynchronously: one more turn delivers the last ones.
  await new Promise((resolve) => setImmediate(resolve));
  gc.disconnect();
  peakRssMb = Math.max(peakRssMb, mb(process.memoryUsage.rss()));
  return {
    type: 'result',
    cmd: 'sweep',
    pid: process.pid,
    summary,
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    gcMs,
    peakRssMb,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    startRssMb,
    logs,
  };
}

send({ type: 'ready', pid: process.pid });
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === '') continue;
  const cmd = JSON.parse(line) as WorkerCommand;
  try {
    if (cmd.cmd === 'exit') break;
    offset.ms = cmd.offsetMs;
    send(cmd.cmd === 'storm' ? await storm(cmd) : await sweep(cmd));
  } catch (error) {
    send({ type: 'error', pid: process.pid, message: describe(error) });
  }
}
await contender.close();
// Competitors leave refresh timers behind (OAuth2Fetch schedules one per token); the work is done.
process.exit(0);
