import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptedKeyId, formatEncryptionKey, generateEncryptionKey, silentLogger } from '@tokenvault/core';
import { sqliteStore } from '@tokenvault/kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-process';
import { type CliWorld, leakedSecrets, type Service, startCliWorld } from './helpers/cli-world';
import { TEST_KEYS } from './helpers/test-keys';

/** Key id of every secret in a SQLite vault file, read raw (no decoding). */
async function keyIds(db: string): Promise<string[]> {
  const store = sqliteStore({ filename: db, encryption: 'none', logger: silentLogger });
  try {
    await store.ready();
    const handle = store.sqliteDatabase!;
    const rows = [
      ...(handle.prepare('select access_token, refresh_token from tokenvault_grants').all() as Record<string, unknown>[]),
      ...(handle.prepare('select client_secret from tokenvault_clients').all() as Record<string, unknown>[]),
    ];
    return [...new Set(rows.flatMap((r) => Object.values(r)).filter((v) => v !== null).map((v) => encryptedKeyId(v) ?? 'plain'))].sort();
  } finally {
    await store.close();
  }
}

describe('tokenvault and encryption keys', () => {
  let world: CliWorld;
  let service: Service;
  beforeAll(async () => {
    world = await startCliWorld();
    service = world.service();
  });
  afterAll(() => world.close());

  async function vaultDir(): Promise<{ dir: string; db: string; grant: Awaited<ReturnType<CliWorld['seedGrant']>> }> {
    const dir = world.dir();
    const db = join(dir, 'tokenvault.db');
    await world.addClient(db, service);
    return { dir, db, grant: await world.seedGrant(db, 'alice', service) };
  }

  it('refuses to open a store without keys, names the fix; --insecure-no-encryption works, warns, and is refused beside keys', async () => {
    const { dir } = await vaultDir();
    const fresh = world.dir();
    const [noKeys, noKeysNew, insecure, both, wrongKeys] = await Promise.all([
      runCli(['status'], { cwd: dir, env: { TOKENVAULT_KEYS: '' } }),
      runCli(['clients', 'add', 'x', '--client-id', 'k', '--redirect-uri', 'http://127.0.0.1:1/cb', '--secret-stdin'], { cwd: fresh, env: { TOKENVAULT_KEYS: '' }, input: 's' }),
      runCli(['clients', 'add', 'x', '--client-id', 'k', '--redirect-uri', 'http://127.0.0.1:1/cb', '--secret-stdin', '--insecure-no-encryption'], { cwd: fresh, env: { TOKENVAULT_KEYS: '' }, input: 'plain-secret-in-file' }),
      runCli(['status', '--insecure-no-encryption'], { cwd: dir }),
      runCli(['status'], { cwd: dir, env: { TOKENVAULT_KEYS: formatEncryptionKey(generateEncryptionKey({ id: 'other' })) } }),
    ]);
    expect(noKeys.code).toBe(1);
    expect(noKeys.stderr).toMatch(/^error: no encryption keys: set TOKENVAULT_KEYS \(make one with "tokenvault keys generate"\)/);
    expect(noKeysNew.code).toBe(1);
    expect(insecure.code, insecure.stderr).toBe(0);
    expect(insecure.stderr).toMatch(/^warning: secrets are stored UNENCRYPTED \(--insecure-no-encryption\)/);
    expect(readFileSync(join(fresh, 'tokenvault.db')).toString('latin1')).toContain('plain-secret-in-file');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--insecure-no-encryption cannot be used with keys/);
    expect(wrongKeys.code).toBe(1);
    expect(wrongKeys.stderr).toMatch(/could not be decoded \(UnknownKeyError\); are these the keys .* this database was written with\?/);
    // A store written with keys is never read as if unencrypted: the ciphertext is not a token.
    const [plainRead] = await Promise.all([runCli(['call', '--grant', 'alice', 'GET', 'people/@me/@self', '--insecure-no-encryption'], { cwd: dir, env: { TOKENVAULT_KEYS: '' } })]);
    expect(plainRead.code).toBe(1);
    expect(plainRead.stderr).toMatch(/DecryptionFailedError/);
  });

  it('keys generate prints one key in the TOKENVAULT_KEYS format, a different one each time', async () => {
    const [a, b, bad] = await Promise.all([
      runCli(['keys', 'generate', '--id', 'k2'], { cwd: world.dir() }),
      runCli(['keys', 'generate'], { cwd: world.dir() }),
      runCli(['keys', 'generate', '--id', 'bad.id'], { cwd: world.dir() }),
    ]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^k2:[A-Za-z0-9_-]{43}\n$/);
    expect(a.stderr).toMatch(/put it first in TOKENVAULT_KEYS/);
    expect(b.stdout).toMatch(/^k[0-9a-f]{8}:[A-Za-z0-9_-]{43}\n$/);
    expect(a.stdout.slice(3)).not.toBe(b.stdout.slice(10));
    expect(bad.code).toBe(2);
  });

  it('token prints the access token only with --show-secret', async () => {
    const { dir, grant } = await vaultDir();
    const [hidden, shown] = await Promise.all([
      runCli(['token', '--grant', 'alice'], { cwd: dir }),
      runCli(['token', '--grant', 'alice', '--show-secret'], { cwd: dir }),
    ]);
    expect(hidden.code, hidden.stderr).toBe(0);
    expect(hidden.stdout).toMatch(/^grant "alice": access token \[redacted\] \(sha256:[0-9a-f]{8}, valid until in 1[45] min\); pass --show-secret to print it\n$/);
    expect(leakedSecrets(hidden.stdout + hidden.stderr, [grant.accessToken, grant.refreshToken, service.clientSecret])).toEqual([]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toBe(`${grant.accessToken}\n`);
    expect(leakedSecrets(shown.stderr, [grant.accessToken, grant.refreshToken])).toEqual([]);
  });

  it('rekey moves every row to the first key of the ring; afterwards the old key is not needed', async () => {
    const { dir, db, grant } = await vaultDir();
    await world.seedGrant(db, 'bob', service);
    expect(await keyIds(db)).toEqual(['test1']);
    const k2 = formatEncryptionKey(generateEncryptionKey({ id: 'k2' }));
    const rekey = await runCli(['rekey', '--json', '--page-size', '1'], { cwd: dir, env: { TOKENVAULT_KEYS: `${k2},${TEST_KEYS}` } });
    expect(rekey.code, rekey.stderr).toBe(0);
    const summary = JSON.parse(rekey.stdout) as { activeKeyId: string; grants: { seen: number; rekeyed: number }; clients: { rekeyed: number } };
    expect(summary).toMatchObject({ activeKeyId: 'k2', grants: { seen: 2, rekeyed: 2 }, clients: { rekeyed: 1 } });
    expect(await keyIds(db)).toEqual(['k2']);
    const onlyNew = await runCli(['token', '--grant', 'alice', '--show-secret'], { cwd: dir, env: { TOKENVAULT_KEYS: k2 } });
    expect(onlyNew.stdout).toBe(`${grant.accessToken}\n`);
    // A thread count the CLI refuses, before anything is opened.
    const tooMany = await runCli(['rekey', '--workers', '65'], { cwd: dir, env: { TOKENVAULT_KEYS: k2 } });
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(/--workers/);
    // The progress bar on a pipe, and a second run with nothing to do (on this thread only).
    const again = await runCli(['rekey', '--progress', '--workers', '0'], { cwd: dir, env: { TOKENVAULT_KEYS: k2 } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/rekey grants +\[/);
    expect(again.stdout).toMatch(/^rekeyed to key "k2" in [\d.]+ s: grants 2 seen, 0 moved, 2 already current, 0 unreadable; clients 1 seen, 0 moved, 1 already current, 0 unreadable\n$/);
    expect(leakedSecrets(rekey.stdout + rekey.stderr + again.stdout + again.stderr, [k2.slice(3), grant.accessToken, grant.refreshToken])).toEqual([]);
  });

  it('rekey --from-plaintext moves a store off --insecure-no-encryption', async () => {
    const dir = world.dir();
    const add = await runCli(
      ['clients', 'add', 'mixi', '--client-id', service.clientId, '--redirect-uri', 'https://mixi.jp/connect_authorize_success.html', '--endpoints-from', world.url, '--secret-stdin', '--insecure-no-encryption'],
      { cwd: dir, env: { TOKENVAULT_KEYS: '' }, input: service.clientSecret },
    );
    expect(add.code, add.stderr).toBe(0);
    const db = join(dir, 'tokenvault.db');
    expect(await keyIds(db)).toEqual(['plain']);
    const [refused, moved] = [await runCli(['rekey'], { cwd: dir }), await runCli(['rekey', '--from-plaintext'], { cwd: dir })];
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/DecryptionFailedError/);
    expect(moved.code, moved.stderr).toBe(0);
    expect(await keyIds(db)).toEqual(['test1']);
    expect((await runCli(['clients', 'list'], { cwd: dir })).code).toBe(0);
  });

  it('reads keys from --keys-file, TOKENVAULT_KEYS_FILE or the config file, and warns when the file is readable by others', async () => {
    const { dir } = await vaultDir();
    const keyFile = join(dir, 'vault.keys');
    writeFileSync(keyFile, `${TEST_KEYS}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'tokenvault.config.json'), JSON.stringify({ keysFile: 'vault.keys' }));
    const noEnv = { TOKENVAULT_KEYS: '' };
    const [flag, envFile, config] = await Promise.all([
      runCli(['status', '--keys-file', 'vault.keys'], { cwd: dir, env: noEnv }),
      runCli(['status'], { cwd: dir, env: { ...noEnv, TOKENVAULT_KEYS_FILE: keyFile } }),
      runCli(['status'], { cwd: dir, env: noEnv }),
    ]);
    for (const r of [flag, envFile, config]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/warning/);
      expect(r.stdout).toMatch(/alice +mixi +authorized/);
    }
    chmodSync(keyFile, 0o644);
    const loose = await runCli(['status'], { cwd: dir, env: noEnv });
    expect(loose.code).toBe(0);
    expect(loose.stderr).toMatch(/^warning: the key file \.\/vault\.keys is readable by other users \(mode 644\); chmod 600 it\n/);
    const missing = await runCli(['status', '--keys-file', 'nope.keys'], { cwd: dir, env: noEnv });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: cannot read the key file \.\/nope\.keys \(ENOENT\), named by --keys-file\n$/);
  });
});
