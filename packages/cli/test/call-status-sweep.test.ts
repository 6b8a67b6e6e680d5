import { join } from 'node:path';
import { createVault, ReauthRequiredError } from '@tokenvault/core';
import { sqliteStore } from '@tokenvault/kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientConfigOf } from '../src/client-registry';
import { TEST_ENCRYPTION } from './helpers/test-keys';
import { runCli } from './helpers/cli-process';
import { type CliWorld, freePort, leakedSecrets, type Service, startCliWorld } from './helpers/cli-world';

/** Access tokens that live 100 s: due for a 2-minute sweep, yet fresh for a call (the vault refreshes 60 s early). */
const LIFETIME_SEC = 100;

describe('tokenvault status, call and sweep against the emulator and a SQLite file', () => {
  let world: CliWorld;
  let service: Service;
  let dir: string;
  let db: string;

  /** A vault in this process on `file`, for fixtures the vault API makes (a pending authorization, a dead grant). */
  async function withVault(file: string, work: (vault: ReturnType<typeof createVault>) => Promise<void>): Promise<void> {
    const store = sqliteStore({ filename: file, encryption: TEST_ENCRYPTION });
    const vault = createVault({ store, clients: (await store.listClients()).map(clientConfigOf) });
    try {
      await work(vault);
    } finally {
      await vault.close();
    }
  }

  /** Seeds `grantId` and kills its refresh token, so its next refresh ends in reauthRequired. */
  async function deadGrant(file: string, grantId: string): Promise<void> {
    const seeded = await world.seedGrant(file, grantId, service);
    world.emulator.expireRefreshToken(seeded.emulatorGrantId);
  }

  beforeAll(async () => {
    world = await startCliWorld({ accessTokenLifetimeSec: LIFETIME_SEC });
    service = world.service();
    dir = world.dir();
    db = join(dir, 'tokenvault.db');
    await world.addClient(db, service);
    await world.seedGrant(db, 'alice', service);
    await world.seedGrant(db, 'bob', service, { scope: ['r_profile'] });
    await deadGrant(db, 'dave');
    await withVault(db, async (vault) => {
      await vault.beginAuthorization({ grantId: 'carol', client: 'mixi', scope: ['r_profile'] });
      await expect(vault.refresh('dave', { force: true })).rejects.toBeInstanceOf(ReauthRequiredError);
    });
  });
  afterAll(() => world.close());

  it('status: a table of state, scope, expiry and last error; filters; JSON; never a secret', async () => {
    const [table, json, filtered, named, unknown] = await Promise.all([
      runCli(['status'], { cwd: dir }),
      runCli(['status', '--json'], { cwd: dir }),
      runCli(['status', '--state', 'reauthRequired,awaitingCode'], { cwd: dir }),
      runCli(['status', 'bob', 'alice', '--json'], { cwd: dir }),
      runCli(['status', 'alice', 'nobody'], { cwd: dir }),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^GRANT\s+CLIENT\s+STATE\s+SCOPE\s+EXPIRES\s+LAST ERROR$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 3))).toEqual([
      ['alice', 'mixi', 'authorized'],
      ['bob', 'mixi', 'authorized'],
      ['carol', 'mixi', 'awaitingCode'],
      ['dave', 'mixi', 'reauthRequired (refresh_token_rejected)'],
    ]);
    expect(lines[1]).toMatch(/r_profile r_voice w_voice\s+in \d+ s\s+-$/);
    expect(lines[3]).toMatch(/consent due in \d+ (s|min)/);
    expect(lines[4]).toMatch(/invalid_grant: the provider answered 401/);
    expect(table.stderr).toBe('4 grants in ./tokenvault.db\n');

    const grants = JSON.parse(json.stdout) as { grantId: string; state: string; hasRefreshToken: boolean }[];
    expect(grants.map((g) => [g.grantId, g.state])).toEqual([
      ['alice', 'authorized'],
      ['bob', 'authorized'],
      ['carol', 'awaitingCode'],
      ['dave', 'reauthRequired'],
    ]);
    expect(grants[0]?.hasRefreshToken).toBe(true);
    expect(filtered.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['carol', 'dave']);
    expect((JSON.parse(named.stdout) as { grantId: string }[]).map((g) => g.grantId)).toEqual(['bob', 'alice']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: grant "nobody" does not exist\n');
    const everything = [table, json, filtered, named, unknown].map((r) => r.stdout + r.stderr).join('');
    expect(leakedSecrets(everything, world.secrets())).toEqual([]);
    expect(everything).not.toMatch(/stateHash|serverState|accessToken"/);
  });

  it('call: GET and POST through vault.fetch, the status on stderr and the JSON on stdout', async () => {
    const posted = await runCli(['call', '--grant', 'alice', 'POST', 'voice/statuses', '--data', 'status=hello from the CLI'], { cwd: dir });
    expect(posted.code, posted.stderr).toBe(0);
    expect(posted.stderr).toBe('HTTP 200 OK\n');
    const [me, timeline, missing] = await Promise.all([
      runCli(['call', '--grant', 'alice', 'GET', 'people/@me/@self'], { cwd: dir }),
      runCli(['call', '--grant', 'alice', 'GET', `${world.url}/2/voice/statuses/@me/user_timeline?count=5`], { cwd: dir }),
      runCli(['call', '--grant', 'alice', 'GET', 'people/@me/@nothing'], { cwd: dir }),
    ]);
    expect(me.code, me.stderr).toBe(0);
    expect(me.stderr).toBe('HTTP 200 OK\n');
    expect(JSON.parse(me.stdout)).toMatchObject({ entry: { id: expect.any(String), displayName: expect.any(String) } });
    expect(me.stdout).toContain('\n  "entry": {'); // pretty-printed
    expect(timeline.code, timeline.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(timeline.stdout))).toContain('hello from the CLI');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('HTTP 404 Not Found\n');
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: 'not_found' });
    expect(leakedSecrets([posted, me, timeline, missing].map((r) => r.stdout + r.stderr).join(''), world.secrets())).toEqual([]);
  });

  it('call: unknown grant, a grant needing re-authorization, a scope it lacks, a body on GET', async () => {
    const [unknown, dead, scope, dataOnGet] = await Promise.all([
      runCli(['call', '--grant', 'nobody', 'GET', 'people/@me/@self'], { cwd: dir }),
      runCli(['call', '--grant', 'dave', 'GET', 'people/@me/@self'], { cwd: dir }),
      runCli(['call', '--grant', 'bob', 'GET', 'voice/statuses/@me/user_timeline'], { cwd: dir }),
      runCli(['call', '--grant', 'alice', 'GET', 'people/@me/@self', '--data', 'x=1'], { cwd: dir }),
    ]);
    expect([unknown.code, unknown.stderr]).toEqual([1, 'error: grant "nobody" does not exist\n']);
    expect([dead.code, dead.stderr]).toEqual([1, 'error: grant "dave" must be authorized again (refresh_token_rejected); run "tokenvault authorize --grant dave"\n']);
    expect(scope.code).toBe(1);
    expect(scope.stderr).toBe('error: grant "bob" lacks the scope this call needs (r_voice); authorize again with a wider --scope\n');
    expect([dataOnGet.code, dataOnGet.stderr]).toEqual([2, 'error: --data cannot be sent with GET\n']);
  });

  it('call and sweep with the emulator down: one line, exit 1', async () => {
    const downDir = world.dir();
    const downDb = join(downDir, 'tokenvault.db');
    await world.addClient(downDb, service, { endpointsBase: `http://127.0.0.1:${await freePort()}` });
    await world.seedGrant(downDb, 'alice', service);
    // Already expired: a refresh that cannot reach the provider then has no old token to fall back on.
    await world.seedGrant(downDb, 'bob', service, { expiresInMs: -1_000 });
    const [call, sweep] = await Promise.all([
      runCli(['call', '--grant', 'alice', 'GET', 'people/@me/@self', '--timeout', '20s'], { cwd: downDir }),
      runCli(['sweep', '--within', '30s'], { cwd: downDir }),
    ]);
    expect(call.code).toBe(1);
    expect(call.stderr).toMatch(/^error: the provider could not be reached: GET http:\/\/127\.0\.0\.1:\d+\/2\/people\/@me\/@self failed: network error \(ECONNREFUSED\)\n$/);
    expect(sweep.code).toBe(1);
    expect(sweep.stdout).toMatch(/^swept 1 grant due within 30 s: 0 refreshed, 0 already fresh, 0 need a new authorization, 0 skipped \(client rejected\), 1 failed/);
  });

  it('sweep: refreshes each due grant once, counts the dead ones, and leaves fresh ones alone', async () => {
    const sweepDir = world.dir();
    const sweepDb = join(sweepDir, 'tokenvault.db');
    await world.addClient(sweepDb, service);
    const seeded = [await world.seedGrant(sweepDb, 'g1', service), await world.seedGrant(sweepDb, 'g2', service), await world.seedGrant(sweepDb, 'g3', service)];
    await deadGrant(sweepDb, 'g4');
    const first = await runCli(['sweep', '--within', '2m', '--concurrency', '16', '--json'], { cwd: sweepDir });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ withinMs: 120_000, concurrency: 16, seen: 4, refreshed: 3, reauthRequired: 1, failed: 0, clientRejected: 0 });
    expect(seeded.map((s) => world.emulator.counters.refreshesOf(s.emulatorGrantId))).toEqual([1, 1, 1]);
    expect(first.stderr).toBe(''); // no bar on a pipe, and --json prints no progress line

    const second = await runCli(['sweep', '--within', '30s'], { cwd: sweepDir });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^swept 0 grants due within 30 s: 0 refreshed, 0 already fresh, 0 need a new authorization, 0 skipped \(client rejected\), 0 failed \(\d+\.\d s\)\n$/);
    expect(second.stderr).toBe('sweeping grants due within 30 s (concurrency 8)…\n');
    expect(seeded.map((s) => world.emulator.counters.refreshesOf(s.emulatorGrantId))).toEqual([1, 1, 1]);
  });

  it('sweep --progress draws the cli-progress bar even on a pipe', async () => {
    const barDir = world.dir();
    const barDb = join(barDir, 'tokenvault.db');
    await world.addClient(barDb, service);
    await world.seedGrant(barDb, 'p1', service);
    await world.seedGrant(barDb, 'p2', service);
    const result = await runCli(['sweep', '--progress'], { cwd: barDir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/sweep \[-{30}\] 0\/2 grants \| 0 refreshed \| 0 reauth \| 0 failed/);
    expect(result.stderr).toMatch(/sweep \[={30}\] 2\/2 grants \| 2 refreshed \| 0 reauth \| 0 failed/);
    expect(result.stdout).toMatch(/^swept 2 grants due within 2 min: 2 refreshed/);
  });
});
