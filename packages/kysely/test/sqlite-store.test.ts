import { statSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import Database from 'better-sqlite3';
import { Kysely, NO_MIGRATIONS, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '@tokenvault/core';
import { BASE_TIME, describeGrantStoreConformance, makeGrantRecord, nextGrantRecord, toPlainGrant } from '@tokenvault/store-conformance';
import { createTokenVaultMigrator, kyselyStore, migrateToLatest, sqliteStore, tableNames, type KyselyGrantStore } from '../src/index';
import { grantToRow } from '../src/row-mapping';
import { CORRUPT_SCOPE, rawRowToPlain } from './support/raw-grant-row';
import { sqliteFileHarness, tempDir } from './support/sqlite-harness';
import { UNENCRYPTED } from './support/unencrypted';

/** Everything a test opened, closed after it whatever happened. */
const opened: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

async function fileStore(options: Parameters<typeof sqliteStore>[0] extends infer O ? Partial<O> : never = {}) {
  const { dir, remove } = await tempDir();
  opened.push(remove);
  const filename = join(dir, 'grants.db');
  const store = sqliteStore({ filename, ...UNENCRYPTED, ...options });
  opened.push(() => store.close());
  await store.ready();
  return { store, filename, dir };
}

function connection(filename: string): Database.Database {
  const db = new Database(filename);
  opened.push(() => db.open && db.close());
  return db;
}

describe('sqliteStore: the file', () => {
  it('creates the database, and SQLite its WAL, readable by this user only (0600)', async () => {
    const { store, filename } = await fileStore();
    await store.create(makeGrantRecord());
    expect(statSync(filename).mode & 0o777).toBe(0o600);
    expect(statSync(`${filename}-wal`).mode & 0o777).toBe(0o600);
  });

  it('runs in WAL mode with synchronous=FULL and the busy timeout by default', async () => {
    const { store } = await fileStore();
    const db = store.sqliteDatabase as Database.Database;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(200);
  });

  it('takes synchronous=NORMAL and another busy timeout when asked', async () => {
    const { store } = await fileStore({ synchronous: 'normal', busyTimeoutMs: 50 });
    const db = store.sqliteDatabase as Database.Database;
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(50);
  });

  it('refuses bad options as InvalidArgumentErrors and a bad path as a StoreError', async () => {
    expect(() => sqliteStore({ filename: '' })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => sqliteStore({ filename: ':memory:', synchronous: 'off' as never })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => sqliteStore({ filename: '/nonexistent-dir/x/grants.db', ...UNENCRYPTED })).toThrow(expect.objectContaining({ code: 'store_error' }));
  });

  it('keeps each :memory: store private', async () => {
    const a = sqliteStore({ filename: ':memory:' });
    const b = sqliteStore({ filename: ':memory:' });
    opened.push(() => a.close(), () => b.close());
    const record = makeGrantRecord();
    await a.create(record);
    expect(await b.get(record.grantId)).toBeUndefined();
  });
});

describe('sqliteStore: schema and migrations', () => {
  it('creates the tables, the due, lease, state-hash and client indexes, and its own migration tables', async () => {
    const { store } = await fileStore();
    const names = tableNames();
    const objects = (store.sqliteDatabase as Database.Database)
      .prepare(`select name from sqlite_master where type in ('table', 'index') and name not like 'sqlite_%' order by name`)
      .pluck()
      .all();
    expect(objects).toEqual(
      [names.clients, names.grants, names.clientIndex, names.dueIndex, names.leaseIndex, names.stateIndex, names.stateHashIndex, names.migration, names.migrationLock].sort(),
    );
  });

  it('answers due and lease pages from their indexes alone, in order, without sorting', async () => {
    const { store } = await fileStore();
    const db = store.sqliteDatabase as Database.Database;
    for (const [state, column] of [
      ['authorized', 'access_token_expires_at'],
      ['refreshing', 'lease_until'],
    ] as const) {
      const query = store.db
        .selectFrom('tokenvault_grants')
        .select(['grant_id', column])
        .where('state', '=', sql.lit(state))
        .where(column, '<', 1)
        .where((eb) => eb(eb.refTuple(column, 'grant_id'), '>', eb.tuple(0, 'a')))
        .orderBy(column)
        .orderBy('grant_id')
        .limit(10)
        .compile();
      const plan = db
        .prepare(`explain query plan ${query.sql}`)
        .all(...query.parameters)
        .map((r) => (r as { detail: string }).detail)
        .join('\n');
      // A page is keys: the (state, time, grant_id) index holds all of it, the table is never touched.
      expect(plan).toContain(state === 'authorized' ? 'COVERING INDEX tokenvault_grants_due_idx' : 'COVERING INDEX tokenvault_grants_lease_idx');
      expect(plan).not.toContain('TEMP B-TREE');
    }
  });

  it('migrates once: a second store on the file and a second migration change nothing', async () => {
    const { store, filename } = await fileStore();
    const record = makeGrantRecord();
    await store.create(record);
    const again = sqliteStore({ filename, ...UNENCRYPTED });
    opened.push(() => again.close());
    expect(toPlainGrant(await again.get(record.grantId))).toEqual(toPlainGrant(record));
    await migrateToLatest(again.db, { dialect: 'sqlite' });
    const runs = (again.sqliteDatabase as Database.Database).prepare('select name from tokenvault_migration').pluck().all();
    expect(runs).toEqual(['0001_create_grants_and_clients', '0002_narrow_due_index', '0003_authorization_order']);
  });

  it('keeps two table prefixes in one file apart', async () => {
    const { store, filename } = await fileStore();
    const other = sqliteStore({ filename, tablePrefix: 'tenant2_', ...UNENCRYPTED });
    opened.push(() => other.close());
    const record = makeGrantRecord();
    await store.create(record);
    expect(await other.get(record.grantId)).toBeUndefined();
    expect(await other.create(makeGrantRecord({ grantId: record.grantId }))).toBe(true);
    expect(await store.count({})).toBe(1);
    expect(await other.count({})).toBe(1);
  });
});

describe('kyselyStore on your own Kysely instance', () => {
  function ownKysely() {
    const handle = new Database(':memory:');
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: handle }) });
    opened.push(() => db.destroy());
    return { handle, db };
  }

  it('reports missing tables as a StoreError until migrateToLatest has run', async () => {
    const { db } = ownKysely();
    const store = kyselyStore({ db, dialect: 'sqlite' });
    await expect(store.get('alice')).rejects.toMatchObject({ code: 'store_error' });
    await migrateToLatest(db, { dialect: 'sqlite' });
    expect(await store.get('alice')).toBeUndefined();
  });

  it('migrates on first use with migrate: true, leaving the application’s own migration table alone', async () => {
    const { db, handle } = ownKysely();
    handle.exec(`create table kysely_migration (name text primary key, timestamp text not null)`);
    handle.exec(`insert into kysely_migration values ('app_0001', 'then')`);
    const store = kyselyStore({ db, dialect: 'sqlite', migrate: true });
    const record = makeGrantRecord();
    expect(await store.create(record)).toBe(true);
    expect(handle.prepare('select name from kysely_migration').pluck().all()).toEqual(['app_0001']);
  });

  it('does not destroy your instance on close, unless told to', async () => {
    const { db } = ownKysely();
    const store = kyselyStore({ db, dialect: 'sqlite', migrate: true });
    await store.ready();
    await store.close();
    await expect(sql`select 1 as one`.execute(db)).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  it('refuses options that do not fit the dialect', () => {
    const { db, handle } = ownKysely();
    expect(() => kyselyStore({ db, dialect: 'sqlite', schema: 'x' })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => kyselyStore({ db, dialect: 'postgres', sqliteDatabase: handle })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => kyselyStore({ db, dialect: 'sqlite', tablePrefix: 'bad-prefix;' })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});

// The same suite on the general path (Kysely builder and driver for every read, no prepared fast path),
// so both ways of reading SQLite are held to the contract.
describeGrantStoreConformance(
  'sqlite through kyselyStore (no prepared fast path)',
  async () => {
    const handle = new Database(':memory:');
    const store = kyselyStore({ db: new Kysely<any>({ dialect: new SqliteDialect({ database: handle }) }), dialect: 'sqlite', migrate: true, destroyOnClose: true });
    await store.ready();
    const select = (grantId: string) => handle.prepare('select * from tokenvault_grants where grant_id = ?').get(grantId) as Record<string, unknown> | undefined;
    return {
      store,
      rawRead: async (grantId) => rawRowToPlain(select(grantId)),
      corrupt: async (grantId) => void handle.prepare('update tokenvault_grants set scope = ? where grant_id = ?').run(CORRUPT_SCOPE, grantId),
      dispose: () => store.close(),
    };
  },
  { modelRuns: 50 },
);

describe('sqliteStore: failures', () => {
  it('leaves the previous record when a write fails (a trigger refuses it), and says so with a StoreError', async () => {
    const h = await sqliteFileHarness();
    opened.push(() => h.dispose());
    const record = makeGrantRecord({ accessToken: new Secret('token-that-must-not-leak') });
    await h.store.create(record);
    connection(h.filename).exec(`
      create trigger refuse_reauth before update on tokenvault_grants when new.state = 'reauthRequired'
      begin select raise(abort, 'refused by trigger'); end`);
    const dead = nextGrantRecord(record, { state: 'reauthRequired', reauthReason: 'refresh_token_rejected', accessToken: null, refreshToken: null });
    const error = await h.store.compareAndSet(dead, 1).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'store_error', name: 'StoreError' });
    expect((error as Error).message).toContain('refused by trigger');
    expect(`${inspect(error, { depth: 5 })} ${JSON.stringify(error)}`).not.toContain('token-that-must-not-leak');
    expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(record));
    // Other writes still go through.
    expect(await h.store.compareAndSet(nextGrantRecord(record), 1)).toBe(true);
  });

  it('reports a write on a connection closed under it as a StoreError; the file keeps the old row', async () => {
    const h = await sqliteFileHarness();
    opened.push(() => h.dispose());
    const record = makeGrantRecord();
    await h.store.create(record);
    (h.store.sqliteDatabase as Database.Database).close();
    await expect(h.store.compareAndSet(nextGrantRecord(record), 1)).rejects.toMatchObject({ code: 'store_error' });
    await expect(h.store.get(record.grantId)).rejects.toMatchObject({ code: 'store_error' });
    expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(record));
  });

  it('waits out a writer that holds the lock (SQLITE_BUSY is retried, not thrown); readers never wait', async () => {
    const { store, filename } = await fileStore({ busyTimeoutMs: 5 });
    const record = makeGrantRecord();
    await store.create(record);
    const other = connection(filename);
    other.exec('begin immediate');
    setTimeout(() => other.exec('commit'), 150);
    expect((await store.get(record.grantId))?.version).toBe(1);
    expect(await store.compareAndSet(nextGrantRecord(record), 1)).toBe(true);
    expect((await store.get(record.grantId))?.version).toBe(2);
  });

  it('gives up after its time bound with a StoreError naming SQLITE_BUSY, changing nothing', async () => {
    const { store, filename } = await fileStore({ busyTimeoutMs: 5, retry: { maxElapsedMs: 100 } });
    const record = makeGrantRecord();
    await store.create(record);
    const other = connection(filename);
    other.exec('begin immediate');
    const error = await store.compareAndSet(nextGrantRecord(record), 1).catch((e: unknown) => e);
    other.exec('commit');
    expect(error).toMatchObject({ code: 'store_error', cause: { code: expect.stringMatching(/^SQLITE_BUSY/) } });
    expect((await store.get(record.grantId))?.version).toBe(1);
  });

  it.each([
    ['unparseable JSON', `update tokenvault_grants set last_error = '{' where grant_id = ?`],
    ['an unknown state', `update tokenvault_grants set state = 'hibernating' where grant_id = ?`],
    ['a lease without its state', `update tokenvault_grants set lease_owner = 'w', lease_until = 5 where grant_id = ?`],
    ['a version of 0', `update tokenvault_grants set version = 0 where grant_id = ?`],
  ])('reports a row with %s as a CorruptRecordError naming the grant, from get and findByStateHash', async (_label, damage) => {
    const { store, filename } = await fileStore();
    const pending = { stateHash: 'h-corrupt', deadline: BASE_TIME, scope: [], redirectUri: 'https://a/cb', codeVerifier: null, serverState: null };
    const record = makeGrantRecord({ pending, accessToken: new Secret('secret-in-corrupt-row') });
    await store.create(record);
    connection(filename).prepare(damage).run(record.grantId);
    for (const read of [() => store.get(record.grantId), () => store.findByStateHash('h-corrupt')]) {
      const error = await read().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'store_corrupt_record', key: record.grantId });
      expect(inspect(error)).not.toContain('secret-in-corrupt-row');
    }
  });
});

describe('sqliteStore: group commit', () => {
  /** Frames in the file's WAL now (a checkpoint that moves nothing, run on another connection). */
  const walFrames = (db: Database.Database) => (db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log;
  const emptyWal = (db: Database.Database) => db.pragma('wal_checkpoint(TRUNCATE)');

  async function grants(store: KyselyGrantStore, n: number) {
    const records = Array.from({ length: n }, (_, i) => makeGrantRecord({ grantId: `group-${String(i).padStart(3, '0')}` }));
    for (const r of records) await store.create(r);
    return records;
  }

  it('commits the compare-and-sets asked for in one turn together, each answered, all persisted', async () => {
    const { store, filename } = await fileStore();
    const records = await grants(store, 16);
    const other = connection(filename);
    // One at a time: a commit each.
    emptyWal(other);
    for (const r of records) expect(await store.compareAndSet(nextGrantRecord(r), 1)).toBe(true);
    const alone = walFrames(other);
    // All in one turn: one commit, which writes each page it touched once.
    emptyWal(other);
    const together = await Promise.all(records.map((r) => store.compareAndSet(nextGrantRecord(nextGrantRecord(r)), 2)));
    const grouped = walFrames(other);
    expect(together).toEqual(records.map(() => true));
    expect(grouped).toBeGreaterThan(0);
    expect(grouped * 4).toBeLessThan(alone);
    const versions = other.prepare('select version from tokenvault_grants order by grant_id').pluck().all();
    expect(versions).toEqual(records.map(() => 3));
  });

  it('answers each member for itself: same-version rivals get one winner, a state-hash clash fails alone', async () => {
    const { store, filename } = await fileStore();
    const pending = { stateHash: 'h-taken', deadline: BASE_TIME, scope: [], redirectUri: 'https://a/cb', codeVerifier: null, serverState: null };
    const holder = makeGrantRecord({ grantId: 'holder', state: 'awaitingCode', accessToken: null, refreshToken: null, accessTokenExpiresAt: null, pending });
    await store.create(holder);
    const [a, b, c] = await grants(store, 3);
    const results = await Promise.allSettled([
      store.compareAndSet(nextGrantRecord(a!), 1),
      store.compareAndSet(nextGrantRecord(a!, { scope: ['rival'] }), 1),
      store.compareAndSet(nextGrantRecord(b!, { state: 'awaitingCode', accessToken: null, refreshToken: null, accessTokenExpiresAt: null, pending }), 1),
      store.compareAndSet(nextGrantRecord(c!), 1),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code: string }).code))).toEqual([true, false, 'store_error', true]);
    const raw = connection(filename).prepare('select grant_id, version from tokenvault_grants order by grant_id').all();
    expect(raw).toEqual([
      { grant_id: 'group-000', version: 2 },
      { grant_id: 'group-001', version: 1 },
      { grant_id: 'group-002', version: 2 },
      { grant_id: 'holder', version: 1 },
    ]);
    expect((await store.get('group-000'))?.scope).toEqual(a!.scope);
  });

  it('waits out another connection that holds the write lock: every member retried, none lost', async () => {
    const { store, filename } = await fileStore({ busyTimeoutMs: 5 });
    const records = await grants(store, 8);
    const other = connection(filename);
    other.exec('begin immediate');
    setTimeout(() => other.exec('commit'), 150);
    expect(await Promise.all(records.map((r) => store.compareAndSet(nextGrantRecord(r), 1)))).toEqual(records.map(() => true));
    expect(other.prepare('select version from tokenvault_grants').pluck().all()).toEqual(records.map(() => 2));
  });

  it('commits what was asked before close(), then refuses', async () => {
    const { store, filename } = await fileStore();
    const records = await grants(store, 4);
    const writes = records.map((r) => store.compareAndSet(nextGrantRecord(r), 1));
    await store.close();
    expect(await Promise.all(writes)).toEqual(records.map(() => true));
    expect(connection(filename).prepare('select version from tokenvault_grants').pluck().all()).toEqual(records.map(() => 2));
    await expect(store.compareAndSet(nextGrantRecord(nextGrantRecord(records[0]!)), 2)).rejects.toMatchObject({ code: 'store_error' });
  });

  it('does not join a Kysely transaction that began before its commit: it waits for it, and outlives its rollback', async () => {
    const { dir, remove } = await tempDir();
    opened.push(remove);
    const handle = new Database(join(dir, 'own.db'));
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: handle }) });
    opened.push(() => db.destroy());
    const store = kyselyStore({ db, dialect: 'sqlite', migrate: true, sqliteDatabase: handle, ...UNENCRYPTED });
    const [record] = await grants(store, 1);
    const write = store.compareAndSet(nextGrantRecord(record!), 1); // queued for this turn's commit
    const rolledBack = db
      .transaction()
      .execute(async (trx) => {
        await sql`update tokenvault_grants set scope = 'x' where grant_id = 'nobody'`.execute(trx);
        await new Promise((resolve) => setTimeout(resolve, 30));
        throw new Error('rolled back on purpose');
      })
      .catch((e: Error) => e.message);
    expect(await write).toBe(true);
    expect(await rolledBack).toBe('rolled back on purpose');
    expect((await store.get(record!.grantId))?.version).toBe(2);
    expect(handle.prepare('select version from tokenvault_grants').pluck().get()).toBe(2);
  });
});

describe('sqliteStore: createMany', () => {
  it('imports in chunks, skips ids that exist, and reads back exactly what it wrote', async () => {
    const { store } = await fileStore();
    const existing = makeGrantRecord({ grantId: 'bulk-00002' });
    await store.create(existing);
    const records = Array.from({ length: 25 }, (_, i) => makeGrantRecord({ grantId: `bulk-${String(i).padStart(5, '0')}` }));
    expect(await store.createMany(records, { chunkSize: 7 })).toBe(24);
    expect(await store.count({})).toBe(25);
    expect(toPlainGrant(await store.get('bulk-00002'))).toEqual(toPlainGrant(existing));
    expect(toPlainGrant(await store.get('bulk-00024'))).toEqual(toPlainGrant(records[24]!));
  });

  it('rolls a chunk back when one record in it collides on a state hash', async () => {
    const { store } = await fileStore();
    const pending = { stateHash: 'h-bulk', deadline: BASE_TIME, scope: [], redirectUri: 'https://a/cb', codeVerifier: null, serverState: null };
    const records = [makeGrantRecord({ pending }), makeGrantRecord(), makeGrantRecord({ pending })];
    await expect(store.createMany(records)).rejects.toMatchObject({ code: 'store_error' });
    expect(await store.count({})).toBe(0);
  });

  it('refuses an invalid record before writing anything', async () => {
    const { store } = await fileStore();
    await expect(store.createMany([makeGrantRecord(), makeGrantRecord({ version: 0 })])).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(await store.count({})).toBe(0);
    await expect(store.createMany([], { chunkSize: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});

describe('sqliteStore: the prepared fast path', () => {
  it('reads the same records as the general path', async () => {
    const { store, filename } = await fileStore();
    const records = Array.from({ length: 12 }, (_, i) => makeGrantRecord({ accessTokenExpiresAt: BASE_TIME + (i % 4) }));
    await store.createMany(records);
    const handle = new Database(filename);
    const general: KyselyGrantStore = kyselyStore({ db: new Kysely<any>({ dialect: new SqliteDialect({ database: handle }) }), dialect: 'sqlite', destroyOnClose: true });
    opened.push(() => general.close());
    for (const r of records) expect(toPlainGrant(await store.get(r.grantId))).toEqual(toPlainGrant(await general.get(r.grantId)));
    let fastCursor: string | undefined;
    let generalCursor: string | undefined;
    do {
      const fast = await store.listDue(BASE_TIME + 3, { limit: 2, cursor: fastCursor });
      const slow = await general.listDue(BASE_TIME + 3, { limit: 2, cursor: generalCursor });
      expect(fast.items).toEqual(slow.items);
      expect(fast.items.length).toBeGreaterThan(0);
      expect(fast.cursor).toEqual(slow.cursor);
      fastCursor = fast.cursor;
      generalCursor = slow.cursor;
    } while (fastCursor !== undefined);
  });
});

describe('migrations', () => {
  it('0002 narrows a due index made by 0001 on a file with grants, which keep being listed and read (0003 reads them with no authorization order)', async () => {
    const { dir, remove } = await tempDir();
    opened.push(remove);
    const filename = join(dir, 'old.db');
    const handle = new Database(filename);
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: handle }) });
    opened.push(() => db.destroy());
    const migrator = createTokenVaultMigrator(db, { dialect: 'sqlite' });
    expect((await migrator.migrateTo('0001_create_grants_and_clients')).error).toBeUndefined();
    const dueColumns = () => handle.prepare(`select name from pragma_index_info('tokenvault_grants_due_idx') order by seqno`).pluck().all();
    expect(dueColumns()).toHaveLength(21); // 0001: (state, expiry, grant_id) and every other column
    // Rows as a store of 0001's time wrote them: without 0003's authorization_order column.
    const records = [3, 1, 2].map((n) => makeGrantRecord({ grantId: `g${n}`, accessTokenExpiresAt: BASE_TIME + n, authorizationOrder: null }));
    for (const r of records) {
      const { authorization_order: _added, ...row } = grantToRow(r, undefined);
      await db.insertInto('tokenvault_grants').values(row).execute();
    }

    const store = sqliteStore({ filename, ...UNENCRYPTED });
    opened.push(() => store.close());
    await store.ready(); // migrates to the latest
    expect(dueColumns()).toEqual(['state', 'access_token_expires_at', 'grant_id']);
    expect((await store.listDue(BASE_TIME + 10, { limit: 10 })).items).toEqual([
      { grantId: 'g1', at: BASE_TIME + 1 },
      { grantId: 'g2', at: BASE_TIME + 2 },
      { grantId: 'g3', at: BASE_TIME + 3 },
    ]);
    for (const r of records) expect(toPlainGrant(await store.get(r.grantId))).toEqual(toPlainGrant(r));
  });

  it('lets several stores start on one new file at once: one migrates, the others wait and find it done', async () => {
    const { dir, remove } = await tempDir();
    opened.push(remove);
    const filename = join(dir, 'race.db');
    const stores = Array.from({ length: 4 }, () => sqliteStore({ filename, busyTimeoutMs: 5, ...UNENCRYPTED }));
    opened.push(...stores.map((s) => () => s.close()));
    await Promise.all(stores.map((s) => s.ready()));
    const record = makeGrantRecord();
    expect(await stores[0]!.create(record)).toBe(true);
    expect((await stores[3]!.get(record.grantId))?.grantId).toBe(record.grantId);
    expect((stores[1]!.sqliteDatabase as Database.Database).prepare('select count(*) from tokenvault_migration').pluck().get()).toBe(3);
  });

  it('migrate down removes what migrate up created, and up again restores it', async () => {
    const handle = new Database(':memory:');
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: handle }) });
    opened.push(() => db.destroy());
    const migrator = createTokenVaultMigrator(db, { dialect: 'sqlite' });
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    expect((await migrator.migrateTo(NO_MIGRATIONS)).error).toBeUndefined();
    const tables = () => handle.prepare(`select name from sqlite_master where type = 'table' and name like 'tokenvault_%' order by name`).pluck().all();
    expect(tables()).toEqual(['tokenvault_migration', 'tokenvault_migration_lock']);
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    expect(tables()).toEqual(['tokenvault_clients', 'tokenvault_grants', 'tokenvault_migration', 'tokenvault_migration_lock']);
  });
});
