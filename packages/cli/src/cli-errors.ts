import type { TokenVaultError } from '@tokenvault/core';

/** Exit status of a command that worked. */
export const EXIT_OK = 0;
/** Exit status of a command that failed: an unknown grant, a denied authorization, a store that cannot be read. */
export const EXIT_FAILURE = 1;
/** Exit status of a command line that does not parse: an unknown flag, a bad value, a missing argument. */
export const EXIT_USAGE = 2;
/** Exit status after SIGINT/SIGTERM (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/**
 * A failure the user can act on, reported as one line (`error: …`) with `exitCode`. Every command
 * throws these for problems it recognises; anything else is a bug and says so.
 *
 * @example
 * throw new CliError('no tokenvault database at ./tokenvault.db; start with "tokenvault clients add"');
 */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? EXIT_FAILURE;
  }
}

/** A bad flag value found after parsing (two flags that exclude each other, a value of the wrong shape). Exit 2. */
export class UsageError extends CliError {
  override readonly name: string = 'UsageError';

  constructor(message: string) {
    super(message, { exitCode: EXIT_USAGE });
  }
}

/** The command was stopped by SIGINT/SIGTERM. */
export class InterruptedError extends CliError {
  override readonly name: string = 'InterruptedError';

  constructor() {
    super('interrupted', { exitCode: EXIT_INTERRUPTED });
  }
}

/** What the user is told about a failure: one line, and the exit status. */
export interface FailureReport {
  readonly line: string;
  readonly exitCode: number;
}

/**
 * Turns any thrown value into one line for the user. tokenvault errors are explained by their stable
 * `code`, with the command that fixes them where there is one; their messages never hold a token,
 * code, state or secret, and neither does anything added here.
 *
 * @example
 * await reportFailure(new UnknownGrantError('bob')) // { line: 'grant "bob" does not exist', exitCode: 1 }
 */
export async function reportFailure(error: unknown): Promise<FailureReport> {
  if (error instanceof CliError) return { line: oneLine(error.message), exitCode: error.exitCode };
  // Loaded here, not at the top: `--help` and usage errors answer without loading the engine. Any
  // tokenvault error to explain was thrown by code that has loaded it already.
  const { isTokenVaultError, InvalidArgumentError } = await import('@tokenvault/core');
  if (isTokenVaultError(error)) return { line: oneLine(explainTokenVaultError(error)), exitCode: EXIT_FAILURE };
  if (error instanceof InvalidArgumentError) return { line: oneLine(error.message), exitCode: EXIT_USAGE };
  const message = error instanceof Error ? error.message : String(error);
  return { line: oneLine(`unexpected failure: ${message} (run with --debug for the details)`), exitCode: EXIT_FAILURE };
}

function explainTokenVaultError(error: TokenVaultError): string {
  const e = error as TokenVaultError & Partial<Record<'grantId' | 'client' | 'reason' | 'state', string>>;
  switch (error.code) {
    case 'unknown_grant':
      return `grant "${e.grantId}" does not exist`;
    case 'unknown_client':
      return `client "${e.client}" is not registered (see "tokenvault clients list")`;
    case 'not_authorized':
      return `grant "${e.grantId}" is not authorized (it is ${e.state}); run "tokenvault authorize --grant ${e.grantId}"`;
    case 'reauth_required':
      return `grant "${e.grantId}" must be authorized again (${e.reason}); run "tokenvault authorize --grant ${e.grantId}"`;
    case 'client_rejected':
      return `the provider rejected the credentials of client "${e.client}"; replace its secret with "tokenvault clients rotate-secret ${e.client}"`;
    case 'provider_unavailable':
      return `the provider could not be reached: ${error.message}${networkCause(error)}`;
    case 'insufficient_scope':
      return `${error.message}; authorize again with a wider --scope`;
    case 'store_error':
      return `the store failed: ${error.message}`;
    case 'store_corrupt_record':
      return /could not be decoded \((?:UnknownKeyError|DecryptionFailedError)\)/.test(error.message)
        ? `${error.message}; are these the keys (TOKENVAULT_KEYS, --keys-file) this database was written with? (see docs/security.md)`
        : error.message;
    default:
      return error.message;
  }
}

/** `(ECONNREFUSED)` when the chain of causes names a socket error: the usual reason a provider is unreachable. */
function networkCause(error: Error): string {
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 5 && cause !== undefined && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return ` (${code})`;
    cause = (cause as { cause?: unknown }).cause;
  }
  return '';
}

/**
 * The stack of `error` and of each of its causes, for `--debug`. Stacks hold messages and file
 * positions only; tokenvault's messages never quote a secret.
 */
export function debugDetails(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    parts.push(depth === 0 ? stackOf(current) : `caused by: ${stackOf(current)}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\n');
}

function stackOf(value: unknown): string {
  return value instanceof Error ? (value.stack ?? `${value.name}: ${value.message}`) : String(value);
}

/** Folds a message onto one line and drops control characters (a grant id could hold an escape sequence). */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
