import { type GrantFilter, type GrantInfo, toGrantInfo, UnknownGrantError } from '@tokenvault/core';
import type { GrantStateName } from '../arg-parsers';
import { EXIT_OK } from '../cli-errors';
import type { CommandContext } from '../command-context';
import { renderGrantTable } from '../grant-table';
import { type Workspace, withWorkspace } from '../workspace';

/** Options of `tokenvault status`. */
export interface StatusOptions {
  readonly state?: readonly GrantStateName[];
  readonly client?: string;
  readonly json?: boolean;
}

const PAGE = 500;

/**
 * `tokenvault status [grant…]`: a table of grants (state, scope, expiry, last error), or `--json`.
 * Nothing printed holds a token, code, state or secret: both outputs are built from `GrantInfo`. Works
 * without registered clients (no vault is needed to read), so grants left by a removed client show too.
 */
export async function runStatus(ctx: CommandContext, grantIds: readonly string[], options: StatusOptions): Promise<number> {
  return withWorkspace(ctx, {}, async (workspace) => {
    const grants = grantIds.length > 0 ? await namedGrants(workspace, grantIds) : await allGrants(ctx, workspace, filterOf(options));
    if (options.json) {
      ctx.out(JSON.stringify(grants, null, 2));
      return EXIT_OK;
    }
    if (grants.length === 0) {
      ctx.out(options.state || options.client ? 'no grants match' : 'no grants yet; authorize one with "tokenvault authorize --grant <id>"');
      return EXIT_OK;
    }
    ctx.out(renderGrantTable(grants, Date.now()));
    ctx.err(`${grants.length} grant${grants.length === 1 ? '' : 's'} in ${workspace.location.display}`);
    return EXIT_OK;
  });
}

function filterOf(options: StatusOptions): GrantFilter {
  return {
    ...(options.state !== undefined && { state: options.state }),
    ...(options.client !== undefined && { client: options.client }),
  };
}

/** The named grants, in the order given; an unknown one fails the command. */
async function namedGrants(workspace: Workspace, grantIds: readonly string[]): Promise<GrantInfo[]> {
  const grants: GrantInfo[] = [];
  for (const grantId of grantIds) {
    const record = await workspace.store.get(grantId);
    if (record === undefined) throw new UnknownGrantError(grantId);
    grants.push(toGrantInfo(record));
  }
  return grants;
}

/**
 * Every grant matching `filter`, a page at a time, redacted with `toGrantInfo` (what `vault.list`
 * does). Read from the store itself because its pages also report the rows it could not read, which
 * `vault.list` leaves out: an operator must hear of a corrupt row, not miss a grant silently.
 */
async function allGrants(ctx: CommandContext, workspace: Workspace, filter: GrantFilter): Promise<GrantInfo[]> {
  const grants: GrantInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await workspace.store.list(filter, { limit: PAGE, cursor });
    grants.push(...page.items.map(toGrantInfo));
    for (const problem of page.unreadable ?? []) ctx.err(`warning: ${problem.message}`);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return grants;
}
