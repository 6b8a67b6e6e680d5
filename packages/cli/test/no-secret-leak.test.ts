/**
 * Canary secrets through every path, then a search for them everywhere they must not be.
 *
 * The emulator mints every token, code, server_state and client secret from a recording random source,
 * and the vaults draw states and PKCE verifiers from one, so each secret is known as it is made. Then:
 * every CLI command is run (successes, failures, --debug, --json), every vault path in-process with a
 * logger at debug level and a listener on every event, every thrown error is rendered every way
 * (message, JSON, inspect, stack, causes). All of that, the SQLite file's bytes (with its WAL) and the
 * PostgreSQL rows are searched for every canary: zero hits, with encryption on. The controls show the
 * search works: the one command asked to print a token does contain it, and a store run with
 * encryption "none" has the canaries in its bytes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  type Clock,
  createVault,
  formatEncryptionKey,
  generateEncryptionKey,
  type Logger,
  providers,
  Secret,
  systemClock,
  type Vault,
  type VaultEventName,
} from '@tokenvault/core';
import { postgresStore, type RekeyableKyselyStore, sqliteStore } from '@tokenvault/kysely';
import { consentAs, mixiEndpoints } from '@tokenvault/mixi-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Canaries, safeJson, thrownText } from './helpers/canaries';
import { type CliResult, runCli, startCli } from './helpers/cli-process';
import { type CliWorld, startCliWorld } from './helpers/cli-world';
import { TEST_KEYS } from './helpers/test-keys';

const POSTGRES_URL = process.env.TOKENVAULT_TEST_POSTGRES_URL;
const EVENTS: readonly VaultEventName[] = ['transition', 'refreshed', 'reauthRequired', 'clientRejected', 'authorized', 'request', 'retry', 'response'];
const LATER_MS = 16 * 60_000;

interface Captured {
  readonly where: string;
  readonly text: string;
}

/** The database's bytes as an attacker with the disk reads them: the file, its WAL and shared memory. */
function sqliteBytes(filename: string): Captured[] {
  return ['', '-wal', '-shm']
    .filter((suffix) => existsSync(filename + suffix))
    .map((suffix) => ({ where: `bytes of ${filename}${suffix}`, text: readFileSync(filename + suffix).toString('latin1') }));
}

const canaries = new Canaries();
let world: CliWorld;
beforeAll(async () => {
  world = await startCliWorld({ randomBytes: canaries.emulatorRandom });
});
afterAll(() => world.close());

describe('no secret leaks: every CLI command', () => {
  it('prints no token, code, state or secret on stdout or stderr, in successes, failures, --json and --debug; the file holds none', async () => {
    const dir = world.dir();
    const db = join(dir, 'tokenvault.db');
    const captured: Captured[] = [];
    const runs: { args: readonly string[]; result: CliResult }[] = [];
    const cli = async (args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> => {
      const result = await runCli(args, { cwd: dir, ...options });
      runs.push({ args, result });
      captured.push({ where: `tokenvault ${args.join(' ')}`, text: `${result.stdout}\n${result.stderr}` });
      return result;
    };
    const service = world.service();

    // clients
    const add = await cli(['clients', 'add', 'mixi', '--client-id', service.clientId, '--redirect-uri', 'https://mixi.jp/connect_authorize_success.html', '--endpoints-from', world.url, '--secret-stdin', '--debug'], { input: `${service.clientSecret}\n` });
    expect(add.code, add.stderr).toBe(0);
    expect((await cli(['clients', 'add', 'mixi', '--client-id', service.clientId, '--redirect-uri', 'https://mixi.jp/connect_authorize_success.html', '--secret-stdin', '--debug'], { input: service.clientSecret })).code).toBe(1);
    await cli(['clients', 'list']);
    await cli(['clients', 'list', '--json', '--debug']);

    // authorize: allowed, denied, a forged paste (the printed URL is the documented exception: it
    // carries the state and server_state the browser must take to mixi; it is left out of the search)
    const authorize = async (grant: string, decide: (url: string) => Promise<string>) => {
      const running = startCli(['authorize', '--grant', grant, '--scope', 'r_profile r_voice', '--paste', '--debug'], { cwd: dir });
      const url = await running.stdoutLine(/^http/);
      running.child.stdin.end(`${await decide(url)}\n`);
      const result = await running.done;
      runs.push({ args: ['authorize', grant], result });
      expect(result.stderr).not.toContain(url);
      captured.push({ where: `tokenvault authorize --grant ${grant}`, text: `${result.stdout.replace(url, '<authorization URL>')}\n${result.stderr}` });
      return result;
    };
    expect((await authorize('alice', (url) => consentAs(url, { username: 'alice', decision: 'allow' }))).code).toBe(0);
    expect((await authorize('bob', (url) => consentAs(url, { username: 'bob', decision: 'deny' }))).code).toBe(1);
    expect((await authorize('carol', async (url) => `https://mixi.jp/connect_authorize_success.html?code=${canaries.word('code')}&state=${new URL(url).searchParams.get('state')}x`)).code).toBe(1);

    // status, call, token
    await cli(['status']);
    await cli(['status', '--json', '--debug']);
    expect((await cli(['status', 'nobody', '--debug'])).code).toBe(1);
    expect((await cli(['call', '--grant', 'alice', 'GET', 'people/@me/@self', '--debug'])).code).toBe(0);
    expect((await cli(['call', '--grant', 'alice', 'POST', 'voice/statuses', '--data', 'status=hello', '--debug'])).code).toBe(1); // no w_voice
    await cli(['token', '--grant', 'alice', '--debug']);
    const shown = await runCli(['token', '--grant', 'alice', '--show-secret'], { cwd: dir });
    const aliceToken = shown.stdout.trim();
    // The positive control for the output search: the one output that is asked to hold a token does.
    expect(canaries.scan([{ where: 'token --show-secret', text: shown.stdout }]).map((h) => h.canary)).toEqual([aliceToken]);
    captured.push({ where: 'tokenvault token --show-secret (stderr)', text: shown.stderr });
    const emulatorGrant = world.emulator.findGrant({ accessToken: aliceToken });
    expect(emulatorGrant).toBeDefined();

    // expiry: the API refuses the token, the executor refreshes; a sweep refreshes what is due
    world.emulator.clock.advance(LATER_MS);
    expect((await cli(['call', '--grant', 'alice', 'GET', 'people/@me/@self', '--debug'])).code).toBe(0);
    await cli(['sweep', '--within', '20m', '--json', '--debug']);
    // transient failures, and a provider that quotes secrets back in its error
    world.emulator.faults.add({ endpoint: 'token', grantType: 'refresh_token', respond: { status: 503 }, times: 20 });
    expect((await cli(['sweep', '--within', '20m', '--debug'])).code).toBe(1);
    world.emulator.faults.clear();
    world.emulator.faults.add({
      endpoint: 'token',
      grantType: 'refresh_token',
      respond: { status: 400, body: { error: 'invalid_request', error_description: `refresh_token=${aliceToken} client_secret=${service.clientSecret} refused`, refresh_token: aliceToken } },
      times: 20,
    });
    expect((await cli(['sweep', '--within', '20m', '--progress', '--debug'])).code).toBe(1);
    world.emulator.faults.clear();

    // the client's secret re-issued, then rotated in
    const reissued = world.emulator.reissueSecret(service.serviceId);
    expect((await cli(['sweep', '--within', '20m', '--debug'])).code).toBe(1); // invalid_client
    expect((await cli(['clients', 'rotate-secret', 'mixi', '--secret-stdin', '--debug'], { input: `${reissued.clientSecret}\n` })).code).toBe(0);
    expect((await cli(['clients', 'remove', 'mixi', '--debug'])).code).toBe(1); // has grants

    // a revoked grant, a dead refresh token
    world.emulator.revokeGrant(emulatorGrant!.grantId);
    expect((await cli(['call', '--grant', 'alice', 'GET', 'people/@me/@self', '--debug'])).code).toBe(1);
    expect((await cli(['token', '--grant', 'alice', '--show-secret', '--debug'])).code).toBe(1);

    // keys: rotation, wrong keys, none
    await cli(['keys', 'generate']);
    const k2 = formatEncryptionKey(generateEncryptionKey({ id: 'k2' }));
    expect((await cli(['rekey', '--debug', '--progress'], { env: { TOKENVAULT_KEYS: `${k2},${TEST_KEYS}` } })).code).toBe(0);
    expect((await cli(['rekey', '--json'], { env: { TOKENVAULT_KEYS: k2 } })).code).toBe(0);
    expect((await cli(['status', '--debug'])).code).toBe(1); // the old key alone no longer reads the rows
    expect((await cli(['call', '--grant', 'alice', 'GET', 'people/@me/@self', '--debug'], { env: { TOKENVAULT_KEYS: '' } })).code).toBe(1);

    // the emulator command (its own, separate mixi)
    const emulator = startCli(['emulator', '--port', '0', '--json'], { cwd: dir });
    await emulator.stdoutLine(/^\{/);
    emulator.child.kill('SIGTERM');
    const emulatorRun = await emulator.done;
    captured.push({ where: 'tokenvault emulator --json', text: emulatorRun.stdout + emulatorRun.stderr });

    expect(runs.length).toBeGreaterThanOrEqual(25);
    console.info(`leak search: ${runs.length} CLI runs, ${canaries.values.length} canaries, ${captured.length} outputs`);
    expect(canaries.values.length).toBeGreaterThan(10);
    const hits = canaries.scan([...captured, ...sqliteBytes(db)]);
    expect(hits).toEqual([]);
  });
});

describe('no secret leaks: the demo', () => {
  it('prints no token or secret, and its database holds none', async () => {
    const dir = world.dir();
    const result = await runCli(['demo', '--debug'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    // The demo mints its own tokens in its own process: search for their shape instead. mixi tokens
    // are 30 hex digits, codes and server_state 32, consumer secrets 40; nothing else the demo prints
    // or stores is a run of 30 hex digits (ciphertext is base64url, hashes too).
    const hexRun = /[0-9a-f]{30,}/;
    expect(hexRun.test('token 0123456789abcdef0123456789abcd'), 'the shape search itself').toBe(true);
    expect((result.stdout + result.stderr).match(hexRun)).toBeNull();
    for (const { where, text } of sqliteBytes(join(dir, '.tokenvault', 'demo.db'))) expect(text.match(hexRun), where).toBeNull();
    const key = readFileSync(join(dir, '.tokenvault', 'demo.keys'), 'utf8').trim().slice('demo:'.length);
    expect(result.stdout + result.stderr).not.toContain(key);
  });
});

/** Copies one grant's stored (encrypted) column into another grant's row, around the store. */
async function copyColumn(db: RekeyableKyselyStore['db'], column: string, from: string, to: string): Promise<void> {
  const row = (await db.selectFrom('tokenvault_grants').select(column).where('grant_id', '=', from).executeTakeFirstOrThrow()) as Record<string, unknown>;
  await db.updateTable('tokenvault_grants').set({ [column]: row[column] }).where('grant_id', '=', to).execute();
}

/** Drives the vault's paths against `store` and returns everything they showed. */
async function driveLibrary(store: RekeyableKyselyStore, raw: RekeyableKyselyStore['db']): Promise<Captured[]> {
  const captured: Captured[] = [];
  const show = (where: string, value: unknown) => captured.push({ where, text: `${safeJson(value)}\n${inspect(value, { depth: 10, showHidden: true })}` });
  const logs: string[] = [];
  const log = (level: string) => (obj: object, msg?: string) => void logs.push(`${level} ${msg ?? ''} ${safeJson(obj)} ${inspect(obj, { depth: 10, showHidden: true })}`);
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const events: string[] = [];
  const errors: string[] = [];
  const attempt = async <T>(run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (e) {
      errors.push(thrownText(e));
      return undefined;
    }
  };

  const emulator = world.emulator;
  const service = world.service('https://app.example/callback');
  const clock: Clock = { now: () => emulator.clock.now(), sleep: systemClock.sleep };
  const provider = providers.mixi(mixiEndpoints(world.url));
  const stateKey = new Secret(canaries.word('state-key'));
  const makeVault = (clientSecret: string): Vault => {
    const vault = createVault({
      store,
      clock,
      logger,
      random: canaries.vaultRandom,
      stateKey,
      clients: [{ id: 'mixi', provider, clientId: service.clientId, clientSecret, redirectUri: 'https://app.example/callback' }],
      retry: { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5, maxRetryTimeMs: 1_000, maxRetryAfterMs: 1_000 },
      requestTimeoutMs: 2_000,
      leaseMs: 5_000,
      pollIntervalMs: { min: 2, max: 10 },
    });
    for (const name of EVENTS) vault.on(name, (payload: unknown) => void events.push(`${name} ${safeJson(payload)} ${inspect(payload, { depth: 10, showHidden: true })}`));
    return vault;
  };
  const vault = makeVault(service.clientSecret);
  const sessionId = canaries.word('session');
  const consent = (url: string, decision: 'allow' | 'deny' = 'allow') => consentAs(url, { username: `u${Math.random().toString(36).slice(2, 8)}`, decision });

  // authorization: the right session, the wrong one, a replay, a denial, a late callback, another URL
  const begun = await vault.beginAuthorization({ grantId: 'alice', client: 'mixi', scope: ['r_profile', 'r_voice'], sessionId });
  const callback = await consent(begun.url);
  await attempt(() => vault.completeAuthorization(callback, { sessionId: canaries.word('other-session') }));
  await attempt(() => vault.completeAuthorization(callback));
  await attempt(() => vault.completeAuthorization(callback.replace('https://app.example/', 'https://evil.example/'), { sessionId }));
  show('completeAuthorization result', await vault.completeAuthorization(callback, { sessionId }));
  await attempt(() => vault.completeAuthorization(callback, { sessionId }));
  const denied = await vault.beginAuthorization({ grantId: 'bob', client: 'mixi', scope: ['r_profile'] });
  await attempt(async () => vault.completeAuthorization(await consent(denied.url, 'deny')));
  const late = await vault.beginAuthorization({ grantId: 'bob', client: 'mixi', scope: ['r_profile'] });
  const lateCallback = await consent(late.url);
  emulator.clock.advance(181_000);
  await attempt(() => vault.completeAuthorization(lateCallback));
  const wrong = makeVault(canaries.word('wrong-secret'));
  const rejected = await wrong.beginAuthorization({ grantId: 'carol', client: 'mixi', scope: ['r_profile'] });
  await attempt(async () => wrong.completeAuthorization(await consent(rejected.url)));

  // tokens and API calls: fresh, a scope the grant lacks, after expiry
  await vault.getAccessToken('alice');
  show('fetch answer', await (await vault.fetch('alice', 'people/@me/@self')).json());
  await attempt(() => vault.fetch('alice', 'voice/statuses', { method: 'POST', body: new URLSearchParams({ status: 'x' }) }));
  emulator.clock.advance(LATER_MS);
  await (await vault.fetch('alice', 'people/@me/@self')).arrayBuffer();

  // imported grants, a sweep, transient failures, a provider echoing secrets, revocation, a dead refresh token
  const minted = emulator.mintGrant({ clientId: service.clientId, scope: 'r_profile' });
  show('importGrant result', await vault.importGrant({ grantId: 'dave', client: 'mixi', accessToken: minted.accessToken, refreshToken: minted.refreshToken, expiresAt: clock.now() + 60_000, scope: ['r_profile'] }));
  show('refreshDue summary', await vault.refreshDue({ withinMs: LATER_MS + 120_000 }));
  emulator.clock.advance(LATER_MS);
  emulator.faults.add({ endpoint: 'token', grantType: 'refresh_token', respond: { status: 503, headers: { 'retry-after': '0' } } });
  await attempt(() => vault.getAccessToken('alice'));
  await attempt(() => vault.refresh('dave', { force: true }));
  emulator.faults.clear();
  emulator.faults.add({
    endpoint: 'token',
    grantType: 'refresh_token',
    respond: { status: 400, body: { error: 'invalid_request', error_description: `refresh_token=${minted.refreshToken}; client_secret: ${service.clientSecret}`, refresh_token: minted.refreshToken } },
  });
  await attempt(() => vault.refresh('dave', { force: true }));
  emulator.faults.clear();
  emulator.revokeGrant(minted.grantId);
  await attempt(async () => (await vault.fetch('dave', 'people/@me/@self')).arrayBuffer());
  const aliceAtEmulator = emulator.findGrant({ accessToken: await vault.getAccessToken('alice') });
  emulator.expireRefreshToken(aliceAtEmulator!.grantId);
  await attempt(() => vault.refresh('alice', { force: true }));
  const reissued = emulator.reissueSecret(service.serviceId);
  vault.updateClientSecret('mixi', reissued.clientSecret);

  // a tampered row, listings, the objects themselves, a closed vault
  const second = emulator.mintGrant({ clientId: service.clientId, scope: 'r_profile' });
  await vault.importGrant({ grantId: 'erin', client: 'mixi', accessToken: second.accessToken, refreshToken: second.refreshToken, expiresAt: clock.now() + 600_000, scope: ['r_profile'] });
  await copyColumn(raw, 'refresh_token', 'erin', 'alice');
  await attempt(() => vault.refresh('alice', { force: true }));
  show('list', await vault.list({}, { limit: 100 }));
  show('inspect erin', await vault.inspect('erin'));
  show('the vault', vault);
  show('the store', store);
  show('a record', await store.get('erin'));
  await vault.close();
  await attempt(() => vault.getAccessToken('erin'));

  expect(errors.length).toBeGreaterThanOrEqual(12);
  for (const level of ['debug', 'info', 'warn', 'error']) expect(logs.some((l) => l.startsWith(level)), `a ${level} line`).toBe(true);
  expect(events.some((e) => e.startsWith('request'))).toBe(true);
  return [
    ...captured,
    { where: 'log lines', text: logs.join('\n') },
    { where: 'event payloads', text: events.join('\n') },
    { where: 'thrown errors', text: errors.join('\n') },
  ];
}

describe('no secret leaks: the vault in-process', () => {
  it('SQLite: no canary in logs, events, errors, results, nor the file; with encryption "none" the file has them (control)', async () => {
    const dir = world.dir();
    const filename = join(dir, 'library.db');
    const store = sqliteStore({ filename, encryption: { keys: formatEncryptionKey(generateEncryptionKey({ id: 'lib' })) } });
    const captured = await driveLibrary(store, store.db);
    expect(canaries.scan([...captured, ...sqliteBytes(filename)])).toEqual([]);

    // The control: the same writes without encryption put canaries in the file, and the search finds them.
    const plainFile = join(dir, 'plain.db');
    const plain = sqliteStore({ filename: plainFile, encryption: 'none', logger: { warn: () => undefined } });
    const minted = world.emulator.mintGrant({ clientId: world.service().clientId, scope: 'r_profile' });
    const vault = createVault({ store: plain, clients: [{ id: 'mixi', provider: providers.mixi(mixiEndpoints(world.url)), clientId: 'x', clientSecret: 'y', redirectUri: 'https://app.example/callback' }] });
    await vault.importGrant({ grantId: 'zed', client: 'mixi', accessToken: minted.accessToken, refreshToken: minted.refreshToken, expiresAt: null, scope: ['r_profile'] });
    await vault.close();
    const found = canaries.scan(sqliteBytes(plainFile)).map((h) => h.canary);
    expect(found).toContain(minted.accessToken);
    expect(found).toContain(minted.refreshToken);
  });

  (POSTGRES_URL ? it : it.skip)('PostgreSQL: no canary in logs, events, errors, results, nor any row', async () => {
    const schema = `tv_leak_${Math.random().toString(36).slice(2, 10)}`;
    const store = postgresStore({ connectionString: POSTGRES_URL as string, schema, encryption: { keys: formatEncryptionKey(generateEncryptionKey({ id: 'pg' })) } });
    const rawStore = postgresStore({ connectionString: POSTGRES_URL as string, schema, encryption: 'none', logger: { warn: () => undefined } });
    try {
      const q = rawStore.db.withSchema(schema);
      const captured = await driveLibrary(store, q);
      const rows = [...(await q.selectFrom('tokenvault_grants').selectAll().execute()), ...(await q.selectFrom('tokenvault_clients').selectAll().execute())];
      expect(rows.length).toBeGreaterThanOrEqual(5);
      expect(canaries.scan([...captured, { where: `select * from "${schema}" tables`, text: safeJson(rows) }])).toEqual([]);
      // The control: a secret written with encryption "none" is found in the rows.
      const plainSecret = canaries.word('plain-client-secret');
      await rawStore.putClient({ id: 'plain', provider: 'mixi', providerOptions: {}, clientId: 'p', clientSecret: new Secret(plainSecret), redirectUri: 'https://a/cb', createdAt: 1, updatedAt: 1 });
      const after = await q.selectFrom('tokenvault_clients').selectAll().execute();
      expect(canaries.scan([{ where: 'rows', text: safeJson(after) }]).map((h) => h.canary)).toEqual([plainSecret]);
    } finally {
      await rawStore.db.schema.dropSchema(schema).ifExists().cascade().execute();
      await rawStore.close();
      await store.close().catch(() => undefined);
    }
  });
});
