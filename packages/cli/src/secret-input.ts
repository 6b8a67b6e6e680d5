import { Secret } from '@tokenvault/core';
import { CliError, InterruptedError, UsageError } from './cli-errors';
import type { CommandContext } from './command-context';
import { ENV } from './config';

const MAX_SECRET_BYTES = 64 * 1024;

/** Options of {@link readClientSecret}. */
export interface SecretSource {
  /** `--secret-stdin`: read the whole of stdin. */
  readonly secretStdin?: boolean | undefined;
  /** What the prompt asks for. */
  readonly prompt: string;
}

/**
 * Reads a consumer secret without ever showing it: from stdin with `--secret-stdin` (one trailing
 * newline dropped), else from `TOKENVAULT_CLIENT_SECRET`, else from a prompt that does not echo when
 * stdin is a terminal. Anything else is a usage error that names the three ways.
 *
 * @example
 * const secret = await readClientSecret(ctx, { secretStdin: true, prompt: 'consumer secret' });
 */
export async function readClientSecret(ctx: CommandContext, source: SecretSource): Promise<Secret> {
  let value: string;
  if (source.secretStdin) {
    value = (await readAll(ctx.io.stdin)).replace(/\r?\n$/, '');
    if (value === '') throw new CliError('--secret-stdin was given but stdin held no secret');
  } else if (ctx.io.env[ENV.clientSecret]) {
    value = ctx.io.env[ENV.clientSecret] as string;
  } else if (ctx.io.stdin.isTTY && typeof ctx.io.stdin.setRawMode === 'function') {
    value = await promptHidden(ctx, `${source.prompt}: `);
    if (value === '') throw new CliError('no secret was entered');
  } else {
    throw new UsageError(`no consumer secret: pipe it in with --secret-stdin, set ${ENV.clientSecret}, or run in a terminal to be prompted`);
  }
  if (/[\r\n]/.test(value)) throw new CliError('the secret must be one line');
  return new Secret(value);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_SECRET_BYTES) throw new CliError(`stdin holds more than ${MAX_SECRET_BYTES} bytes: that is not a secret`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line in raw mode, echoing nothing, so the secret never reaches the screen or scrollback. */
function promptHidden(ctx: CommandContext, prompt: string): Promise<string> {
  const stdin = ctx.io.stdin;
  ctx.io.stderr.write(prompt);
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      stdin.removeListener('data', onData);
      ctx.signal.removeEventListener('abort', onAbort);
      stdin.setRawMode?.(false);
      stdin.pause();
      ctx.io.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onAbort = () => finish(new InterruptedError());
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish();
        if (char === '\u0003') return finish(new InterruptedError());
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.on('data', onData);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}
