import type { Logger } from '@tokenvault/core';
import { type CliIo, writeLine } from './cli-io';
import { type CliConfig, type ConfigFlags, loadConfig } from './config';

/** The options every command accepts. */
export interface GlobalOptions {
  readonly db?: string;
  readonly postgres?: string;
  readonly config?: string;
  readonly debug?: boolean;
  readonly keysFile?: string;
  readonly insecureNoEncryption?: boolean;
}

/** What a command runs with: its streams, the global options, and a signal that fires on SIGINT/SIGTERM. */
export interface CommandContext {
  readonly io: CliIo;
  readonly globals: GlobalOptions;
  /** Aborted when the user interrupts; long waits (a redirect, a sweep, the emulator) stop on it. */
  readonly signal: AbortSignal;
  /** A logger for the vault when `--debug` is on (to stderr), else undefined (silent). */
  readonly logger: Logger | undefined;
  /** The configuration: flags, then environment, then config file, then defaults. */
  config(flags?: Pick<ConfigFlags, 'client'>): Promise<CliConfig>;
  /** A line on stdout: results. */
  out(line?: string): void;
  /** A line on stderr: progress, notes, prompts. */
  err(line?: string): void;
}

/** Builds the context of one command run. */
export function createCommandContext(io: CliIo, globals: GlobalOptions, signal: AbortSignal): CommandContext {
  const err = (line?: string) => writeLine(io.stderr, line);
  return {
    io,
    globals,
    signal,
    logger: globals.debug ? stderrLogger(err) : undefined,
    config: (flags = {}) =>
      loadConfig(
        {
          db: globals.db,
          postgres: globals.postgres,
          config: globals.config,
          client: flags.client,
          keysFile: globals.keysFile,
          insecureNoEncryption: globals.insecureNoEncryption,
        },
        io,
      ),
    out: (line?: string) => writeLine(io.stdout, line),
    err,
  };
}

/**
 * The vault's log, one line per entry on stderr. The vault never hands a logger a secret (its secret
 * fields are `Secret`s, which serialise as `[redacted]`), so the entries are printed as they come.
 */
function stderrLogger(err: (line: string) => void): Logger {
  const line = (level: string) => (obj: object, msg?: string) => err(`${level}: ${msg ?? ''} ${JSON.stringify(obj)}`);
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
