import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { aesGcmCodec, encryptedKeyId, generateEncryptionKey, InvalidArgumentError, type RekeyWorkers, Secret, type SecretCodec, systemClock } from '@tokenvault/core';
import { makeClientRecord, makeGrantRecord, nextGrantRecord } from '@tokenvault/store-conformance';
import { MIN_ROWS_FOR_WORKERS, type RekeyProgress, rekeyTables, sqliteStore, tableNames } from '../src/index';
import { type DialectFixture, postgresFixture, sqliteFixture } from './support/dialect-fixture';
import { describePostgres } from './support/postgres-harness';

const A = generateEncryptionKey({ id: 'A' });
const B = generateEncryptionKey({ id: 'B' });
const C = generateEncryptionKey({ id: 'C' });
const D = generateEncryptionKey({ id: 'D' });
const SECRET_COLUMNS = ['access_token', 'refresh_token', 'id_token', 'pending_code_verifier', 'pending_server_state'];

/** Key id of every secret in the tables, counted: `{ A: 10, C: 3 }`; plaintext counts as `plain`. */
async function keysInUse(fx: DialectFixture): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const rows = [...(await fx.sql(`select ${SECRET_COLUMNS.join(', ')} from tokenvault_grants`)), ...(await fx.sql('select client_secret from tokenvault_clients'))];
  for (const row of rows) {
    for (const value of Object.values(row)) {
      if (value === null) continue;
      const id = encryptedKeyId(value) ?? 'plain';
      counts[id] = (counts[id] ?? 0) + 1;
    }
  }
  return counts;
}

function rekeySuite(name: string, makeFixture: () => Promise<DialectFixture>): void {
  describe(`rekey (${name})`, () => {
    let fx: DialectFixture;
    afterEach(() => fx.dispose());

    it('moves every secret of every grant and client under keys A and B to C, in pages, and a second run finds nothing to do', async () => {
      fx = await makeFixture();
      const underA = fx.open({ keys: [A] });
      const underB = fx.open({ keys: [B] });
      const plain = new Map<string, string>();
      for (let i = 0; i < 23; i++) {
        const grantId = `g${String(i).padStart(3, '0')}`;
        const token = `token-${i}`;
        plain.set(grantId, token);
        const store = i % 2 === 0 ? underA : underB;
        const pending = i % 5 === 0 ? { stateHash: `h${i}`, deadline: 1, scope: [], redirectUri: 'https://a/cb', codeVerifier: new Secret(`cv-${i}`), serverState: new Secret(`ss-${i}`) } : null;
        await store.create(makeGrantRecord({ grantId, accessToken: new Secret(token), idToken: i % 3 === 0 ? new Secret(`id-${i}`) : null, pending, state: pending ? 'awaitingCode' : 'authorized', ...(pending && { accessToken: null, refreshToken: null, accessTokenExpiresAt: null }) }));
      }
      await underA.create(makeGrantRecord({ grantId: 'no-secrets', accessToken: null, refreshToken: null, accessTokenExpiresAt: null, state: 'unauthorized' }));
      await underA.putClient(makeClientRecord({ id: 'mixi', clientSecret: new Secret('secret-a') }));
      await underB.putClient(makeClientRecord({ id: 'other', clientSecret: new Secret('secret-b') }));
      const before = await keysInUse(fx);
      expect(Object.keys(before).sort()).toEqual(['A', 'B']);

      const ring = fx.open({ keys: [C, B, A] });
      const progress: RekeyProgress[] = [];
      const summary = await ring.rekey({ pageSize: 5, onProgress: (p) => progress.push(p) });
      expect(summary.grants).toMatchObject({ seen: 24, rekeyed: 23, current: 1, conflicts: 0, gaveUp: 0, unreadable: [] });
      expect(summary.clients).toMatchObject({ seen: 2, rekeyed: 2, current: 0, unreadable: [] });
      expect(progress.filter((p) => p.table === 'grants').map((p) => p.summary.seen)).toEqual([5, 10, 15, 20, 24]);
      expect(progress[0]?.total).toBe(24);
      const after = await keysInUse(fx);
      expect(Object.keys(after)).toEqual(['C']);
      expect(after.C).toBe(Object.values(before).reduce((a, b) => a + b, 0));

      // Only C is needed now, and every value reads back as it was.
      const onlyC = fx.open({ keys: [C] });
      for (const [grantId, token] of plain) {
        const record = await onlyC.get(grantId);
        if (record?.state === 'authorized') expect(record.accessToken?.reveal()).toBe(token);
        else expect(record?.pending?.codeVerifier?.reveal()).toMatch(/^cv-/);
      }
      expect((await onlyC.getClient('other'))?.clientSecret.reveal()).toBe('secret-b');
      // Versions are untouched: rekey is not a change of the record.
      expect((await onlyC.get('g001'))?.version).toBe(1);

      expect((await ring.rekey({ pageSize: 5 })).grants).toMatchObject({ seen: 24, rekeyed: 0, current: 24 });
    });

    it('lists rows it cannot read (unknown key) and leaves them as they are', async () => {
      fx = await makeFixture();
      await fx.open({ keys: [A] }).create(makeGrantRecord({ grantId: 'readable' }));
      await fx.open({ keys: [D] }).create(makeGrantRecord({ grantId: 'lost' }));
      const summary = await fx.open({ keys: [C, A] }).rekey();
      expect(summary.grants).toMatchObject({ seen: 2, rekeyed: 1, unreadable: ['lost'], unreadableCount: 1 });
      expect(await keysInUse(fx)).toEqual({ C: 2, D: 2 });
    });

    it('moves a store off encryption "none" with acceptUnencrypted', async () => {
      fx = await makeFixture();
      const plain = fx.open('none');
      await plain.create(makeGrantRecord({ grantId: 'alice', accessToken: new Secret('plain-token') }));
      await plain.putClient(makeClientRecord({ id: 'mixi', clientSecret: new Secret('plain-secret') }));
      await expect(fx.open({ keys: [A] }).get('alice')).rejects.toMatchObject({ code: 'store_corrupt_record' });
      const migrating = fx.open({ keys: [A], acceptUnencrypted: true });
      expect((await migrating.rekey()).grants.rekeyed).toBe(1);
      expect(await keysInUse(fx)).toEqual({ A: 3 });
      expect((await fx.open({ keys: [A] }).get('alice'))?.accessToken?.reveal()).toBe('plain-token');
    });

    it('stops between pages when aborted, and a later run finishes', async () => {
      fx = await makeFixture();
      const underA = fx.open({ keys: [A] });
      for (let i = 0; i < 10; i++) await underA.create(makeGrantRecord({ grantId: `g${i}` }));
      const ring = fx.open({ keys: [B, A] });
      const abort = new AbortController();
      await expect(ring.rekey({ pageSize: 3, signal: abort.signal, onProgress: () => abort.abort() })).rejects.toThrow();
      expect((await keysInUse(fx)).A).toBe(14);
      expect((await ring.rekey({ pageSize: 3 })).grants.rekeyed).toBe(7);
      expect(await keysInUse(fx)).toEqual({ B: 20 });
    });

    it('refuses bad options', async () => {
      fx = await makeFixture();
      const ring = fx.open({ keys: [A] });
      await expect(ring.rekey({ pageSize: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(ring.rekey({ maxAttemptsPerRow: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(ring.rekey({ pauseMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(ring.rekey({ workers: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(ring.rekey({ workers: 1.5 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(ring.rekey({ minRowsForWorkers: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });
}

rekeySuite('SQLite', sqliteFixture);
describePostgres('rekey (PostgreSQL)', () => rekeySuite('PostgreSQL', postgresFixture));

describe('rekey never overwrites a concurrent write', () => {
  it('a grant rewritten between rekey reading and writing it keeps the new tokens; rekey reads it again', async () => {
    const fx = await sqliteFixture();
    try {
      const underA = fx.open({ keys: [A] });
      const first = makeGrantRecord({ grantId: 'alice', accessToken: new Secret('old-token') });
      await underA.create(first);
      await underA.create(makeGrantRecord({ grantId: 'bob' }));
      // The refresh happens inside rekey's own decode of alice's row, i.e. after the read and before
      // the guarded write: the interleaving a real concurrent refresh would need luck to hit.
      const writer = fx.open({ keys: [C, A] });
      const refreshed = nextGrantRecord(first, { accessToken: new Secret('refreshed-token') });
      const other = new Database(fx.location.filename as string);
      const inner = aesGcmCodec({ keys: [C, A] });
      let fired = false;
      const codec: SecretCodec = {
        encode: (plain, at) => inner.encode(plain, at),
        needsRekey: (stored) => inner.needsRekey(stored),
        decode(stored, at) {
          if (!fired && at.key === 'alice') {
            fired = true;
            // A synchronous write through another connection, as another process would make it.
            const row = { access_token: inner.encode('refreshed-token', { ...at, column: 'access_token' }), refresh_token: inner.encode(refreshed.refreshToken?.reveal() as string, { ...at, column: 'refresh_token' }) };
            other.prepare('update tokenvault_grants set access_token = ?, refresh_token = ?, version = 2 where grant_id = ? and version = 1').run(row.access_token, row.refresh_token, 'alice');
          }
          return inner.decode(stored, at);
        },
      };
      const rekeying = sqliteStore({ filename: fx.location.filename as string, encryption: { codec } });
      const summary = await rekeying.rekey();
      other.close();
      expect(fired).toBe(true);
      expect(summary.grants).toMatchObject({ seen: 2, rekeyed: 1, conflicts: 1, current: 1, gaveUp: 0 });
      const stored = await writer.get('alice');
      expect(stored?.version).toBe(2);
      expect(stored?.accessToken?.reveal()).toBe('refreshed-token');
      expect(await keysInUse(fx)).toEqual({ C: 4 });
      await rekeying.close();
    } finally {
      await fx.dispose();
    }
  });
});

describe('rekey on SQLite without the better-sqlite3 handle (the portable UPDATE … FROM path)', () => {
  it('moves every row and keeps the compare-and-set guard', async () => {
    const fx = await sqliteFixture();
    try {
      const underA = fx.open({ keys: [A] });
      for (let i = 0; i < 7; i++) await underA.create(makeGrantRecord({ grantId: `g${i}`, accessToken: new Secret(`t${i}`) }));
      await underA.putClient(makeClientRecord({ id: 'mixi' }));
      const codec = aesGcmCodec({ keys: [B, A] });
      const store = fx.open({ codec });
      await store.ready();
      const retry = { policy: { maxAttempts: 1, maxElapsedMs: 0, initialDelayMs: 0, maxDelayMs: 0 }, classify: () => 'fail' as const, clock: systemClock, random: Math.random };
      const summary = await rekeyTables({ db: store.db, dialect: 'sqlite', names: tableNames(), schema: undefined, codec, retry }, { pageSize: 3 });
      expect(summary.grants).toMatchObject({ seen: 7, rekeyed: 7, conflicts: 0 });
      expect(summary.clients).toMatchObject({ seen: 1, rekeyed: 1 });
      expect(await keysInUse(fx)).toEqual({ B: 15 });
      expect((await fx.open({ keys: [B] }).get('g3'))?.accessToken?.reveal()).toBe('t3');
    } finally {
      await fx.dispose();
    }
  });
});

/**
 * An aesGcmCodec seen from outside: counts what rekey asks of it (decodes on this thread, worker pools
 * started and closed, batches), and can run `beforeBatch` before a batch goes to the threads.
 */
function watchedCodec(keys: Parameters<typeof aesGcmCodec>[0]['keys'], beforeBatch?: (values: readonly string[], locations: readonly string[], n: number) => Promise<void> | void) {
  const inner = aesGcmCodec({ keys });
  const stats = { decodes: 0, started: 0, closed: 0, batches: 0 };
  const codec: SecretCodec = {
    encode: (plain, at) => inner.encode(plain, at),
    decode: (stored, at) => (stats.decodes++, inner.decode(stored, at)),
    needsRekey: (stored) => inner.needsRekey(stored),
    startRekeyWorkers(threads: number): RekeyWorkers {
      stats.started++;
      const pool = inner.startRekeyWorkers(threads);
      return {
        threads: pool.threads,
        async recode(values, locations) {
          stats.batches++;
          await beforeBatch?.(values, locations, stats.batches);
          return pool.recode(values, locations);
        },
        async close() {
          stats.closed++;
          await pool.close();
        },
      };
    },
  };
  return { codec, inner, stats };
}

function rekeyWorkersSuite(name: string, makeFixture: () => Promise<DialectFixture>): void {
  describe(`rekey on worker threads (${name})`, () => {
    let fx: DialectFixture;
    afterEach(() => fx.dispose());

    it('moves every row as on this thread, lists unreadable rows, decodes nothing on this thread, and closes the threads', async () => {
      fx = await makeFixture();
      const underA = fx.open({ keys: [A] });
      const underB = fx.open({ keys: [B] });
      for (let i = 0; i < 40; i++) {
        const grantId = `g${String(i).padStart(3, '0')}`;
        const pending = i % 5 === 0 ? { stateHash: `h${i}`, deadline: 1, scope: [], redirectUri: 'https://a/cb', codeVerifier: new Secret(`cv-${i}`), serverState: new Secret(`ss-${i}`) } : null;
        await (i % 2 === 0 ? underA : underB).create(
          makeGrantRecord({ grantId, accessToken: new Secret(`token-${i}`), idToken: i % 3 === 0 ? new Secret(`id-${i}`) : null, pending, state: pending ? 'awaitingCode' : 'authorized', ...(pending && { accessToken: null, refreshToken: null, accessTokenExpiresAt: null }) }),
        );
      }
      await underA.create(makeGrantRecord({ grantId: 'no-secrets', accessToken: null, refreshToken: null, accessTokenExpiresAt: null, state: 'unauthorized' }));
      await fx.open({ keys: [D] }).create(makeGrantRecord({ grantId: 'lost' }));
      await underA.create(makeGrantRecord({ grantId: 'tampered', accessToken: new Secret('t') }));
      const [stored] = await fx.sql('select access_token from tokenvault_grants where grant_id = ?', ['tampered']);
      const text = stored?.access_token as string;
      await fx.sql('update tokenvault_grants set access_token = ? where grant_id = ?', [`${text.slice(0, -3)}${text.at(-3) === 'A' ? 'B' : 'A'}${text.slice(-2)}`, 'tampered']);
      await underA.putClient(makeClientRecord({ id: 'mixi', clientSecret: new Secret('secret-a') }));
      const before = await keysInUse(fx);

      const { codec, stats } = watchedCodec([C, B, A]);
      const progress: number[] = [];
      const summary = await fx.open({ codec }).rekey({ pageSize: 7, workers: 2, minRowsForWorkers: 0, onProgress: (p) => progress.push(p.summary.seen) });
      expect(summary.grants).toMatchObject({ seen: 43, rekeyed: 40, current: 1, conflicts: 0, gaveUp: 0, unreadableCount: 2 });
      expect([...summary.grants.unreadable].sort()).toEqual(['lost', 'tampered']);
      expect(summary.clients).toMatchObject({ seen: 1, rekeyed: 1, unreadable: [] });
      expect(progress).toEqual([7, 14, 21, 28, 35, 42, 43, 1]);
      expect(stats).toMatchObject({ decodes: 0, started: 1, closed: 1 });
      expect(stats.batches).toBeGreaterThanOrEqual(8);
      const after = await keysInUse(fx);
      expect(after).toEqual({ C: (before.A ?? 0) + (before.B ?? 0) - 2, A: 2, D: 2 });

      const onlyC = fx.open({ keys: [C] });
      for (let i = 0; i < 40; i++) {
        const record = await onlyC.get(`g${String(i).padStart(3, '0')}`);
        if (record?.state === 'authorized') expect(record.accessToken?.reveal()).toBe(`token-${i}`);
        else expect(record?.pending?.serverState?.reveal()).toBe(`ss-${i}`);
        expect(record?.version).toBe(1);
      }
      expect((await onlyC.getClient('mixi'))?.clientSecret.reveal()).toBe('secret-a');
      expect((await fx.open({ codec }).rekey({ workers: 2, minRowsForWorkers: 0 })).grants).toMatchObject({ rekeyed: 0, current: 41, unreadableCount: 2 });
    });

    it(`starts no threads for a table under minRowsForWorkers (default ${MIN_ROWS_FOR_WORKERS.toLocaleString('en-US')}) or with workers: 0`, async () => {
      fx = await makeFixture();
      for (let i = 0; i < 5; i++) await fx.open({ keys: [A] }).create(makeGrantRecord({ grantId: `g${i}` }));
      const small = watchedCodec([B, A]);
      expect((await fx.open({ codec: small.codec }).rekey()).grants.rekeyed).toBe(5);
      expect(small.stats).toMatchObject({ started: 0, decodes: 10 });
      const off = watchedCodec([C, B]);
      expect((await fx.open({ codec: off.codec }).rekey({ workers: 0, minRowsForWorkers: 0 })).grants.rekeyed).toBe(5);
      expect(off.stats).toMatchObject({ started: 0, decodes: 10 });
    });

    it('stops between pages when aborted (a page read ahead is not written), closes the threads, and a later run finishes', async () => {
      fx = await makeFixture();
      const underA = fx.open({ keys: [A] });
      for (let i = 0; i < 10; i++) await underA.create(makeGrantRecord({ grantId: `g${i}` }));
      const { codec, stats } = watchedCodec([B, A]);
      const abort = new AbortController();
      await expect(fx.open({ codec }).rekey({ pageSize: 3, workers: 2, minRowsForWorkers: 0, signal: abort.signal, onProgress: () => abort.abort() })).rejects.toThrow();
      // Page 2 was read and re-encrypted ahead, but only page 1 was written.
      expect(stats.batches).toBe(2);
      expect(stats.closed).toBe(1);
      expect((await keysInUse(fx)).A).toBe(14);
      const later = watchedCodec([B, A]);
      expect((await fx.open({ codec: later.codec }).rekey({ pageSize: 3, workers: 2, minRowsForWorkers: 0 })).grants.rekeyed).toBe(7);
      expect(await keysInUse(fx)).toEqual({ B: 20 });
    });

    it('never overwrites a write made while the threads re-encrypt the row: reads it again and moves the new value', async () => {
      fx = await makeFixture();
      const underA = fx.open({ keys: [A] });
      const first = makeGrantRecord({ grantId: 'alice', accessToken: new Secret('old-token') });
      await underA.create(first);
      for (let i = 0; i < 6; i++) await underA.create(makeGrantRecord({ grantId: `bob${i}` }));
      let fired = false;
      const { codec, inner, stats } = watchedCodec([C, A], async (_values, locations) => {
        if (fired || !locations.some((l) => l.endsWith('/alice'))) return;
        fired = true;
        // Another process refreshes alice after rekey read her row and before it writes it.
        const at = { table: 'grants' as const, key: 'alice' };
        await fx.sql('update tokenvault_grants set access_token = ?, refresh_token = ?, version = 2 where grant_id = ? and version = 1', [
          inner.encode('refreshed-token', { ...at, column: 'access_token' }),
          inner.encode('refreshed-refresh', { ...at, column: 'refresh_token' }),
          'alice',
        ]);
      });
      const summary = await fx.open({ codec }).rekey({ pageSize: 3, workers: 2, minRowsForWorkers: 0 });
      expect(fired).toBe(true);
      expect(summary.grants).toMatchObject({ seen: 7, rekeyed: 6, current: 1, conflicts: 1, gaveUp: 0 });
      expect(stats.decodes).toBe(0);
      const stored = await fx.open({ keys: [C] }).get('alice');
      expect(stored?.version).toBe(2);
      expect(stored?.accessToken?.reveal()).toBe('refreshed-token');
      expect(stored?.refreshToken?.reveal()).toBe('refreshed-refresh');
      expect(await keysInUse(fx)).toEqual({ C: 14 });
    });

    it('fails the run when a batch fails, keeps the pages already written, and closes the threads', async () => {
      fx = await makeFixture();
      for (let i = 0; i < 9; i++) await fx.open({ keys: [A] }).create(makeGrantRecord({ grantId: `g${i}` }));
      const { codec, stats } = watchedCodec([B, A], (_v, _l, n) => {
        if (n === 3) throw new RangeError('batch 3 fails');
      });
      await expect(fx.open({ codec }).rekey({ pageSize: 3, workers: 1, minRowsForWorkers: 0 })).rejects.toThrow('batch 3 fails');
      expect(stats.closed).toBe(1);
      expect(await keysInUse(fx)).toEqual({ A: 6, B: 12 });
    });
  });
}

rekeyWorkersSuite('SQLite', sqliteFixture);
describePostgres('rekey on worker threads (PostgreSQL)', () => rekeyWorkersSuite('PostgreSQL', postgresFixture));

describe('rekey worker threads never keep the process alive', () => {
  const script = fileURLToPath(new URL('./fixtures/rekey-exit.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const runScript = (mode: string) =>
    new Promise<{ code: number | null; out: string; ms: number }>((resolve, reject) => {
      const started = Date.now();
      let dir: Awaited<ReturnType<typeof sqliteFixture>>;
      void sqliteFixture().then((fx) => {
        dir = fx;
        const child = spawn(process.execPath, ['--conditions=@tokenvault/source', '--import', 'tsx', script, JSON.stringify({ filename: fx.location.filename, mode })], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          void dir.dispose().then(() => (code === 0 ? resolve({ code, out, ms: Date.now() - started }) : reject(new Error(`exit ${code}: ${err}`))));
        });
      }, reject);
    });

  it.each([
    ['a finished run', 'done', { rekeyed: 40 }],
    ['an aborted run', 'abort', { error: 'AbortError' }],
    ['a pool nobody closed', 'forgotten', { recoded: true }],
  ])('after %s the process ends by itself', async (_name, mode, expected) => {
    const { code, out } = await runScript(mode);
    expect(code).toBe(0);
    expect(JSON.parse(out.trim())).toEqual(expected);
  });
});
