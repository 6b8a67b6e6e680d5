import { CommanderError } from 'commander';
import { debugDetails, EXIT_OK, EXIT_USAGE, InterruptedError, reportFailure } from './cli-errors';
import { type CliIo, processIo, writeLine } from './cli-io';
import { buildProgram } from './program';

/** Options of {@link main}. */
export interface MainOptions {
  /**
   * Stops a running command (a redirect wait, a sweep, the emulator) when aborted. `bin.ts` wires it
   * to SIGINT/SIGTERM. Default: never aborted.
   */
  readonly signal?: AbortSignal;
}

/**
 * Runs the `tokenvault` command line and resolves to its exit status: 0 done, 1 failed, 2 bad
 * command line, 130 interrupted. Never exits the process and never throws: every failure becomes one
 * `error: …` line on stderr (with the stack trace too under `--debug`).
 *
 * @example
 * process.exitCode = await main(process.argv);
 * await main(['node', 'tokenvault', 'status', '--json'], { ...processIo(), cwd: '/srv/app' });
 */
export async function main(argv: readonly string[], io: CliIo = processIo(), options: MainOptions = {}): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram({
    io,
    signal: options.signal ?? new AbortController().signal,
    setExitCode: (code) => {
      exitCode = code;
    },
  });
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed the help, the version, or its one-line usage error already.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    // Whatever a command threw while being interrupted (an AbortError, mostly), the story is the interruption.
    const report = await reportFailure(options.signal?.aborted ? new InterruptedError() : error);
    writeLine(io.stderr, `error: ${report.line}`);
    if (program.opts<{ debug?: boolean }>().debug || argv.includes('--debug')) writeLine(io.stderr, debugDetails(error));
    return report.exitCode;
  }
}
