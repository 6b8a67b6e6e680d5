import { SingleBar } from 'cli-progress';
import type { RekeyProgress, RekeySummary, RekeyTableSummary } from '@tokenvault/kysely';
import { CliError, EXIT_FAILURE, EXIT_OK } from '../cli-errors';
import type { CommandContext } from '../command-context';
import { formatSeconds } from '../duration';
import { withWorkspace } from '../workspace';

/** Options of `tokenvault rekey`. */
export interface RekeyCommandOptions {
  readonly pageSize: number;
  /** ms between pages */
  readonly pause?: number;
  readonly progress?: boolean;
  readonly json?: boolean;
  /** Threads that re-encrypt a large table; 0 keeps it on this thread (default: the store's). */
  readonly workers?: number;
  /** Also read secrets stored unencrypted (a store that ran with --insecure-no-encryption). */
  readonly fromPlaintext?: boolean;
}

/**
 * `tokenvault rekey`: moves every stored secret to the active key (the first of the ring), a page at a
 * time, while other processes keep using the store; with a cli-progress bar on stderr. Exits 1 when
 * some rows could not be read (tampered, or under a key not in the ring) or kept changing.
 */
export async function runRekey(ctx: CommandContext, options: RekeyCommandOptions): Promise<number> {
  return withWorkspace(ctx, { acceptUnencrypted: options.fromPlaintext === true }, async (workspace, config) => {
    if (config.encryption.kind !== 'keys') {
      throw new CliError('rekey moves secrets to the first key of TOKENVAULT_KEYS (or --keys-file): configure the key ring, not --insecure-no-encryption');
    }
    const store = workspace.store;
    const started = Date.now();
    const showBar = options.progress ?? ctx.io.stderr.isTTY === true;
    const interactive = ctx.io.stderr.isTTY === true;
    let bar: SingleBar | undefined;
    let barTable: string | undefined;
    const onProgress = (p: RekeyProgress) => {
      if (!showBar) return;
      if (barTable !== p.table) {
        bar?.stop();
        barTable = p.table;
        bar = new SingleBar({
          stream: ctx.io.stderr,
          format: `rekey ${p.table.padEnd(7)} [{bar}] {value}/{total} | {rekeyed} moved | {current} current | {unreadable} unreadable | {duration_formatted}`,
          barsize: 30,
          hideCursor: interactive,
          noTTYOutput: !interactive,
          notTTYSchedule: 5_000,
        });
        bar.start(Math.max(p.total, p.summary.seen), 0, payload(p.summary));
      }
      if (p.summary.seen > (bar as SingleBar).getTotal()) bar?.setTotal(p.summary.seen);
      bar?.update(p.summary.seen, payload(p.summary));
    };
    if (!showBar && !options.json) ctx.err('rekeying: moving every secret to the active key…');
    let summary: RekeySummary;
    try {
      summary = await store.rekey({
        pageSize: options.pageSize,
        onProgress,
        signal: ctx.signal,
        ...(options.pause !== undefined && { pauseMs: options.pause }),
        ...(options.workers !== undefined && { workers: options.workers }),
      });
    } finally {
      bar?.stop();
    }
    const durationMs = Date.now() - started;
    const activeKeyId = (store.secretCodec as { activeKeyId?: string } | undefined)?.activeKeyId;
    if (options.json) {
      ctx.out(JSON.stringify({ activeKeyId, ...summary, durationMs }, null, 2));
    } else {
      ctx.out(`rekeyed to key "${activeKeyId ?? '?'}" in ${formatSeconds(durationMs)}: grants ${describe(summary.grants)}; clients ${describe(summary.clients)}`);
      const unreadable = [...summary.grants.unreadable, ...summary.clients.unreadable];
      const unreadableCount = summary.grants.unreadableCount + summary.clients.unreadableCount;
      if (unreadableCount > 0) ctx.out(`unreadable (tampered, or under a key not in the ring): ${unreadable.slice(0, 20).join(', ')}${unreadableCount > 20 ? ', …' : ''}`);
      if (summary.grants.gaveUp + summary.clients.gaveUp > 0) ctx.out('some rows kept changing while being rekeyed: run "tokenvault rekey" again');
    }
    const failed = summary.grants.unreadableCount + summary.clients.unreadableCount + summary.grants.gaveUp + summary.clients.gaveUp;
    return failed > 0 ? EXIT_FAILURE : EXIT_OK;
  });
}

function describe(t: RekeyTableSummary): string {
  return `${t.seen} seen, ${t.rekeyed} moved, ${t.current} already current, ${t.unreadableCount} unreadable${t.conflicts > 0 ? `, ${t.conflicts} re-read after a concurrent write` : ''}`;
}

function payload(t: RekeyTableSummary): Record<string, number> {
  return { rekeyed: t.rekeyed, current: t.current, unreadable: t.unreadableCount };
}
