import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sqliteStore } from '@tokenvault/kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENCRYPTION } from './helpers/test-keys';
import { runCli } from './helpers/cli-process';
import { type CliWorld, leakedSecrets, startCliWorld } from './helpers/cli-world';

/** The client ids in a directory's vault, read in this process. */
async function storedClients(dir: string): Promise<string[]> {
  const store = sqliteStore({ filename: join(dir, 'tokenvault.db'), encryption: TEST_ENCRYPTION });
  try {
    return (await store.listClients()).map((c) => c.id);
  } finally {
    await store.close();
  }
}

describe('tokenvault clients: add, list, rotate-secret, remove', () => {
  let world: CliWorld;
  beforeAll(async () => {
    world = await startCliWorld();
  });
  afterAll(() => world.close());

  it('adds a client with the secret on stdin, lists it without the secret, rotates and removes it', async () => {
    const dir = world.dir();
    const service = world.service();
    const add = await runCli(
      ['clients', 'add', 'mixi', '--client-id', service.clientId, '--redirect-uri', 'http://127.0.0.1:8765/callback', '--endpoints-from', world.url, '--secret-stdin'],
      { cwd: dir, input: `${service.clientSecret}\n` },
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toBe(`registered client "mixi" (mixi at ${world.url}, redirect URL http://127.0.0.1:8765/callback) in ./tokenvault.db\n`);

    const [table, json] = await Promise.all([runCli(['clients', 'list'], { cwd: dir }), runCli(['clients', 'list', '--json'], { cwd: dir })]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+PROVIDER\s+CONSUMER KEY\s+REDIRECT URL\s+PROVIDER AT\s+SECRET\s+GRANTS\n/);
    expect(table.stdout).toContain(service.clientId);
    expect(table.stdout).toMatch(/sha256:[0-9a-f]{8}\s+0\n$/);
    const [listed] = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(listed).toMatchObject({ id: 'mixi', provider: 'mixi', clientId: service.clientId, grants: 0 });
    expect(listed?.providerOptions).toMatchObject({ tokenEndpoint: `${world.url}/2/token`, apiBaseUrl: `${world.url}/2/` });
    expect(leakedSecrets(add.stdout + add.stderr + table.stdout + json.stdout, [service.clientSecret])).toEqual([]);

    const rotated = await runCli(['clients', 'rotate-secret', 'mixi', '--secret-stdin'], { cwd: dir, input: 'a-brand-new-secret\n' });
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/^replaced the secret of client "mixi" \(sha256:[0-9a-f]{8} → sha256:[0-9a-f]{8}\)/);
    expect(leakedSecrets(rotated.stdout, [service.clientSecret, 'a-brand-new-secret'])).toEqual([]);

    const removed = await runCli(['clients', 'remove', 'mixi'], { cwd: dir });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe('removed client "mixi"\n');
    expect(await storedClients(dir)).toEqual([]);
  });

  it('takes the secret from TOKENVAULT_CLIENT_SECRET; refuses to run without one, a duplicate, or an unknown client', async () => {
    const dir = world.dir();
    const service = world.service();
    const base = ['clients', 'add', 'mixi', '--client-id', service.clientId, '--redirect-uri', 'https://mixi.jp/connect_authorize_success.html'];
    const elsewhere = world.dir();
    const [noSecret, fromEnv] = await Promise.all([
      runCli(base, { cwd: elsewhere }),
      runCli(base, { cwd: dir, env: { TOKENVAULT_CLIENT_SECRET: service.clientSecret } }),
    ]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toBe('error: no consumer secret: pipe it in with --secret-stdin, set TOKENVAULT_CLIENT_SECRET, or run in a terminal to be prompted\n');
    expect(existsSync(join(elsewhere, 'tokenvault.db'))).toBe(false);
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stdout).toContain('mixi at mixi (live)');
    const [duplicate, unknownRotate, unknownRemove] = await Promise.all([
      runCli(base, { cwd: dir, env: { TOKENVAULT_CLIENT_SECRET: 'x' } }),
      runCli(['clients', 'rotate-secret', 'nope', '--secret-stdin'], { cwd: dir, input: 'x' }),
      runCli(['clients', 'remove', 'nope'], { cwd: dir }),
    ]);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toBe('error: client "mixi" is already registered; use "tokenvault clients rotate-secret mixi" to change its secret\n');
    for (const result of [unknownRotate, unknownRemove]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('error: client "nope" is not registered (see "tokenvault clients list")\n');
    }
  });

  it('checks provider flags: oauth2 needs its endpoints, mixi takes no --client-auth', async () => {
    const dir = world.dir();
    const [oauth2, mixi, goodOauth2] = await Promise.all([
      runCli(['clients', 'add', 'acme', '--provider', 'oauth2', '--client-id', 'app', '--redirect-uri', 'http://127.0.0.1:1/cb', '--secret-stdin'], { cwd: dir, input: 's' }),
      runCli(['clients', 'add', 'm', '--client-id', 'k', '--redirect-uri', 'http://127.0.0.1:1/cb', '--client-auth', 'client_secret_basic', '--secret-stdin'], { cwd: dir, input: 's' }),
      runCli(
        ['clients', 'add', 'acme', '--provider', 'oauth2', '--client-id', 'app', '--redirect-uri', 'http://127.0.0.1:1/cb', '--authorization-endpoint', 'https://auth.acme.test/authorize', '--token-endpoint', 'https://auth.acme.test/token', '--no-pkce', '--secret-stdin', '--db', join(dir, 'acme.db')],
        { cwd: dir, input: 's' },
      ),
    ]);
    expect(oauth2.code).toBe(2);
    expect(oauth2.stderr).toBe('error: --provider oauth2 needs --authorization-endpoint and --token-endpoint\n');
    expect(mixi.code).toBe(2);
    expect(mixi.stderr).toMatch(/^error: --client-auth and --no-pkce apply to --provider oauth2 only/);
    expect(goodOauth2.code, goodOauth2.stderr).toBe(0);
    expect(goodOauth2.stdout).toContain('registered client "acme" (oauth2 at https://auth.acme.test');
  });

  it('refuses to remove a client that has grants unless told to forget them', async () => {
    const dir = world.dir();
    const db = join(dir, 'tokenvault.db');
    const service = world.service();
    await world.addClient(db, service);
    await world.seedGrant(db, 'alice', service);
    await world.seedGrant(db, 'bob', service);
    const refused = await runCli(['clients', 'remove', 'mixi'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('error: client "mixi" has 2 grants; pass --forget-grants to delete them with the client\n');
    const removed = await runCli(['clients', 'remove', 'mixi', '--forget-grants'], { cwd: dir });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe('removed client "mixi" and 2 grants\n');
    expect(await storedClients(dir)).toEqual([]);
    const store = sqliteStore({ filename: db, encryption: TEST_ENCRYPTION });
    try {
      expect(await store.count({})).toBe(0);
    } finally {
      await store.close();
    }
  });
});
