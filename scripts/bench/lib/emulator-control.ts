/**
 * The mixi emulator as benchmarks and the cross-process tests drive it: its control API over HTTP
 * (`/_emulator/…`), so it works the same whether the emulator runs in this process
 * (`createMixiEmulator({ control: true }).listen()`) or in a child process (`startEmulatorProcess`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { CountersSnapshot, FaultRule, FaultRuleInput, GrantInfo, MintedGrant } from '@tokenvault/mixi-emulator';
import { track } from './child-processes';
import { tsNodeArgs, workspaceRoot } from './ts-process';

/** A registered, confirmed service: what a vault's client config needs. */
export interface EmulatorClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
}

export interface EmulatorClock {
  readonly now: number;
  readonly offsetMs: number;
}

const MINT_BATCH = 5_000;

/**
 * A client of the emulator's control API.
 *
 * @example
 * const control = new EmulatorControl(server.url);
 * const client = await control.registerService('storm');
 * const grants = await control.mintGrants(client.clientId, 200);
 * await control.advanceClock(16 * 60_000); // every token above is now expired
 */
export class EmulatorControl {
  constructor(readonly baseUrl: string) {}

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/_emulator${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 300) throw new RangeError(`${method} /_emulator${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  clock(): Promise<EmulatorClock> {
    return this.#call('GET', '/clock');
  }

  advanceClock(ms: number): Promise<EmulatorClock> {
    return this.#call('POST', '/clock/advance', { ms });
  }

  async registerService(name: string): Promise<EmulatorClient> {
    const redirectUri = 'http://127.0.0.1:9/callback';
    const created = await this.#call<{ clientId: string; clientSecret: string }>('POST', '/services', {
      name,
      description: `tokenvault benchmark: ${name}`,
      redirectUrl: redirectUri,
      inquiryEmail: 'bench@example.com',
    });
    return { clientId: created.clientId, clientSecret: created.clientSecret, redirectUri };
  }

  /** Mints `count` grants (scope `r_profile`), `MINT_BATCH` per request, handing each batch to `onBatch`. */
  async mintGrantsInBatches(clientId: string, count: number, onBatch: (batch: readonly MintedGrant[]) => Promise<void> | void): Promise<void> {
    for (let left = count; left > 0; left -= MINT_BATCH) {
      const { grants } = await this.#call<{ grants: MintedGrant[] }>('POST', '/grants/batch', {
        clientId,
        scope: 'r_profile',
        count: Math.min(MINT_BATCH, left),
      });
      await onBatch(grants);
    }
  }

  async mintGrants(clientId: string, count: number): Promise<MintedGrant[]> {
    const all: MintedGrant[] = [];
    await this.mintGrantsInBatches(clientId, count, (batch) => void all.push(...batch));
    return all;
  }

  counters(options: { perGrant?: boolean } = {}): Promise<CountersSnapshot> {
    return this.#call('GET', `/counters?perGrant=${options.perGrant === true}`);
  }

  resetCounters(): Promise<void> {
    return this.#call('POST', '/counters/reset');
  }

  addFault(rule: FaultRuleInput): Promise<FaultRule> {
    return this.#call('POST', '/faults', rule);
  }

  clearFaults(): Promise<void> {
    return this.#call('DELETE', '/faults');
  }

  grant(grantId: string): Promise<GrantInfo> {
    return this.#call('GET', `/grants/${encodeURIComponent(grantId)}`);
  }

  /** The grant a refresh token (current or rotated) belongs to; undefined for an unknown token. */
  async grantOfRefreshToken(refreshToken: string): Promise<GrantInfo | undefined> {
    try {
      return await this.#call<GrantInfo>('POST', '/grants/lookup', { refreshToken });
    } catch (error) {
      if (error instanceof RangeError && / 404:/.test(error.message)) return undefined;
      throw error;
    }
  }
}

/** An emulator running in a child process of its own (its own event loop, so its own core). */
export interface EmulatorProcess {
  readonly url: string;
  readonly control: EmulatorControl;
  readonly pid: number;
  /** CPU seconds the emulator process has used so far (Linux /proc), or undefined elsewhere. */
  cpuSeconds(): number | undefined;
  /** Resident memory of the emulator process, MB (Linux /proc), or undefined elsewhere. */
  rssMb(): number | undefined;
  close(): Promise<void>;
}

/**
 * Starts the emulator through its own standalone entry point (`bin.ts --control --json`) and
 * resolves once it listens.
 *
 * @example
 * const emulator = await startEmulatorProcess();
 * try { … } finally { await emulator.close(); }
 */
export async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const child: ChildProcess = track(
    spawn(process.execPath, [...tsNodeArgs(), `${workspaceRoot}/packages/mixi-emulator/src/bin.ts`, '--control', '--json'], {
      cwd: workspaceRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new RangeError(`the emulator exited early (code ${code})`)));
  });
  const url = (JSON.parse(firstLine) as { baseUrl: string }).baseUrl;
  const pid = child.pid!;
  return {
    url,
    control: new EmulatorControl(url),
    pid,
    cpuSeconds: () => procStat(pid, (fields) => (Number(fields[11]) + Number(fields[12])) / 100),
    rssMb: () => procStat(pid, (fields) => (Number(fields[21]) * 4096) / 1024 / 1024),
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A figure from /proc/<pid>/stat (fields after the command name; clock ticks of 1/100 s and pages of
 * 4 KiB, the Linux defaults).
 */
function procStat(pid: number, pick: (fields: string[]) => number): number | undefined {
  try {
    return pick(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '));
  } catch {
    return undefined;
  }
}
