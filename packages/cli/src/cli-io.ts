/**
 * Where a command reads and writes. `main` takes one so that nothing in the CLI reaches for
 * `process` directly: a test (or another program embedding the CLI) can hand it its own streams,
 * environment and working directory.
 */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  /** Environment variables (`TOKENVAULT_DB`, …). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths (`--db`, the default config file) resolve against. */
  readonly cwd: string;
}

/** The real process's streams, environment and working directory. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/** Writes one line (a newline is added). */
export function writeLine(stream: NodeJS.WritableStream, line = ''): void {
  stream.write(`${line}\n`);
}
