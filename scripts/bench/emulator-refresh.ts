/**
 * Refresh-grant throughput of the mixi emulator: the storm and sweep benchmarks measure the engine
 * against it, so it must not be the bottleneck (target: ≥ 5,000 refresh grants/s on loopback).
 *
 * The emulator runs in a child process (its own event loop and core, started through the package's
 * own `bin.ts --control --json`); this process mints the grants over the control API, then fires one
 * refresh per grant per round from K concurrent keep-alive connections, and finally checks the
 * emulator's counters: exactly `rounds` refreshes per grant, no invalid_grant.
 *
 * The refresh connections are minimal HTTP/1.1 keep-alive sockets (one request in flight each, no
 * pipelining) so the figure measures the server rather than `node:http`'s client, which costs more
 * per request than the emulator does; `--client node` uses `node:http` instead, for comparison.
 *
 *   node scripts/run-source.mjs scripts/bench/emulator-refresh.ts [--grants 30000] [--concurrency 32] [--rounds 1] [--client raw|node] [--min-rate 5000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Minted {
  grantId: string;
  refreshToken: string;
}

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
// A grant's next round must start after its previous refresh answered, or the rotated token races itself.
if (ROUNDS > 1 && GRANTS < 2 * CONCURRENCY) throw new Error('with --rounds > 1, --grants must be at least twice --concurrency');

function positive(value: string | undefined, name: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

/** Starts the emulator in a child process and resolves with its base URL (the first line it prints). */
async function startChild(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@tokenvault/source', '--import', 'tsx', join(root, 'packages/mixi-emulator/src/bin.ts'), '--control', '--json'],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the emulator exited early (code ${code})`)));
  });
  return { child, url: (JSON.parse(firstLine) as { baseUrl: string }).baseUrl };
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** One HTTP exchange on the keep-alive agent; resolves with status and body text. */
function send(url: string, method: string, contentType: string | undefined, body: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (contentType) headers['content-type'] = contentType;
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const req = request(url, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * One keep-alive HTTP/1.1 connection with one request in flight. It understands exactly what the
 * emulator sends back (a status line, headers, a Content-Length body) and fails loudly otherwise.
 */
class RawConnection {
  readonly #socket: Socket;
  #buffer = '';
  #pending: { resolve: (r: { status: number; text: string }) => void; reject: (e: Error) => void } | undefined;

  constructor(host: string, port: number) {
    this.#socket = connect({ host, port, noDelay: true });
    this.#socket.setEncoding('utf8');
    this.#socket.on('data', (chunk: string) => this.#onData(chunk));
    this.#socket.on('error', (error) => this.#fail(error));
    this.#socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  send(raw: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(raw);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end === -1) return;
    const head = this.#buffer.slice(0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return this.#fail(new Error(`no Content-Length in ${head.slice(0, 200)}`));
    const total = end + 4 + Number(length[1]);
    // The body is ASCII JSON, so string length equals byte length.
    if (this.#buffer.length < total) return;
    const text = this.#buffer.slice(end + 4, total);
    this.#buffer = this.#buffer.slice(total);
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve({ status: Number(head.slice(9, 12)), text });
  }

  #fail(error: Error): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }
}

async function controlJson<T>(url: string, body?: unknown, method = 'POST'): Promise<T> {
  const res = await send(url, method, body === undefined ? undefined : 'application/json', body === undefined ? undefined : JSON.stringify(body));
  if (res.status >= 300) throw new Error(`${method} ${url} answered ${res.status}: ${res.text.slice(0, 200)}`);
  return (res.text ? JSON.parse(res.text) : undefined) as T;
}

/**
 * CPU seconds (user + system) a process has used, from /proc on Linux (clock ticks of 1/100 s, the
 * Linux default); undefined elsewhere. The server's CPU per refresh is the figure that does not
 * depend on what else the machine is doing, unlike wall-clock throughput.
 */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const { child, url } = await startChild();
  try {
    const client = await controlJson<{ clientId: string; clientSecret: string }>(`${url}/_emulator/services`, {
      name: 'Refresh benchmark',
      description: 'scripts/bench/emulator-refresh.ts',
      redirectUrl: 'http://127.0.0.1:9/callback',
      inquiryEmail: 'bench@example.com',
    });

    const mintStart = performance.now();
    const grants: Minted[] = [];
    for (let left = GRANTS; left > 0; left -= 5_000) {
      const batch = await controlJson<{ grants: Minted[] }>(`${url}/_emulator/grants/batch`, {
        clientId: client.clientId,
        scope: 'r_profile',
        count: Math.min(5_000, left),
      });
      grants.push(...batch.grants);
    }
    const mintSeconds = (performance.now() - mintStart) / 1000;
    await controlJson(`${url}/_emulator/counters/reset`);

    const total = GRANTS * ROUNDS;
    const latencies = new Float64Array(total);
    const prefix = `grant_type=refresh_token&client_id=${client.clientId}&client_secret=${client.clientSecret}&refresh_token=`;
    const { hostname, port, host } = new URL(url);
    const connections: RawConnection[] = [];
    let next = 0;
    let failures = 0;
    const worker = async () => {
      const raw = CLIENT === 'raw' ? new RawConnection(hostname, Number(port)) : undefined;
      if (raw) connections.push(raw);
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const grant = grants[i % GRANTS]!;
        const body = prefix + grant.refreshToken;
        const started = performance.now();
        const res = raw
          ? await raw.send(
              `POST /2/token HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
            )
          : await send(`${url}/2/token`, 'POST', 'application/x-www-form-urlencoded', body);
        latencies[i] = performance.now() - started;
        if (res.status !== 200) {
          failures++;
          continue;
        }
        // Rotation: the next round must present the token this answer carried.
        grant.refreshToken = (JSON.parse(res.text) as { refresh_token: string }).refresh_token;
      }
    };
    const serverCpuBefore = cpuSeconds(child.pid);
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    const serverCpuAfter = cpuSeconds(child.pid);
    const serverCpu = serverCpuBefore === undefined || serverCpuAfter === undefined ? undefined : serverCpuAfter - serverCpuBefore;
    for (const c of connections) c.close();

    const counters = await controlJson<{
      refreshes: { total: number; grants: number; maxPerGrant: number };
      invalidGrant: number;
      reuseDetections: number;
    }>(`${url}/_emulator/counters?perGrant=false`, undefined, 'GET');

    latencies.sort();
    const rate = total / seconds;
    const exact = counters.refreshes.total === total && counters.refreshes.grants === GRANTS && counters.refreshes.maxPerGrant === ROUNDS;
    console.log(`mixi emulator refresh benchmark (server in a child process, loopback, node ${process.version})`);
    console.log(`  grants minted:        ${GRANTS} in ${mintSeconds.toFixed(2)} s (${Math.round(GRANTS / mintSeconds)} grants/s over the control API)`);
    console.log(
      `  refreshes:            ${total} (${ROUNDS} per grant) over ${CONCURRENCY} keep-alive connections (${CLIENT} client) in ${seconds.toFixed(2)} s`,
    );
    console.log(`  throughput:           ${Math.round(rate)} refresh grants/s (wall clock; target ≥ ${MIN_RATE})`);
    if (serverCpu !== undefined && serverCpu > 0) {
      console.log(
        `  server CPU:           ${((serverCpu / total) * 1e6).toFixed(0)} µs per refresh → one core sustains ${Math.round(total / serverCpu)} refresh grants/s`,
      );
    }
    console.log(`  machine load:         ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min) on ${availableParallelism()} cores`);
    console.log(
      `  latency:              p50 ${percentile(latencies, 50).toFixed(2)} ms, p90 ${percentile(latencies, 90).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${percentile(latencies, 100).toFixed(2)} ms`,
    );
    console.log(
      `  counters:             refreshes ${counters.refreshes.total}, grants ${counters.refreshes.grants}, max per grant ${counters.refreshes.maxPerGrant}, invalid_grant ${counters.invalidGrant}, reuse ${counters.reuseDetections}, client-side failures ${failures}`,
    );
    console.log(`  exactly ${ROUNDS} refresh${ROUNDS === 1 ? '' : 'es'} per grant: ${exact && failures === 0 ? 'yes' : 'NO'}`);
    if (!exact || failures > 0 || rate < MIN_RATE) process.exitCode = 1;
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
