/**
 * The sweep benchmark, orchestrated: G grants minted at the emulator and seeded into a store, all
 * expired at once, then `vault.refreshDue` in worker processes (so their memory is their own) at each
 * level in turn: one process at a concurrency, or several processes sweeping the same grants at once
 * (they share the work through the leases). Between levels the emulator's clock moves past every
 * token's expiry again, so each level refreshes all G grants.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { EmulatorControl } from './emulator-control';
import { mintedGrantRecords } from './grant-fixtures';
import { openStore, type StoreSpec } from './store-spec';
import { startWorker } from './worker-process';
import type { WorkerConfig } from './worker-protocol';

export interface SweepOptions {
  readonly emulator: { readonly url: string; readonly control: EmulatorControl; readonly cpuSeconds?: () => number | undefined };
  /** An empty store; the sweep seeds it. */
  readonly store: StoreSpec;
  readonly grants: number;
  /** Each level: `processes` sweeping processes at once, each with `refreshDue({ concurrency })`. */
  readonly levels: readonly SweepLevelSpec[];
  readonly dir: string;
  /** Vault settings of the sweeping process. */
  readonly vault?: WorkerConfig['vault'];
  /** Called after each level (progress output). */
  readonly onLevel?: (level: SweepLevel) => void;
}

export interface SweepLevelSpec {
  readonly concurrency: number;
  readonly processes: number;
}

export interface SweepLevel {
  /** Per process. */
  readonly concurrency: number;
  readonly processes: number;
  readonly seen: number;
  readonly refreshed: number;
  readonly failed: number;
  readonly wallMs: number;
  /** Grants refreshed per second of the sweep. */
  readonly rate: number;
  /** The sweeping processes' CPU per grant refreshed, µs; the emulator's, when it runs in a child. */
  readonly cpuUsPerGrant: number;
  /** Grants found being refreshed by another sweeping process (left to it). */
  readonly refreshingElsewhere: number;
  /** Share of the sweeping processes' CPU time spent in garbage collection. */
  readonly gcShare: number;
  readonly emulatorCpuUsPerGrant: number | undefined;
  /** Refresh requests at the token endpoint during the level, the most for one grant, refusals. */
  readonly refreshRequests: number;
  readonly maxPerGrant: number;
  readonly invalidGrant: number;
  readonly reuseDetections: number;
  /** RSS of a sweeping process (the largest): peak sampled during the level, and its lifetime maximum so far. */
  readonly peakRssMb: number;
  readonly maxRssMb: number;
  readonly load: number;
}

export interface SweepReport {
  readonly grants: number;
  /** Minting at the emulator plus seeding the store, seconds. */
  readonly seedSeconds: number;
  readonly levels: readonly SweepLevel[];
}

/**
 * @example
 * const report = await runSweep({ emulator, store: spec, grants: 100_000, levels: [{ concurrency: 32, processes: 1 }, { concurrency: 64, processes: 2 }], dir });
 */
export async function runSweep(options: SweepOptions): Promise<SweepReport> {
  const { control } = options.emulator;
  const client = await control.registerService(`sweep-${Date.now()}`);
  const seedStart = performance.now();
  const store = openStore(options.store);
  let lifetimeMs = 900_000;
  try {
    const issuedAt = (await control.clock()).now;
    await control.mintGrantsInBatches(client.clientId, options.grants, async (batch) => {
      lifetimeMs = (batch[0]?.expiresIn ?? 900) * 1000;
      await store.createMany(mintedGrantRecords(batch, 'mixi', issuedAt), { chunkSize: 5_000 });
    });
  } finally {
    await store.close();
  }
  const seedSeconds = (performance.now() - seedStart) / 1000;

  const most = Math.max(...options.levels.map((l) => l.processes));
  const workers = await Promise.all(
    Array.from({ length: most }, (_, i) =>
      startWorker(options.dir, { label: `sweeper-${i + 1}`, contender: 'tokenvault', emulator: { url: options.emulator.url, client }, store: options.store, ...(options.vault && { vault: options.vault }) }),
    ),
  );
  const levels: SweepLevel[] = [];
  try {
    for (const spec of options.levels) {
      // Past the expiry of every token issued so far, including the previous level's.
      const clock = await control.advanceClock(lifetimeMs + 300_000);
      await control.resetCounters();
      const emulatorCpuBefore = options.emulator.cpuSeconds?.();
      const started = performance.now();
      const results = await Promise.all(
        workers.slice(0, spec.processes).map((w) => w.run({ cmd: 'sweep', offsetMs: clock.offsetMs, concurrency: spec.concurrency, withinMs: 120_000 })),
      );
      const wallMs = spec.processes === 1 ? results[0]!.wallMs : performance.now() - started;
      const emulatorCpuAfter = options.emulator.cpuSeconds?.();
      const counters = await control.counters();
      const sum = (pick: (r: (typeof results)[number]) => number) => results.reduce((total, r) => total + pick(r), 0);
      const refreshed = sum((r) => r.summary.refreshed);
      const cpuMs = sum((r) => r.cpuMs);
      const level: SweepLevel = {
        concurrency: spec.concurrency,
        processes: spec.processes,
        seen: sum((r) => r.summary.seen),
        refreshed,
        failed: sum((r) => r.summary.failed + r.summary.reauthRequired + r.summary.clientRejected + r.summary.unreadable),
        refreshingElsewhere: sum((r) => r.summary.refreshingElsewhere),
        wallMs,
        rate: (refreshed / wallMs) * 1000,
        cpuUsPerGrant: (cpuMs * 1000) / Math.max(1, refreshed),
        gcShare: cpuMs > 0 ? sum((r) => r.gcMs) / cpuMs : 0,
        emulatorCpuUsPerGrant:
          emulatorCpuBefore === undefined || emulatorCpuAfter === undefined ? undefined : ((emulatorCpuAfter - emulatorCpuBefore) * 1e6) / Math.max(1, refreshed),
        refreshRequests: counters.tokenRequests.refresh_token,
        maxPerGrant: counters.refreshes.maxPerGrant,
        invalidGrant: counters.invalidGrant,
        reuseDetections: counters.reuseDetections,
        peakRssMb: Math.max(...results.map((r) => r.peakRssMb)),
        maxRssMb: Math.max(...results.map((r) => r.maxRssMb)),
        load: loadavg()[0] ?? 0,
      };
      levels.push(level);
      options.onLevel?.(level);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
  return { grants: options.grants, seedSeconds, levels };
}
