/**
 * The orchestrator's side of `vault-worker.ts`: start worker processes, wait until each is ready,
 * send commands (the first one to all at once is the "go"), read their answers, kill them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { track } from './child-processes';
import { tsNodeArgs, workspaceRoot } from './ts-process';
import type { StormResult, SweepResult, WorkerCommand, WorkerConfig, WorkerMessage } from './worker-protocol';

const WORKER = join(workspaceRoot, 'scripts/bench/lib/vault-worker.ts');

export class WorkerProcess {
  readonly #child: ChildProcess;
  readonly #label: string;
  readonly #queue: WorkerMessage[] = [];
  #waiter: { resolve: (m: WorkerMessage) => void; reject: (e: Error) => void } | undefined;
  #stderr = '';
  #exit: string | undefined;
  readonly exited: Promise<void>;

  constructor(child: ChildProcess, label: string) {
    this.#child = child;
    this.#label = label;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let message: WorkerMessage;
      try {
        message = JSON.parse(line) as WorkerMessage;
      } catch {
        this.#stderr += `(stdout) ${line}\n`;
        return;
      }
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter) waiter.resolve(message);
      else this.#queue.push(message);
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (this.#stderr.length < 20_000) this.#stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.#exit = signal ?? `code ${code}`;
        const waiter = this.#waiter;
        this.#waiter = undefined;
        waiter?.reject(this.#failure(`exited (${this.#exit}) before answering`));
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** The next message of `type` (earlier messages of other types are skipped; `error` rejects). */
  async next<T extends WorkerMessage['type']>(type: T): Promise<Extract<WorkerMessage, { type: T }>> {
    for (;;) {
      const message = this.#queue.shift() ?? (await this.#receive());
      if (message.type === type) return message as Extract<WorkerMessage, { type: T }>;
      if (message.type === 'error') throw this.#failure(message.message);
    }
  }

  #receive(): Promise<WorkerMessage> {
    if (this.#exit !== undefined) return Promise.reject(this.#failure(`exited (${this.#exit})`));
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  send(command: WorkerCommand): void {
    this.#child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Sends a storm or sweep command and waits for its result. */
  async run(command: Extract<WorkerCommand, { cmd: 'storm' }>): Promise<StormResult>;
  async run(command: Extract<WorkerCommand, { cmd: 'sweep' }>): Promise<SweepResult>;
  async run(command: WorkerCommand): Promise<StormResult | SweepResult> {
    this.send(command);
    const result = await this.next('result');
    return result;
  }

  /** Asks the worker to close its vault and exit; waits for it. */
  async stop(): Promise<void> {
    if (this.#exit === undefined) {
      this.send({ cmd: 'exit' });
      this.#child.stdin!.end();
    }
    await this.exited;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.#exit === undefined) this.#child.kill(signal);
    return this.exited;
  }

  #failure(what: string): Error {
    return new RangeError(`worker ${this.#label} (pid ${this.#child.pid}) ${what}\n${this.#stderr.slice(-4_000)}`);
  }
}

/**
 * Writes the config next to the run's other files (mode 0600: it holds the client secret and maybe
 * an encryption key), starts the worker, and resolves once it is ready.
 *
 * @example
 * const worker = await startWorker(dir, { label: 'w0', contender: 'tokenvault', emulator, store });
 * const result = await worker.run({ cmd: 'sweep', offsetMs, concurrency: 32, withinMs: 120_000 });
 */
export async function startWorker(dir: string, config: WorkerConfig): Promise<WorkerProcess> {
  const configPath = join(dir, `worker-${config.label}.json`);
  await writeFile(configPath, JSON.stringify(config), { mode: 0o600 });
  await chmod(configPath, 0o600);
  // For investigations: extra Node flags for every worker (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  const extra = process.env.TOKENVAULT_BENCH_WORKER_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];
  const child = track(spawn(process.execPath, [...extra, ...tsNodeArgs(), WORKER, configPath], { cwd: workspaceRoot, stdio: ['pipe', 'pipe', 'pipe'] }));
  const worker = new WorkerProcess(child, config.label);
  await worker.next('ready');
  return worker;
}

/** Starts several workers at once (their start-up costs overlap) and resolves when all are ready. */
export async function startWorkers(dir: string, configs: readonly WorkerConfig[]): Promise<WorkerProcess[]> {
  const started = await Promise.allSettled(configs.map((c) => startWorker(dir, c)));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.kill() : undefined)));
    throw (failed as PromiseRejectedResult).reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<WorkerProcess>).value);
}
