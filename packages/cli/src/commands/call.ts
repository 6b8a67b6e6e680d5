import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readBodyLimited } from '@tokenvault/core';
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from '../cli-errors';
import type { CommandContext } from '../command-context';
import { formatDuration } from '../duration';
import { withWorkspace } from '../workspace';

/** Options of `tokenvault call`. */
export interface CallOptions {
  readonly grant: string;
  readonly data?: string;
  readonly header?: readonly string[];
  /** ms */
  readonly timeout?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Largest API answer `call` reads: far above any Graph API answer, far below what could hurt. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * `tokenvault call --grant <id> <method> <url>`: one API call through `vault.fetch`, which attaches the
 * token, refreshes it when the API calls it expired, and retries transient failures. The status goes
 * to stderr, the body (pretty JSON when it is JSON) to stdout.
 */
export async function runCall(ctx: CommandContext, method: string, url: string, options: CallOptions): Promise<number> {
  const headers = parseHeaders(options.header ?? []);
  const body = options.data === undefined ? undefined : await readData(ctx, options.data);
  if (body !== undefined) {
    if (method === 'GET' || method === 'HEAD') throw new UsageError(`--data cannot be sent with ${method}`);
    if (!headers.has('content-type')) headers.set('content-type', looksLikeJson(body) ? 'application/json' : 'application/x-www-form-urlencoded');
  }
  const timeoutMs = options.timeout ?? DEFAULT_TIMEOUT_MS;
  return withWorkspace(ctx, {}, async (workspace) => {
    const vault = await workspace.vault();
    let response: Response;
    try {
      response = await vault.fetch(options.grant, url, {
        method,
        headers,
        ...(body !== undefined && { body }),
        signal: ctx.signal,
        tokenvault: { timeoutMs },
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new CliError(`${method} ${url} got no answer within ${formatDuration(timeoutMs)} (retries included)`, { cause: error });
      }
      throw error;
    }
    ctx.err(`HTTP ${response.status} ${response.statusText}`.trimEnd());
    // The answer is read within a size limit and the same time budget as the call.
    const text = await readBodyLimited(response, MAX_ANSWER_BYTES, AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]));
    if (text !== '') ctx.out(prettyJson(text) ?? text);
    return response.status < 400 ? EXIT_OK : EXIT_FAILURE;
  });
}

function parseHeaders(lines: readonly string[]): Headers {
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`--header must look like "Name: value" (got "${line}")`);
    if (name.toLowerCase() === 'authorization') throw new UsageError('--header cannot set Authorization: the vault attaches the grant\'s token');
    headers.append(name, line.slice(colon + 1).trim());
  }
  return headers;
}

async function readData(ctx: CommandContext, data: string): Promise<string> {
  if (!data.startsWith('@')) return data;
  const path = resolve(ctx.io.cwd, data.slice(1));
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new CliError(`cannot read --data file ${data.slice(1)} (${(cause as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause });
  }
}

function looksLikeJson(body: string): boolean {
  const start = body.trimStart()[0];
  if (start !== '{' && start !== '[') return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

function prettyJson(text: string): string | undefined {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return undefined;
  }
}
