// Exactly-once refresh across real OS processes sharing one store, against the mixi emulator over
// loopback HTTP (issue 4): a refresh storm of 4 processes × 50 callers per grant on 200 expired
// grants, and a refresh owner killed with SIGKILL while it holds the lease, for SQLite and PostgreSQL.
//
// The worker program and the orchestration are the benchmarks' own (scripts/bench/lib): one way to
// run a storm, used by both. The emulator runs in this process; its virtual clock is advanced past
// every token's expiry before the "go", and the workers' vaults read the same virtual time.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GrantRecord } from '@tokenvault/core';
import { createMixiEmulator, type MixiEmulator, type RunningEmulator } from '@tokenvault/mixi-emulator';
import { EmulatorControl } from '../../../scripts/bench/lib/emulator-control';
import { mintedGrantRecords } from '../../../scripts/bench/lib/grant-fixtures';
import { runRefreshStorm } from '../../../scripts/bench/lib/refresh-storm';
import { openStore, runKeys, type StoreKind, tempStore, type TempStore } from '../../../scripts/bench/lib/store-spec';
import { startWorker, type WorkerProcess } from '../../../scripts/bench/lib/worker-process';
import type { StormGrant } from '../../../scripts/bench/lib/worker-protocol';
import { POSTGRES_URL, describePostgres } from './support/postgres-harness';

const GRANTS = 200;
const PROCESSES = 4;
const CALLERS_PER_GRANT = 50;
const TAKEOVER_MESSAGE = 'tokenvault: taking over an expired refresh lease';

interface World {
  emulator: MixiEmulator;
  server: RunningEmulator;
  control: EmulatorControl;
  store: TempStore;
  dir: string;
}

function storeSuite(kind: StoreKind): void {
  let world: World | undefined;
  const workers: WorkerProcess[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    const emulator = createMixiEmulator({ control: true });
    const server = await emulator.listen({ port: 0 });
    world = {
      emulator,
      server,
      control: new EmulatorControl(server.url),
      store: await tempStore(kind, { sqliteDir: tmpdir(), postgresUrl: POSTGRES_URL, keys: runKeys() }),
      dir: await mkdtemp(join(tmpdir(), 'tokenvault-processes-')),
    };
  });

  afterEach(async () => {
    await Promise.allSettled(workers.splice(0).map((w) => w.kill()));
    await Promise.allSettled(closers.splice(0).map((close) => close()));
    if (!world) return;
    await world.server.close();
    await world.store.dispose();
    await rm(world.dir, { recursive: true, force: true });
    world = undefined;
  });

  it(
    `${PROCESSES} processes × ${CALLERS_PER_GRANT} callers per grant on ${GRANTS} expired grants: exactly ${GRANTS} refreshes, no invalid_grant, no reuse, every process ends with the newest tokens`,
    async () => {
      const w = world!;
      const report = await runRefreshStorm({
        contender: 'tokenvault',
        emulator: { url: w.server.url, control: w.control },
        store: w.store.spec,
        grants: GRANTS,
        processes: PROCESSES,
        callersPerGrant: CALLERS_PER_GRANT,
        // One caller per grant in each process goes through vault.fetch (the API path), the rest ask getAccessToken.
        call: 'mixed',
        dir: w.dir,
        verifyAll: true,
      });
      const counters = w.emulator.counters.snapshot({ perGrant: true });
      console.info(
        `${kind}: ${report.callers} callers in ${PROCESSES} processes, ${report.refreshRequests} refresh requests, wall ${report.wallMs} ms, p50 ${report.p50Ms} ms, p99 ${report.p99Ms} ms`,
      );

      // No caller failed: SQLITE_BUSY, serialization failures and pool waits never reach a caller.
      expect(Object.entries(report.workers.map((r) => r.errorSamples).reduce((a, b) => ({ ...a, ...b }), {}))).toEqual([]);
      expect(report.errors).toEqual({});
      expect(report.callers).toBe(PROCESSES * GRANTS * CALLERS_PER_GRANT);

      // Exactly one refresh request per grant reached the token endpoint, and none was refused.
      expect(counters.tokenRequests.refresh_token).toBe(GRANTS);
      expect(counters.refreshes.total).toBe(GRANTS);
      expect(counters.refreshes.grants).toBe(GRANTS);
      expect(counters.refreshes.maxPerGrant).toBe(1);
      expect(counters.invalidGrant).toBe(0);
      expect(counters.reuseDetections).toBe(0);
      // The API callers were served with the refreshed tokens (none was sent an expired one).
      expect(counters.apiCalls.byStatus).toEqual({ '200': PROCESSES * GRANTS + report.workers.reduce((n, r) => n + r.validated, 0) });

      // Every process ends with the store's tokens, which are the emulator's current ones, and every
      // caller was handed the token its process ended with.
      expect(report.store).toEqual({ checked: GRANTS, states: { authorized: GRANTS }, processesBehindStore: 0, notCurrentAtEmulator: 0 });
      expect(report.workers.map((r) => [r.validated, r.invalidFinal])).toEqual(Array.from({ length: PROCESSES }, () => [GRANTS, 0]));
      expect(report.inconsistentCallers).toBe(0);
      expect(report.grantsLost).toBe(0);
    },
    240_000,
  );

  it(
    'a refresh owner killed with SIGKILL while holding the lease is taken over after the deadline: authorized if the provider had not rotated, reauthRequired (refresh_token_rejected) if it had; never stuck in refreshing',
    async () => {
      const w = world!;
      const client = await w.control.registerService('sigkill');
      const issuedAt = w.emulator.clock.now();
      const [notReached, reached] = w.emulator.mintGrants({ clientId: client.clientId, scope: 'r_profile', count: 2 });
      const seeded = openStore(w.store.spec);
      closers.push(() => seeded.close());
      await seeded.createMany(mintedGrantRecords([notReached!, reached!], 'mixi', issuedAt));
      const lifetimeMs = notReached!.expiresIn * 1000;
      let clock = await w.control.advanceClock(lifetimeMs + 120_000);

      const grantsFile = async (name: string, grants: readonly (typeof notReached)[]) => {
        const file = join(w.dir, `${name}.json`);
        const list: StormGrant[] = grants.map((g) => ({ grantId: g!.grantId, accessToken: g!.accessToken, refreshToken: g!.refreshToken, expiresAtRealMs: 0 }));
        await writeFile(file, JSON.stringify(list));
        return file;
      };
      const emulatorConfig = { url: w.server.url, client };
      // The killed owners get a long request timeout: their request must still be in flight when they die.
      const slowOwner = { leaseMs: 60_000, requestTimeoutMs: 30_000 };
      const [owner1, owner2] = await Promise.all([
        startWorker(w.dir, { label: 'owner-1', contender: 'tokenvault', emulator: emulatorConfig, store: w.store.spec, grantsFile: await grantsFile('a', [notReached]), vault: slowOwner }),
        startWorker(w.dir, {
          label: 'owner-2',
          contender: 'tokenvault',
          emulator: emulatorConfig,
          store: w.store.spec,
          grantsFile: await grantsFile('b', [reached]),
          vault: slowOwner,
          holdRefreshAnswers: [reached!.refreshToken],
        }),
      ]);
      workers.push(owner1!, owner2!);
      const storm = { cmd: 'storm', callersPerGrant: 5, call: 'token', validate: false } as const;

      // Owner 1: its refresh request reaches the token endpoint and is held there, unprocessed, when it dies.
      w.emulator.faults.add({ endpoint: 'token', grantType: 'refresh_token', delayMs: 10_000, drop: true, times: 1 });
      owner1!.send({ ...storm, offsetMs: clock.offsetMs });
      const leasedA = await waitFor(async () => {
        const record = await seeded.get(notReached!.grantId);
        return w.emulator.counters.snapshot().faultsApplied === 1 && record?.state === 'refreshing' ? record : undefined;
      });
      expect(leasedA.lease?.owner).toContain(`:${owner1!.pid}:`);
      await owner1!.kill('SIGKILL');
      expect(w.emulator.counters.snapshot().refreshes.total).toBe(0);

      // Owner 2: the provider rotates its refresh token and answers; the process dies before storing the answer.
      owner2!.send({ ...storm, offsetMs: clock.offsetMs });
      await owner2!.next('held');
      await owner2!.kill('SIGKILL');
      expect(w.emulator.counters.refreshesOf(reached!.grantId)).toBe(1);
      const leasedB = await seeded.get(reached!.grantId);
      expect(leasedB?.state).toBe('refreshing');
      expect(leasedB?.lease?.owner).toContain(`:${owner2!.pid}:`);
      expect(leasedB?.refreshToken?.reveal()).toBe(reached!.refreshToken);

      // Before the lease deadline nobody may take over; past it, the next process does: first its
      // sweep (which recovers abandoned leases), then callers.
      clock = await w.control.advanceClock(slowOwner.leaseMs + 1_000);
      const successor = await startWorker(w.dir, {
        label: 'successor',
        contender: 'tokenvault',
        emulator: emulatorConfig,
        store: w.store.spec,
        grantsFile: await grantsFile('ab', [notReached, reached]),
      });
      workers.push(successor);
      const sweep = await successor.run({ cmd: 'sweep', offsetMs: clock.offsetMs, concurrency: 4, withinMs: 120_000 });
      expect(sweep.summary).toMatchObject({ refreshed: 1, reauthRequired: 1, failed: 0, clientRejected: 0 });
      expect(sweep.logs[TAKEOVER_MESSAGE]).toBe(2);
      const after = await successor.run({ ...storm, callersPerGrant: 3, offsetMs: clock.offsetMs, validate: true });
      expect(after.errors).toEqual({ reauth_required: 3 });
      expect(after.rejected).toEqual([reached!.grantId]);

      const a = (await seeded.get(notReached!.grantId)) as GrantRecord;
      const b = (await seeded.get(reached!.grantId)) as GrantRecord;
      // Not reached: the successor's refresh is the grant's only one, with the original refresh token.
      expect(a.state).toBe('authorized');
      expect(a.lease).toBeNull();
      expect(w.emulator.counters.refreshesOf(notReached!.grantId)).toBe(1);
      expect(a.refreshToken?.reveal()).not.toBe(notReached!.refreshToken);
      expect(w.emulator.findGrant({ refreshToken: a.refreshToken!.reveal() })?.grantId).toBe(notReached!.grantId);
      expect(w.emulator.getGrant(notReached!.grantId).status).toBe('active');
      // Reached: the rotated token died with its owner; presenting the old one again is a reuse, the
      // provider revokes the grant, and the grant says why.
      expect(b.state).toBe('reauthRequired');
      expect(b.reauthReason).toBe('refresh_token_rejected');
      expect(b.lease).toBeNull();
      expect(w.emulator.getGrant(reached!.grantId)).toMatchObject({ status: 'revoked', revokedReason: 'refresh_token_reuse' });
      const counters = w.emulator.counters.snapshot();
      expect(counters.reuseDetections).toBe(1);
      expect(counters.refreshes.total).toBe(2);
    },
    120_000,
  );
}

/** Polls `probe` every 20 ms until it returns a value (at most 30 s). */
async function waitFor<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new RangeError('timed out waiting for the condition');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('vault processes on one SQLite file', () => storeSuite('sqlite'));
describePostgres('vault processes on one PostgreSQL schema', () => storeSuite('postgres'));
