import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createVault, encryptedKeyId, formatEncryptionKey, generateEncryptionKey, providers, type Vault } from '@tokenvault/core';
import { createMixiEmulator, mixiEndpoints, type RunningEmulator } from '@tokenvault/mixi-emulator';
import type { RekeyableKyselyStore, RekeyOptions, StoreEncryption } from '../src/index';
import { type DialectFixture, postgresFixture, sqliteFixture } from './support/dialect-fixture';
import { describePostgres } from './support/postgres-harness';

const WORKERS = 3;
const GRANTS = 150;
const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/refresh-worker.ts', import.meta.url));
const [A, B, C] = ['A', 'B', 'C'].map((id) => generateEncryptionKey({ id })) as [ReturnType<typeof generateEncryptionKey>, ReturnType<typeof generateEncryptionKey>, ReturnType<typeof generateEncryptionKey>];
const ring = (...keys: (typeof A)[]) => keys.map(formatEncryptionKey).join(',');

interface WorkerReport {
  name: string;
  refreshes: number;
  reads: number;
  errors: string[];
}

/** A worker process; resolves once it has refreshed at least once, with a `stop` that ends it and returns its report. */
function startWorker(config: Record<string, unknown>): Promise<{ stop: () => Promise<WorkerReport> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@tokenvault/source', '--import', 'tsx', worker, JSON.stringify(config)], {
      cwd: workspaceRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const done = new Promise<WorkerReport>((res, rej) => {
      child.on('close', (code) => (code === 0 ? res(JSON.parse(out) as WorkerReport) : rej(new RangeError(`worker ${String(config.name)} exited ${code}: ${err}`))));
    });
    done.catch(reject);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('ready\n')) resolve({ stop: () => (child.stdin.end(), done) });
    });
  });
}

/** `threads`: the rekey's options for where it re-encrypts (this thread, or worker threads even for this small table). */
function rotationSuite(name: string, makeFixture: () => Promise<DialectFixture>, threads: RekeyOptions = { workers: 0 }): void {
  describe(`rotation under load (${name})`, () => {
    let fx: DialectFixture | undefined;
    let running: RunningEmulator | undefined;
    afterEach(async () => {
      await running?.close();
      await fx?.dispose();
    });

    it(`rekeys rows under A and B to C while ${WORKERS} processes keep refreshing: every grant stays usable, none is left under A or B`, async () => {
      fx = await makeFixture();
      const emulator = createMixiEmulator();
      running = await emulator.listen({ port: 0 });
      const service = emulator.registerService({ name: 'rotation', description: 'rekey under load', redirectUrl: 'https://app.example/callback', inquiryEmail: 'dev@app.example' });
      const provider = providers.mixi(mixiEndpoints(running.url));
      const vaultOn = (store: RekeyableKyselyStore): Vault =>
        createVault({ store, clients: [{ id: 'mixi', provider, clientId: service.clientId, clientSecret: service.clientSecret, redirectUri: 'https://app.example/callback' }], cache: false });
      const open = (encryption: StoreEncryption) => fx!.open(encryption);

      // Half the grants written under A, half under B (a rotation that happened before), the client too.
      const grantIds = Array.from({ length: GRANTS }, (_, i) => `user-${String(i).padStart(3, '0')}`);
      const [underA, underB] = [vaultOn(open({ keys: [A] })), vaultOn(open({ keys: [B, A] }))];
      for (const [i, grantId] of grantIds.entries()) {
        const minted = emulator.mintGrant({ clientId: service.clientId, scope: 'r_profile' });
        await (i % 2 === 0 ? underA : underB).importGrant({ grantId, client: 'mixi', accessToken: minted.accessToken, refreshToken: minted.refreshToken, expiresAt: Date.now() + minted.expiresIn * 1000, scope: ['r_profile'] });
      }
      const keysBefore = await keysInUse(fx);
      expect(Object.keys(keysBefore).sort()).toEqual(['A', 'B']);

      // Every process runs with the new ring (C first), as a rotation is rolled out, then rekey runs,
      // in small pages with pauses so that it spans many refreshes.
      const workers = await Promise.all(
        Array.from({ length: WORKERS }, (_, i) =>
          startWorker({ location: fx!.location, keys: ring(C, B, A), emulatorUrl: running!.url, clientId: service.clientId, clientSecret: service.clientSecret, grantIds, name: `worker-${i}` }),
        ),
      );
      const refreshesBefore = emulator.counters.snapshot().refreshes.total;
      const summary = await open({ keys: [C, B, A] }).rekey({ pageSize: 3, pauseMs: 25, ...threads });
      const refreshesDuring = emulator.counters.snapshot().refreshes.total - refreshesBefore;
      const reports = await Promise.all(workers.map((w) => w.stop()));

      console.info(
        `${name}: rekey ${JSON.stringify({ ...summary.grants, unreadable: summary.grants.unreadable.length })}; ` +
          `${refreshesDuring} refreshes during the rekey; workers ${reports.map((r) => `${r.refreshes} refreshes/${r.reads} reads`).join(', ')}`,
      );
      for (const report of reports) expect(report.errors, report.name).toEqual([]);
      expect(refreshesDuring, 'the workers refreshed while the rekey ran').toBeGreaterThan(0);
      expect(summary.grants).toMatchObject({ seen: GRANTS, gaveUp: 0, unreadable: [], unreadableCount: 0 });
      expect(summary.clients.unreadable).toEqual([]);
      expect(emulator.counters.snapshot().reuseDetections, 'a refresh token was used twice: some write was lost').toBe(0);

      // Nothing is under A or B any more...
      expect(Object.keys(await keysInUse(fx))).toEqual(['C']);
      // ...so a vault that knows only C can use every grant: the stored access token is accepted by the
      // API, and the stored refresh token (the newest the emulator issued) refreshes.
      const onlyC = vaultOn(open({ keys: [C] }));
      for (const grantId of grantIds) {
        const res = await onlyC.fetch(grantId, 'people/@me/@self');
        expect(res.status, grantId).toBe(200);
        await res.arrayBuffer();
        expect((await onlyC.refresh(grantId, { force: true })).state, grantId).toBe('authorized');
      }
      expect(emulator.counters.snapshot().reuseDetections).toBe(0);
    }, 180_000);
  });
}

async function keysInUse(fx: DialectFixture): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const rows = [...(await fx.sql('select access_token, refresh_token, id_token, pending_code_verifier, pending_server_state from tokenvault_grants')), ...(await fx.sql('select client_secret from tokenvault_clients'))];
  for (const row of rows) for (const v of Object.values(row)) if (v !== null) counts[encryptedKeyId(v) ?? 'plain'] = (counts[encryptedKeyId(v) ?? 'plain'] ?? 0) + 1;
  return counts;
}

const onWorkerThreads: RekeyOptions = { workers: 2, minRowsForWorkers: 0 };
rotationSuite('SQLite, 3 processes', sqliteFixture);
rotationSuite('SQLite, 3 processes, rekey on worker threads', sqliteFixture, onWorkerThreads);
describePostgres('rotation under load (PostgreSQL)', () => {
  rotationSuite('PostgreSQL, 3 processes', postgresFixture);
  rotationSuite('PostgreSQL, 3 processes, rekey on worker threads', postgresFixture, onWorkerThreads);
});
