/**
 * Runs the real `tokenvault` CLI as a subprocess, from source, the way `npm run demo` does:
 * `node --conditions=@tokenvault/source --import tsx packages/cli/src/bin.ts …`.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TEST_KEYS } from './test-keys';

export const CLI_BIN = fileURLToPath(new URL('../../src/bin.ts', import.meta.url));
// Resolved here: a subprocess whose cwd is a temp dir could not find `tsx` by name.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  readonly cwd: string;
  /**
   * Added to a clean environment (no TOKENVAULT_* variables inherited, but TOKENVAULT_KEYS set to the
   * tests' key ring unless given here; `{ TOKENVAULT_KEYS: '' }` runs without keys).
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to stdin, which is then closed. Default: stdin closed at once. */
  readonly input?: string;
  /** Kill the process after this long. Default 60 s. */
  readonly timeoutMs?: number;
}

/** A CLI process still running, for commands that wait (authorize, emulator). */
export interface RunningCli {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves with the first stdout line matching `pattern` (rejects if the process ends first). */
  stdoutLine(pattern: RegExp): Promise<string>;
  /** Resolves once stderr has shown `pattern`. */
  stderrMatch(pattern: RegExp): Promise<void>;
  /** The whole run, once it ends. */
  readonly done: Promise<CliResult>;
}

function cleanEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TOKENVAULT_')) env[key] = value;
  return { ...env, TOKENVAULT_KEYS: TEST_KEYS, ...extra };
}

/** Starts the CLI; see {@link runCli} for a run to completion. */
export function startCli(args: readonly string[], options: CliRunOptions): RunningCli {
  const child = spawn(process.execPath, ['--conditions=@tokenvault/source', '--import', TSX_LOADER, CLI_BIN, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  const notify = () => waiters.splice(0).forEach((w) => w());
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    notify();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  let ended = false;
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ended = true;
      notify();
      resolve({ code, signal, stdout, stderr });
    });
  });
  if (options.input !== undefined) child.stdin.end(options.input);
  const waitFor = <T>(probe: () => T | undefined, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = probe();
        if (found !== undefined) return resolve(found);
        if (ended) return reject(new Error(`the CLI ended before ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        waiters.push(check);
      };
      check();
    });
  return {
    child,
    done,
    stdoutLine: (pattern) => waitFor(() => stdout.split('\n').slice(0, -1).find((line) => pattern.test(line)), `a stdout line matching ${pattern}`),
    stderrMatch: (pattern) => waitFor(() => (pattern.test(stderr) ? true : undefined), `stderr matching ${pattern}`).then(() => undefined),
  };
}

/**
 * Runs `tokenvault <args>` to completion.
 *
 * @example
 * const r = await runCli(['status', '--json'], { cwd: dir });
 * expect(r.code).toBe(0);
 */
export function runCli(args: readonly string[], options: CliRunOptions): Promise<CliResult> {
  const running = startCli(args, options);
  if (options.input === undefined) running.child.stdin.end();
  return running.done;
}
