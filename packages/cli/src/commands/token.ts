import { Secret } from '@tokenvault/core';
import { EXIT_OK } from '../cli-errors';
import type { CommandContext } from '../command-context';
import { formatRelative } from '../duration';
import { withWorkspace } from '../workspace';

/** Options of `tokenvault token`. */
export interface TokenOptions {
  readonly grant: string;
  readonly showSecret?: boolean;
}

/**
 * `tokenvault token --grant <id>`: a valid access token for the grant (refreshed first when due).
 * Without `--show-secret` it says whether there is one, until when, and its fingerprint; with it, the
 * token alone goes to stdout (for `curl -H "Authorization: Bearer $(tokenvault token … --show-secret)"`).
 * The one command that prints a secret, and only when asked.
 */
export async function runToken(ctx: CommandContext, options: TokenOptions): Promise<number> {
  return withWorkspace(ctx, {}, async (workspace) => {
    const vault = await workspace.vault();
    const token = new Secret(await vault.getAccessToken(options.grant, { signal: ctx.signal }));
    const info = await vault.inspect(options.grant);
    const expiry = info?.accessTokenExpiresAt == null ? 'no expiry given' : `valid until ${formatRelative(info.accessTokenExpiresAt, Date.now())}`;
    if (options.showSecret) {
      ctx.out(token.reveal());
      ctx.err(`access token of grant "${options.grant}" (${expiry}); it is a password: keep it out of logs and shell history`);
    } else {
      ctx.out(`grant "${options.grant}": access token ${token} (sha256:${token.fingerprint()}, ${expiry}); pass --show-secret to print it`);
    }
    return EXIT_OK;
  });
}
