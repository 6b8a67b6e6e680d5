import { SingleBar } from 'cli-progress';
import type { GrantStore, RefreshDueSummary } from '@tokenvault/core';
import { EXIT_FAILURE, EXIT_OK } from '../cli-errors';
import type { CommandContext } from '../command-context';
import { formatDuration, formatSeconds } from '../duration';
import { withWorkspace } from '../workspace';

/** Options of `tokenvault sweep`. */
export interface SweepOptions {
  /** ms */
  readonly within: number;
  readonly concurrency: number;
  /** true: always draw the bar; false: never; undefined: when stderr is a terminal. */
  readonly progress?: boolean;
  readonly json?: boolean;
}

const COUNT_PAGE = 1_000;

/**
 * `tokenvault sweep`: `vault.refreshDue` over every grant whose access token expires within
 * `--within`, with a cli-progress bar on stderr (when it is a terminal, or with `--progress`) and a
 * summary. Exits 1 when some refreshes failed transiently or their client was rejected, so a cron job
 * notices; grants that need a new authorization are reported, not failed.
 */
export async function runSweep(ctx: CommandContext, options: SweepOptions): Promise<number> {
  return withWorkspace(ctx, {}, async (workspace) => {
    const vault = await workspace.vault();
    const started = Date.now();
    const showBar = options.progress ?? ctx.io.stderr.isTTY === true;
    let bar: SingleBar | undefined;
    if (showBar) {
      const interactive = ctx.io.stderr.isTTY === true;
      bar = new SingleBar({
        stream: ctx.io.stderr,
        format: 'sweep [{bar}] {value}/{total} grants | {refreshed} refreshed | {reauth} reauth | {failed} failed | {duration_formatted}',
        barsize: 30,
        hideCursor: interactive,
        // Forced onto a pipe or file: draw at start, every few seconds, and at the end.
        noTTYOutput: !interactive,
        notTTYSchedule: 5_000,
      });
      bar.start(await countDue(workspace.store, started, started + options.within), 0, barPayload(undefined));
    } else if (!options.json) {
      ctx.err(`sweeping grants due within ${formatDuration(options.within)} (concurrency ${options.concurrency})…`);
    }
    let summary: RefreshDueSummary;
    try {
      summary = await vault.refreshDue({
        withinMs: options.within,
        concurrency: options.concurrency,
        signal: ctx.signal,
        onProgress: (progress) => {
          if (!bar) return;
          // Grants that fell due after the count are swept too: grow the bar rather than overflow it.
          if (progress.seen > bar.getTotal()) bar.setTotal(progress.seen);
          bar.update(progress.seen, barPayload(progress));
        },
      });
    } finally {
      bar?.stop();
    }
    const durationMs = Date.now() - started;
    if (options.json) {
      ctx.out(JSON.stringify({ withinMs: options.within, concurrency: options.concurrency, ...summary, durationMs }, null, 2));
    } else {
      ctx.out(
        `swept ${summary.seen} grant${summary.seen === 1 ? '' : 's'} due within ${formatDuration(options.within)}: ` +
          `${summary.refreshed} refreshed, ${summary.alreadyFresh} already fresh, ` +
          (summary.refreshingElsewhere > 0 ? `${summary.refreshingElsewhere} being refreshed by another process, ` : '') +
          `${summary.reauthRequired} need a new authorization, ` +
          `${summary.clientRejected} skipped (client rejected), ${summary.failed} failed (${formatSeconds(durationMs)})`,
      );
      if (summary.reauthRequired > 0) ctx.out('see which with "tokenvault status --state reauthRequired"');
      if (summary.clientRejected > 0) ctx.out('a client was rejected: replace its secret with "tokenvault clients rotate-secret <id>"');
    }
    return summary.failed > 0 || summary.clientRejected > 0 ? EXIT_FAILURE : EXIT_OK;
  });
}

function barPayload(progress: RefreshDueSummary | undefined): Record<string, number> {
  return { refreshed: progress?.refreshed ?? 0, reauth: progress?.reauthRequired ?? 0, failed: (progress?.failed ?? 0) + (progress?.clientRejected ?? 0) };
}

/** How many grants the sweep will visit (the bar's total): abandoned leases, then due tokens. */
async function countDue(store: GrantStore, now: number, before: number): Promise<number> {
  let total = 0;
  for (const list of [(c: string | undefined) => store.listExpiredLeases(now, { limit: COUNT_PAGE, cursor: c }), (c: string | undefined) => store.listDue(before, { limit: COUNT_PAGE, cursor: c })]) {
    let cursor: string | undefined;
    do {
      const page = await list(cursor);
      total += page.items.length;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  return total;
}
