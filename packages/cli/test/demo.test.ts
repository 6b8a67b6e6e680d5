import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Secret } from '@tokenvault/core';
import { sqliteStore } from '@tokenvault/kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-process';
import { type CliWorld, leakedSecrets, startCliWorld } from './helpers/cli-world';

describe('tokenvault demo', () => {
  let world: CliWorld | undefined;
  afterAll(() => world?.close());

  it('runs the whole lifecycle offline, prints transitions and a passing summary, and never a secret', async () => {
    world = await startCliWorld(); // only for its temp directories
    const dir = world.dir();
    const started = performance.now();
    const result = await runCli(['demo'], { cwd: dir });
    const elapsed = performance.now() - started;
    // A measured figure for the record, not an assertion: the target is under 15 s.
    console.log(`tokenvault demo subprocess: ${(elapsed / 1000).toFixed(1)} s wall, start-up included`);

    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/grants kept in: SQLite file \.\/\.tokenvault\/demo\.db \(recreated on every run\)/);
    expect(out).toMatch(/encryption: {5}tokens and secrets encrypted \(AES-256-GCM\) under a key generated for this run, saved in \.\/\.tokenvault\/demo\.keys \(mode 600\)/);
    expect(out).toMatch(/POST \/dashboard\/api\/services → svc-1, unconfirmed \(「※未確認」\): credentials withheld/);
    expect(out).toMatch(/outbox: mail to demo@tokenvault\.example/);
    expect(out).toMatch(/followed the link → confirmed/);
    // Transitions, live, in order.
    const transitions = out.split('\n').filter((l) => / → /.test(l) && /t\+\d\d:\d\d/.test(l)).map((l) => l.trim().split(/\s+/).slice(1).join(' '));
    expect(transitions).toEqual([
      'alice (new) → awaitingCode grant.create',
      'alice awaitingCode → authorized authorization.complete',
      'bob (new) → awaitingCode grant.create',
      'bob awaitingCode → authorized authorization.complete',
      'alice authorized → refreshing refresh.start',
      'alice refreshing → authorized refresh.succeed',
      'bob authorized → refreshing refresh.start',
      'bob refreshing → authorized refresh.clientReject',
      'bob authorized → refreshing refresh.start',
      'bob refreshing → authorized refresh.succeed',
      'alice authorized → refreshing refresh.start',
      'alice refreshing → reauthRequired refresh.reject',
    ]);
    expect(out).toMatch(/40 × GET people\/@me\/@self → 40 × 200; refreshes of alice's grant at the emulator: 1\n/);
    expect(out).toMatch(/event clientRejected: client "mixi"/);
    expect(out).toMatch(/bob: GET people\/@me\/@self → ClientRejectedError \(client_rejected\)/);
    expect(out).toMatch(/event reauthRequired: alice \(refresh_token_rejected\)/);
    expect(out).toMatch(/\n {4}alice {2}mixi {4}reauthRequired \(refresh_token_rejected\)/);
    expect(out).toMatch(/\n {4}bob {4}mixi {4}authorized .*in 15 min/);
    expect(out).not.toMatch(/FAILED/);
    expect(out.match(/ ok\n/g)).toHaveLength(9);
    expect(out).toMatch(/finished in \d+\.\d s \(meanwhile the mixi clock moved 32 min\); every check passed\n$/);

    const db = join(dir, '.tokenvault', 'demo.db');
    expect(statSync(db).mode & 0o777).toBe(0o600);
    const keysFile = join(dir, '.tokenvault', 'demo.keys');
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
    // The key is in its file, not in the output.
    const key = readFileSync(keysFile, 'utf8').trim();
    expect(key).toMatch(/^demo:[A-Za-z0-9_-]{43}$/);
    expect(out + result.stderr).not.toContain(key.slice(5));
    // The database is encrypted: the demo's own "look again" command reads it with the key file.
    expect(out).toMatch(/tokenvault status --db \.\/\.tokenvault\/demo\.db --keys-file \.\/\.tokenvault\/demo\.keys/);
    const again = await runCli(['status', '--db', './.tokenvault/demo.db', '--keys-file', './.tokenvault/demo.keys'], { cwd: dir, env: { TOKENVAULT_KEYS: '' } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/bob +mixi +authorized/);
    // Whatever secrets the demo left in its vault never reached its output.
    const store = sqliteStore({ filename: db, encryption: { keys: key } });
    try {
      const secrets: (Secret | null)[] = (await store.listClients()).map((c) => c.clientSecret);
      for (const id of ['alice', 'bob']) {
        const record = await store.get(id);
        secrets.push(record?.accessToken ?? null, record?.refreshToken ?? null);
      }
      const values = secrets.filter((s): s is Secret => s !== null).map((s) => s.reveal());
      expect(values.length).toBeGreaterThanOrEqual(3); // the client secret and bob's tokens (alice's went with reauthRequired)
      expect(leakedSecrets(out + result.stderr, values)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
