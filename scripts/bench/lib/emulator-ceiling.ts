/**
 * The emulator's own refresh ceiling: how many refresh grants per second it answers when nothing but
 * minimal clients talk to it. The sweep benchmark divides its rate by this figure, measured on the
 * same emulator in the same run, so machine noise cancels.
 *
 * The refresh connections are minimal HTTP/1.1 keep-alive sockets (one request in flight each, no
 * pipelining) so the figure measures the server rather than `node:http`'s client, which costs more
 * per request than the emulator does; `client: 'node'` uses `node:http` instead, for comparison.
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CountersSnapshot, MintedGrant } from '@tokenvault/mixi-emulator';
import type { EmulatorControl } from './emulator-control';

export interface CeilingOptions {
  readonly url: string;
  readonly control: EmulatorControl;
  readonly grants: number;
  /** Keep-alive connections, one request in flight each. Default 32. */
  readonly concurrency?: number;
  /** Refreshes per grant (each round presents the token the previous one returned). Default 1. */
  readonly rounds?: number;
  readonly client?: 'raw' | 'node';
  /** The server process's CPU seconds so far, when it runs in a child (see `EmulatorProcess.cpuSeconds`). */
  readonly serverCpuSeconds?: () => number | undefined;
}

export interface CeilingReport {
  readonly refreshes: number;
  readonly seconds: number;
  /** Refresh grants per second, wall clock. */
  readonly rate: number;
  /** Server CPU per refresh, µs, when known: the figure that does not depend on the machine's load. */
  readonly serverCpuUsPerRefresh: number | undefined;
  /** This (client) process's CPU per refresh, µs. */
  readonly clientCpuUsPerRefresh: number;
  readonly mintSeconds: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly failures: number;
  /** Exactly `rounds` refreshes per grant and no invalid_grant, by the emulator's counters. */
  readonly exact: boolean;
  readonly counters: CountersSnapshot;
}

/**
 * Mints `grants` grants on a service of their own, then refreshes each `rounds` times from
 * `concurrency` connections and checks the counters.
 *
 * @example
 * const ceiling = await measureRefreshCeiling({ url: emulator.url, control: emulator.control, grants: 20_000 });
 */
export async function measureRefreshCeiling(options: CeilingOptions): Promise<CeilingReport> {
  const concurrency = options.concurrency ?? 32;
  const rounds = options.rounds ?? 1;
  if (rounds > 1 && options.grants < 2 * concurrency) {
    // A grant's next round must start after its previous refresh answered, or the rotated token races itself.
    throw new RangeError('with rounds > 1, grants must be at least twice the concurrency');
  }
  const { control } = options;
  const client = await control.registerService('refresh ceiling');
  const mintStart = performance.now();
  const grants: { refreshToken: string }[] = (await control.mintGrants(client.clientId, options.grants)).map((g: MintedGrant) => ({ refreshToken: g.refreshToken }));
  const mintSeconds = (performance.now() - mintStart) / 1000;
  await control.resetCounters();

  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const total = options.grants * rounds;
  const latencies = new Float64Array(total);
  const prefix = `grant_type=refresh_token&client_id=${client.clientId}&client_secret=${client.clientSecret}&refresh_token=`;
  const { hostname, port, host } = new URL(options.url);
  const connections: RawConnection[] = [];
  let next = 0;
  let failures = 0;
  const worker = async () => {
    const raw = options.client === 'node' ? undefined : new RawConnection(hostname, Number(port));
    if (raw) connections.push(raw);
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const grant = grants[i % options.grants]!;
      const body = prefix + grant.refreshToken;
      const started = performance.now();
      const res = raw
        ? await raw.send(`POST /2/token HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
        : await send(agent, `${options.url}/2/token`, body);
      latencies[i] = performance.now() - started;
      if (res.status !== 200) {
        failures++;
        continue;
      }
      // Rotation: the next round must present the token this answer carried.
      grant.refreshToken = (JSON.parse(res.text) as { refresh_token: string }).refresh_token;
    }
  };
  const cpuBefore = options.serverCpuSeconds?.();
  const clientCpu = process.cpuUsage();
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    for (const c of connections) c.close();
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  const clientUsed = process.cpuUsage(clientCpu);
  const cpuAfter = options.serverCpuSeconds?.();
  const serverCpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  const counters = await control.counters();
  latencies.sort();
  const at = (p: number) => latencies[Math.min(total - 1, Math.floor((p / 100) * total))] ?? Number.NaN;
  return {
    refreshes: total,
    seconds,
    rate: total / seconds,
    serverCpuUsPerRefresh: serverCpu === undefined || serverCpu <= 0 ? undefined : (serverCpu / total) * 1e6,
    clientCpuUsPerRefresh: (clientUsed.user + clientUsed.system) / total,
    mintSeconds,
    p50Ms: at(50),
    p90Ms: at(90),
    p99Ms: at(99),
    maxMs: latencies[total - 1] ?? Number.NaN,
    failures,
    exact: counters.refreshes.total === total && counters.refreshes.grants === options.grants && counters.refreshes.maxPerGrant === rounds && failures === 0,
    counters,
  };
}

/** One HTTP exchange on a keep-alive `node:http` agent. */
function send(agent: Agent, url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
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
