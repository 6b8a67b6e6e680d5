import { formatEncryptionKey, generateEncryptionKey } from '@tokenvault/core';
import { EXIT_OK } from '../cli-errors';
import type { CommandContext } from '../command-context';
import { ENV } from '../config';

/** Options of `tokenvault keys generate`. */
export interface KeysGenerateOptions {
  readonly id?: string;
}

/**
 * `tokenvault keys generate`: a new random 256-bit key, printed once on stdout as `id:base64url` (the
 * `TOKENVAULT_KEYS` format) so it can go straight into a secret store or a key file. Printing it is
 * the point of the command; nothing else in the CLI ever prints a key. How to use it goes to stderr.
 */
export async function runKeysGenerate(ctx: CommandContext, options: KeysGenerateOptions): Promise<number> {
  const key = generateEncryptionKey(options.id === undefined ? {} : { id: options.id });
  ctx.out(formatEncryptionKey(key));
  ctx.err(
    `a new key "${key.id}". Keep it secret. First use: ${ENV.keys}=<it>. Rotation: put it first in ${ENV.keys} ` +
      `(the old keys after it), roll that out to every process, then run "tokenvault rekey"; afterwards drop the old keys.`,
  );
  return EXIT_OK;
}
