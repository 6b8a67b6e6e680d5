/**
 * The refresh storm, orchestrated: G grants expire at once; W worker processes each run C concurrent
 * callers per grant against the emulator; then the emulator's counters, every process's final
 * tokens and the store are compared. The cross-process tests (packages/kysely/test) and the
 * benchmark (scripts/bench/index.ts) both run this, with their own sizes.
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { CountersSnapshot, MintedGrant } from '@tokenvault/mixi-emulator';
import { fingerprint } from './contenders/contender';
import type { EmulatorControl } from './emulator-control';
import { mintedGrantRecords } from './grant-fixtures';
import { percentile } from './measure';
import { openStore, type StoreSpec } from './store-spec';
import { startWorkers } from './worker-process';
import type { CallPath, ContenderName, StormGrant, StormResult } from './worker-protocol';

export interface StormOptions {
  readonly contender: ContenderName;
  /** The emulator (in this process or a child), with its control API. */
  readonly emulator: { readonly url: string; readonly control: EmulatorControl };
  /** tokenvault: the shared store (empty; the storm seeds it). */
  readonly store?: StoreSpec;
  readonly grants: number;
  readonly processes: number;
  readonly callersPerGrant: number;
  /** How callers ask for tokens. Default `token` (`getAccessToken`). */
  readonly call?: CallPath;
  /** Callers in flight per process (grant by grant); default: all at once. See `WorkerCommand`. */
  readonly maxInFlight?: number;
  /**
   * Give up after this long (ms from the go): the workers are killed and `StormTimeoutError` (with
   * the emulator's counters so far) is thrown. Default: no limit.
   */
  readonly timeoutMs?: number;
  /** A scratch directory for worker configs and the grant file. */
  readonly dir: string;
  /**
   * Check every grant's stored tokens against the emulator (one lookup per grant) instead of a
   * sample of at most 500. Default: every grant up to 2,000.
   */
  readonly verifyAll?: boolean;
}

/** Per grant, what the store ended with and whether it is the emulator's current token pair. */
export interface StoreCheck {
  readonly checked: number;
  /** Records by state (`authorized`, `refreshing`, …). */
  readonly states: Readonly<Record<string, number>>;
  /** (process, grant) pairs whose final access token differs from the store's. */
  readonly processesBehindStore: number;
  /** Checked grants whose stored refresh token is not the emulator's current one for that grant. */
  readonly notCurrentAtEmulator: number;
}

export interface StormReport {
  readonly contender: ContenderName;
  readonly grants: number;
  readonly processes: number;
  readonly callersPerGrant: number;
  readonly callers: number;
  /** Refresh requests that reached the token endpoint (whatever their answer). */
  readonly refreshRequests: number;
  readonly requestsPerGrant: number;
  /** Successful refreshes, and the most any one grant had. */
  readonly refreshes: number;
  readonly maxRefreshesPerGrant: number;
  readonly invalidGrant: number;
  readonly reuseDetections: number;
  /** Callers that got no token, by error code. */
  readonly errors: Readonly<Record<string, number>>;
  readonly failedCallers: number;
  /** Grants revoked at the emulator, and grants no process holds a working token for (their union is "lost"). */
  readonly revokedGrants: number;
  readonly grantsWithoutWorkingToken: number;
  readonly grantsLost: number;
  /** Callers handed a token other than the one their process ended with. */
  readonly inconsistentCallers: number;
  /** From "go" until the last caller in any process settled, ms; caller latencies, ms. */
  readonly wallMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** tokenvault only. */
  readonly store?: StoreCheck;
  /** warn/error log lines of all processes, by message. */
  readonly logs: Readonly<Record<string, number>>;
  readonly counters: CountersSnapshot;
  readonly workers: readonly Omit<StormResult, 'latencies' | 'final'>[];
  /** 1-minute load average when the storm ended. */
  readonly load: number;
}

/** A storm that did not finish within its time limit; its workers were killed. */
export class StormTimeoutError extends Error {
  override readonly name = 'StormTimeoutError';
  /** The emulator's counters when the storm was given up. */
  counters: CountersSnapshot | undefined;
  constructor(readonly timeoutMs: number) {
    super(`the storm did not finish within ${timeoutMs} ms`);
  }
}

/** The virtual time the emulator's tokens were minted at and the tokens themselves. */
interface Minted {
  readonly issuedAt: number;
  readonly grants: readonly MintedGrant[];
}

/**
 * Runs one storm and reports what reached the emulator and what every process ended with.
 *
 * @example
 * const report = await runRefreshStorm({ contender: 'tokenvault', emulator, store, grants: 200, processes: 4, callersPerGrant: 50, dir });
 * expect(report.requestsPerGrant).toBe(1);
 */
export async function runRefreshStorm(options: StormOptions): Promise<StormReport> {
  const { control } = options.emulator;
  const client = await control.registerService(`storm-${options.contender}-${Date.now()}`);
  const before = await control.clock();
  const minted: Minted = { issuedAt: before.now, grants: await control.mintGrants(client.clientId, options.grants) };
  const lifetimeMs = (minted.grants[0]?.expiresIn ?? 900) * 1000;

  if (options.contender === 'tokenvault') {
    if (!options.store) throw new RangeError('a tokenvault storm needs a store');
    const store = openStore(options.store);
    try {
      await store.createMany(mintedGrantRecords(minted.grants, 'mixi', minted.issuedAt), { chunkSize: 5_000 });
    } finally {
      await store.close();
    }
  }

  // Every token above expires at once: past its lifetime and past the vault's refresh skew.
  const clock = await control.advanceClock(lifetimeMs + 120_000);
  const stormGrants: StormGrant[] = minted.grants.map((g) => ({
    grantId: g.grantId,
    accessToken: g.accessToken,
    refreshToken: g.refreshToken,
    expiresAtRealMs: minted.issuedAt + g.expiresIn * 1000 - clock.offsetMs,
  }));
  const grantsFile = join(options.dir, `grants-${options.contender}.json`);
  await writeFile(grantsFile, JSON.stringify(stormGrants), { mode: 0o600 });

  const workers = await startWorkers(
    options.dir,
    Array.from({ length: options.processes }, (_, i) => ({
      label: `${options.contender}-${i}`,
      contender: options.contender,
      emulator: { url: options.emulator.url, client },
      grantsFile,
      ...(options.store === undefined ? {} : { store: options.store }),
    })),
  );
  let results: StormResult[];
  let goAt: number;
  try {
    await control.resetCounters();
    // The go: one command to every process at once.
    goAt = Date.now();
    const pending = workers.map((w) =>
      w.run({
        cmd: 'storm',
        offsetMs: clock.offsetMs,
        callersPerGrant: options.callersPerGrant,
        call: options.call ?? 'token',
        validate: true,
        ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      if (options.timeoutMs === undefined) return;
      timer = setTimeout(() => reject(new StormTimeoutError(options.timeoutMs!)), options.timeoutMs);
    });
    try {
      results = await Promise.race([Promise.all(pending), limit]);
    } catch (error) {
      if (!(error instanceof StormTimeoutError)) throw error;
      await Promise.allSettled(workers.map((w) => w.kill()));
      error.counters = await control.counters();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
  }
  const counters = await control.counters({ perGrant: true });

  const latencies = results.flatMap((r) => r.latencies);
  const errors: Record<string, number> = {};
  const logs: Record<string, number> = {};
  for (const r of results) {
    for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
    for (const [msg, n] of Object.entries(r.logs)) logs[msg] = (logs[msg] ?? 0) + n;
  }

  // A grant is lost when the emulator revoked it or no process ended with a token the API accepts.
  const ids = minted.grants.map((g) => g.grantId);
  const working = new Set<string>();
  for (const r of results) {
    const rejected = new Set(r.rejected);
    for (const id of ids) if (r.final[id] !== null && !rejected.has(id)) working.add(id);
  }
  const revoked = new Set<string>();
  await forEachLimited(ids, 16, async (id) => {
    if ((await control.grant(id)).status === 'revoked') revoked.add(id);
  });
  const lost = new Set([...revoked, ...ids.filter((id) => !working.has(id))]);

  const storeCheck =
    options.contender === 'tokenvault' && options.store
      ? await checkStore(options.store, control, minted, results, counters, options.verifyAll ?? options.grants <= 2_000)
      : undefined;

  const refreshRequests = counters.tokenRequests.refresh_token;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    contender: options.contender,
    grants: options.grants,
    processes: options.processes,
    callersPerGrant: options.callersPerGrant,
    callers: results.reduce((n, r) => n + r.callers, 0),
    refreshRequests,
    requestsPerGrant: refreshRequests / options.grants,
    refreshes: counters.refreshes.total,
    maxRefreshesPerGrant: counters.refreshes.maxPerGrant,
    invalidGrant: counters.invalidGrant,
    reuseDetections: counters.reuseDetections,
    errors,
    failedCallers: Object.values(errors).reduce((a, b) => a + b, 0),
    revokedGrants: revoked.size,
    grantsWithoutWorkingToken: ids.length - working.size,
    grantsLost: lost.size,
    inconsistentCallers: results.reduce((n, r) => n + r.inconsistent, 0),
    wallMs: Math.max(...results.map((r) => r.endedAt)) - goAt,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    ...(storeCheck === undefined ? {} : { store: storeCheck }),
    logs,
    counters: { ...counters, refreshes: { ...counters.refreshes, perGrant: {} } },
    workers: results.map(({ latencies: _l, final: _f, ...rest }) => rest),
    load: loadavg()[0] ?? 0,
  };
}

/**
 * Reads every grant back from the store and compares it with what each process ended with and
 * with the emulator: the stored refresh token must be the one the grant's single refresh issued.
 */
async function checkStore(
  spec: StoreSpec,
  control: EmulatorControl,
  minted: Minted,
  results: readonly StormResult[],
  counters: CountersSnapshot,
  all: boolean,
): Promise<StoreCheck> {
  const store = openStore(spec);
  const states: Record<string, number> = {};
  let processesBehindStore = 0;
  let notCurrentAtEmulator = 0;
  const step = all ? 1 : Math.max(1, Math.floor(minted.grants.length / 500));
  let checked = 0;
  try {
    const sample = minted.grants.filter((_, i) => i % step === 0);
    await forEachLimited(sample, 16, async (seed) => {
      const record = await store.get(seed.grantId);
      checked++;
      const state = record?.state ?? 'missing';
      states[state] = (states[state] ?? 0) + 1;
      const accessToken = record?.accessToken?.reveal();
      const stored = accessToken === undefined ? null : fingerprint(accessToken);
      for (const r of results) if (r.final[seed.grantId] !== stored) processesBehindStore++;
      // Current at the emulator: a rotated refresh token of this grant, after exactly one refresh,
      // is the one that refresh issued (rotation keeps only the newest one usable).
      const refreshToken = record?.refreshToken?.reveal();
      const owner = refreshToken === undefined ? undefined : await control.grantOfRefreshToken(refreshToken);
      const refreshesOfGrant = counters.refreshes.perGrant?.[seed.grantId] ?? 0;
      if (owner?.grantId !== seed.grantId || refreshToken === seed.refreshToken || refreshesOfGrant !== 1) notCurrentAtEmulator++;
    });
  } finally {
    await store.close();
  }
  return { checked, states, processesBehindStore, notCurrentAtEmulator };
}

/** Runs `work` over `items`, `limit` at a time. */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}
