import { createInterface } from 'node:readline';
import { type ClientRecord, type GrantInfo, safeEqual, TokenVaultError, type Vault } from '@tokenvault/core';
import { CliError, EXIT_OK, reportFailure, UsageError } from '../cli-errors';
import type { CommandContext } from '../command-context';
import { formatRelative } from '../duration';
import { loopbackTarget, RedirectReceiver } from '../loopback-redirect';
import { withWorkspace } from '../workspace';

/** Options of `tokenvault authorize`. */
export interface AuthorizeOptions {
  readonly grant: string;
  readonly client?: string;
  readonly scope?: readonly string[];
  readonly display?: string;
  readonly paste?: boolean;
}

/** What mixi is asked for when `--scope` is not given: the profile, the least useful scope. */
const DEFAULT_MIXI_SCOPE = ['r_profile'];

/**
 * `tokenvault authorize --grant <id>`: begins the authorization, prints its URL on stdout, and takes
 * the redirect either on the client's loopback redirect URL or as a URL (or code) pasted on stdin,
 * until the authorization's deadline. Exits 0 once the grant is authorized; a denial, an expired
 * deadline or a refused code exit 1 with one line.
 */
export async function runAuthorize(ctx: CommandContext, options: AuthorizeOptions): Promise<number> {
  return withWorkspace(ctx, { client: options.client }, async (workspace, config) => {
    const client = pickClient(await workspace.clients(), config.client);
    const vault = await workspace.vault();
    const target = options.paste ? undefined : loopbackTarget(client.redirectUri);
    // Listen before the user is sent anywhere: a quick browser must find the port open.
    const receiver = target && (await RedirectReceiver.listen(target));
    try {
      const begun = await vault.beginAuthorization({
        grantId: options.grant,
        client: client.id,
        scope: options.scope ?? (client.provider === 'mixi' ? DEFAULT_MIXI_SCOPE : []),
        ...(options.display !== undefined && { display: options.display }),
        signal: ctx.signal,
      });
      const deadline = AbortSignal.timeout(Math.max(0, begun.deadline - Date.now()));
      const signal = AbortSignal.any([ctx.signal, deadline]);
      ctx.out(begun.url);
      let grant: GrantInfo;
      try {
        if (receiver) {
          ctx.err(`Open the URL above in a browser to authorize grant "${options.grant}". Waiting for the redirect to ${client.redirectUri} (until ${clockTime(begun.deadline)})…`);
          grant = await viaLoopback(vault, receiver, begun.state, options.grant, signal);
        } else {
          ctx.err(`Open the URL above in a browser to authorize grant "${options.grant}". After you allow it, the browser lands on ${client.redirectUri}?code=…`);
          ctx.err(`Paste that page's address (or the code it shows) here and press Enter (before ${clockTime(begun.deadline)}):`);
          grant = await vault.completeAuthorization(await pastedCallback(ctx, begun.state, signal), { signal });
        }
      } catch (error) {
        if (deadline.aborted && !ctx.signal.aborted) {
          throw new CliError(`grant "${options.grant}" was not authorized before its deadline (${clockTime(begun.deadline)}); run the command again`, { cause: error });
        }
        throw error;
      }
      const expiry = grant.accessTokenExpiresAt === null ? 'no expiry given' : `access token expires ${formatRelative(grant.accessTokenExpiresAt, Date.now())}`;
      ctx.out(`authorized grant "${grant.grantId}" (client ${grant.client}; scope ${grant.scope.join(' ') || '-'}; ${expiry})`);
      return EXIT_OK;
    } finally {
      await receiver?.close();
    }
  });
}

/** The client to authorize with: `--client` (or its env/config fallbacks), else the only one registered. */
function pickClient(clients: readonly ClientRecord[], wanted: string | undefined): ClientRecord {
  if (wanted !== undefined) {
    const client = clients.find((c) => c.id === wanted);
    if (!client) throw new CliError(`client "${wanted}" is not registered (see "tokenvault clients list")`);
    return client;
  }
  if (clients.length === 1) return clients[0] as ClientRecord;
  if (clients.length === 0) throw new CliError('no clients are registered; add one with "tokenvault clients add"');
  throw new UsageError(`several clients are registered (${clients.map((c) => c.id).join(', ')}): pass --client`);
}

/** Waits on the loopback listener for the redirect carrying this authorization's state. */
async function viaLoopback(vault: Vault, receiver: RedirectReceiver, state: string, grantId: string, signal: AbortSignal): Promise<GrantInfo> {
  const outcome = await receiver.receive<{ grant: GrantInfo } | { error: TokenVaultError }>({
    signal,
    isOurs: (params) => safeEqual(params.get('state') ?? '', state),
    handle: async (url) => {
      try {
        const grant = await vault.completeAuthorization(url, { signal });
        return {
          page: { status: 200, title: 'Authorized', message: `tokenvault stored grant "${grantId}". You can close this window.` },
          result: { grant },
        };
      } catch (error) {
        if (!(error instanceof TokenVaultError)) throw error;
        const { line } = await reportFailure(error);
        return { page: { status: 400, title: 'Not authorized', message: line }, result: { error } };
      }
    },
  });
  if ('error' in outcome) throw outcome.error;
  return outcome.grant;
}

/**
 * Reads the redirected URL the user pastes (the desktop page's address, its query string, or the bare
 * code it shows) and checks it belongs to this authorization. A whole address is handed on as it is,
 * so that the vault also checks it is the client's redirect URL.
 */
async function pastedCallback(ctx: CommandContext, state: string, signal: AbortSignal): Promise<URLSearchParams | string> {
  const text = await readLine(ctx.io.stdin, signal);
  let params: URLSearchParams;
  const address = URL.canParse(text) ? text : undefined;
  if (address !== undefined) params = new URL(address).searchParams;
  else if (text.includes('=')) params = new URLSearchParams(text.replace(/^\?/, ''));
  // A bare code, as mixi's desktop page shows it: it belongs to the authorization just begun.
  else params = new URLSearchParams({ code: text, state });
  const pastedState = params.get('state');
  if (pastedState === null) throw new CliError('the pasted address carries no state; paste the whole address of the page the browser landed on');
  if (!safeEqual(pastedState, state)) throw new CliError('the pasted address belongs to another authorization (its state differs)');
  if (!params.has('code') && !params.has('error')) throw new CliError('the pasted address carries neither a code nor an error');
  return address ?? params;
}

/** The first non-blank line of `input`; rejects at end of input or when `signal` aborts. */
function readLine(input: NodeJS.ReadableStream, signal: AbortSignal): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input, terminal: false });
    const finish = (settle: () => void) => {
      signal.removeEventListener('abort', onAbort);
      lines.removeAllListeners();
      lines.close();
      settle();
    };
    const onAbort = () => finish(() => reject(signal.reason));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    lines.on('line', (line) => {
      if (line.trim() !== '') finish(() => resolve(line.trim()));
    });
    lines.on('close', () => finish(() => reject(new CliError('stdin ended before a redirected address was pasted'))));
  });
}

function clockTime(epochMs: number): string {
  return new Date(epochMs).toTimeString().slice(0, 8);
}
