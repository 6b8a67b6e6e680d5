/**
 * The sweep benchmark, orchestrated: G grants minted at the emulator and seeded into a store, all
 * expired at once, then `vault.refreshDue` in a worker process (so its memory is its own) at each
 * concurrency in turn. Between levels the emulator's clock moves past every token's expiry again, so
 * each level refreshes all G grants.
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
  readonly concurrencies: readonly number[];
  readonly dir: string;
  /** Vault settings of the sweeping process. */
  readonly vault?: WorkerConfig['vault'];
  /** Called after each level (progress output). */
  readonly onLevel?: (level: SweepLevel) => void;
}

export interface SweepLevel {
  readonly concurrency: number;
  readonly seen: number;
  readonly refreshed: number;
  readonly failed: number;
  readonly wallMs: number;
  /** Grants refreshed per second of the sweep. */
  readonly rate: number;
  /** The sweeping process's CPU per grant, µs; the emulator's, when it runs in a child. */
  readonly cpuUsPerGrant: number;
  /** Share of the sweeping process's CPU time spent in garbage collection. */
  readonly gcShare: number;
  readonly emulatorCpuUsPerGrant: number | undefined;
  /** Refresh requests at the token endpoint during the level, the most for one grant, refusals. */
  readonly refreshRequests: number;
  readonly maxPerGrant: number;
  readonly invalidGrant: number;
  readonly reuseDetections: number;
  /** RSS of the sweeping process: peak sampled during the level, and its lifetime maximum so far. */
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
 * const report = await runSweep({ emulator, store: spec, grants: 100_000, concurrencies: [8, 32, 128], dir });
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

  const worker = await startWorker(options.dir, { label: 'sweeper', contender: 'tokenvault', emulator: { url: options.emulator.url, client }, store: options.store, ...(options.vault && { vault: options.vault }) });
  const levels: SweepLevel[] = [];
  try {
    for (const concurrency of options.concurrencies) {
      // Past the expiry of every token issued so far, including the previous level's.
      const clock = await control.advanceClock(lifetimeMs + 300_000);
      await control.resetCounters();
      const emulatorCpuBefore = options.emulator.cpuSeconds?.();
      const result = await worker.run({ cmd: 'sweep', offsetMs: clock.offsetMs, concurrency, withinMs: 120_000 });
      const emulatorCpuAfter = options.emulator.cpuSeconds?.();
      const counters = await control.counters();
      const s = result.summary;
      const level: SweepLevel = {
        concurrency,
        seen: s.seen,
        refreshed: s.refreshed,
        failed: s.failed + s.reauthRequired + s.clientRejected + s.unreadable,
        wallMs: result.wallMs,
        rate: (s.refreshed / result.wallMs) * 1000,
        cpuUsPerGrant: (result.cpuMs * 1000) / Math.max(1, s.seen),
        gcShare: result.cpuMs > 0 ? result.gcMs / result.cpuMs : 0,
        emulatorCpuUsPerGrant:
          emulatorCpuBefore === undefined || emulatorCpuAfter === undefined ? undefined : ((emulatorCpuAfter - emulatorCpuBefore) * 1e6) / Math.max(1, s.seen),
        refreshRequests: counters.tokenRequests.refresh_token,
        maxPerGrant: counters.refreshes.maxPerGrant,
        invalidGrant: counters.invalidGrant,
        reuseDetections: counters.reuseDetections,
        peakRssMb: result.peakRssMb,
        maxRssMb: result.maxRssMb,
        load: loadavg()[0] ?? 0,
      };
      levels.push(level);
      options.onLevel?.(level);
    }
  } finally {
    await worker.stop();
  }
  return { grants: options.grants, seedSeconds, levels };
}
