import { inspect } from 'node:util';
import { Kysely, PostgresDialect, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '@tokenvault/core';
import { makeGrantRecord, nextGrantRecord, toPlainGrant } from '@tokenvault/store-conformance';
import { kyselyStore, migrateToLatest, postgresStore } from '../src/index';
import { INT64_GRANT_COLUMNS } from '../src/row-mapping';
import { describePostgres, dropSchema, POSTGRES_URL, postgresHarness, randomSchema, withClient } from './support/postgres-harness';
import { UNENCRYPTED } from './support/unencrypted';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness() {
  const h = await postgresHarness();
  cleanups.push(() => h.dispose());
  return h;
}

/**
 * Throws a "connection lost" error (SQLSTATE 57P01, as pg_terminate_backend gives) after the first
 * UPDATE has run: the write committed but its answer never arrived.
 */
class LoseFirstUpdateAnswer implements KyselyPlugin {
  lost = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.lost === 0 && args.result.numAffectedRows !== undefined && args.result.numAffectedRows > 0n) {
      this.lost++;
      throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    }
    return args.result;
  }
}

describePostgres('postgresStore', () => {
  it('leaves the previous record when a trigger refuses a write; the StoreError shows no row values', async () => {
    const h = await harness();
    const record = makeGrantRecord({ accessToken: new Secret('pg-token-that-must-not-leak') });
    await h.store.create(record);
    await withClient(async (c) => {
      await c.query(`create function "${h.schema}".refuse() returns trigger language plpgsql as $$
        begin raise exception 'refused by trigger' using detail = 'row: ' || old.access_token; end $$`);
      await c.query(`create trigger refuse before update on "${h.schema}".tokenvault_grants
        for each row when (new.state = 'reauthRequired') execute function "${h.schema}".refuse()`);
    });
    const dead = nextGrantRecord(record, { state: 'reauthRequired', reauthReason: 'token_revoked', accessToken: null });
    const error = await h.store.compareAndSet(dead, 1).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'store_error', name: 'StoreError', cause: { code: 'P0001' } });
    expect((error as Error).message).toContain('refused by trigger');
    expect(`${inspect(error, { depth: 10 })} ${JSON.stringify(error)} ${String(error)}`).not.toContain('pg-token-that-must-not-leak');
    expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(record));
  });

  it('survives its connections being terminated: the next calls reconnect and succeed', async () => {
    const schema = randomSchema();
    const appName = `tv_${schema}`;
    const store = postgresStore({ connectionString: `${POSTGRES_URL}?application_name=${appName}`, schema, maxConnections: 4, ...UNENCRYPTED });
    cleanups.push(() => dropSchema(schema), () => store.close());
    const record = makeGrantRecord();
    await store.create(record);
    await Promise.all([store.get(record.grantId), store.get(record.grantId), store.count({})]);
    const terminated = await withClient(
      async (c) => (await c.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [appName])).rowCount,
    );
    expect(terminated).toBeGreaterThan(0);
    expect(await store.compareAndSet(nextGrantRecord(record), 1)).toBe(true);
    expect((await store.get(record.grantId))?.version).toBe(2);
  });

  it('reports success when a retried write finds its own change already committed', async () => {
    const schema = randomSchema();
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    const plugin = new LoseFirstUpdateAnswer();
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }), plugins: [plugin] });
    cleanups.push(() => dropSchema(schema), () => db.destroy());
    await migrateToLatest(db, { dialect: 'postgres', schema });
    const store = kyselyStore({ db, dialect: 'postgres', schema });
    const record = makeGrantRecord();
    await store.create(record);
    plugin.lost = 0;
    const next = nextGrantRecord(record, { accessToken: new Secret('rotated') });
    expect(await store.compareAndSet(next, 1)).toBe(true);
    expect(plugin.lost).toBe(1);
    expect(toPlainGrant(await store.get(record.grantId))).toEqual(toPlainGrant(next));
    // A competing writer's change is not mistaken for ours: the retry must then say false.
    plugin.lost = 0;
    const ours = nextGrantRecord(next, { tokenType: 'ours' });
    await withClient((c) => c.query(`update "${schema}".tokenvault_grants set version = 3, token_type = 'theirs' where grant_id = $1`, [record.grantId]));
    expect(await store.compareAndSet(ours, 2)).toBe(false);
  });

  describe('group commit', () => {
    /** A store on its own Kysely instance that counts the grouped UPDATE statements it runs. */
    async function countingStore(plugins: KyselyPlugin[] = []) {
      const schema = randomSchema();
      const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
      const counted = { grouped: 0, statements: 0 };
      const db = new Kysely<any>({
        dialect: new PostgresDialect({ pool }),
        plugins,
        log: (event) => {
          counted.statements++;
          if (/^with v\(k, g, /.test(event.query.sql)) counted.grouped++;
        },
      });
      cleanups.push(() => dropSchema(schema), () => db.destroy());
      await migrateToLatest(db, { dialect: 'postgres', schema });
      const store = kyselyStore({ db, dialect: 'postgres', schema });
      const records = Array.from({ length: 16 }, (_, i) => makeGrantRecord({ grantId: `group-${String(i).padStart(3, '0')}` }));
      for (const r of records) await store.create(r);
      return { store, schema, records, counted };
    }

    const versions = (schema: string) =>
      withClient(async (c) => (await c.query(`select grant_id, version from "${schema}".tokenvault_grants order by grant_id`)).rows.map((r) => `${r.grant_id}@${r.version}`));

    it('writes the compare-and-sets asked for in one turn with one statement, each answered for itself', async () => {
      const { store, schema, records, counted } = await countingStore();
      counted.statements = 0;
      const together = await Promise.all(records.map((r) => store.compareAndSet(nextGrantRecord(r, { accessToken: new Secret(`new-${r.grantId}`) }), 1)));
      expect(together).toEqual(records.map(() => true));
      expect(counted).toEqual({ grouped: 1, statements: 1 });
      expect(await versions(schema)).toEqual(records.map((r) => `${r.grantId}@2`));
      expect((await store.get('group-007'))?.accessToken?.reveal()).toBe('new-group-007');
      // Alone, a write is the single statement it always was.
      expect(await store.compareAndSet(nextGrantRecord(nextGrantRecord(records[0]!)), 2)).toBe(true);
      expect(counted.grouped).toBe(1);
    });

    it('gives one of two same-version rivals in one turn the write (they go in separate statements)', async () => {
      const { store, schema, records, counted } = await countingStore();
      counted.statements = 0;
      const results = await Promise.all([
        store.compareAndSet(nextGrantRecord(records[0]!), 1),
        store.compareAndSet(nextGrantRecord(records[0]!, { tokenType: 'rival' }), 1),
        store.compareAndSet(nextGrantRecord(records[1]!), 1),
      ]);
      expect(results).toEqual([true, false, true]);
      expect(counted.statements).toBe(2);
      expect((await store.get(records[0]!.grantId))?.tokenType).toBe(records[0]!.tokenType);
      expect((await versions(schema)).slice(0, 3)).toEqual(['group-000@2', 'group-001@2', 'group-002@1']);
    });

    it('fails a state-hash clash alone: the rest of its statement is written', async () => {
      const { store, schema, records } = await countingStore();
      const pending = { stateHash: 'h-group', deadline: 0, scope: [], redirectUri: 'https://a/cb', codeVerifier: null, serverState: null };
      const awaiting = { state: 'awaitingCode', accessToken: null, refreshToken: null, accessTokenExpiresAt: null, pending } as const;
      await store.compareAndSet(nextGrantRecord(records[15]!, awaiting), 1);
      const results = await Promise.allSettled([
        store.compareAndSet(nextGrantRecord(records[0]!), 1),
        store.compareAndSet(nextGrantRecord(records[1]!, awaiting), 1),
        store.compareAndSet(nextGrantRecord(records[2]!), 1),
      ]);
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code: string }).code))).toEqual([true, 'store_error', true]);
      expect((await versions(schema)).slice(0, 3)).toEqual(['group-000@2', 'group-001@1', 'group-002@2']);
    });

    it('after losing the answer of a committed group, every member reads back that its write landed', async () => {
      const plugin = new LoseFirstUpdateAnswer();
      const { store, schema, records, counted } = await countingStore([plugin]);
      plugin.lost = 0;
      const written = await Promise.all(records.slice(0, 4).map((r) => store.compareAndSet(nextGrantRecord(r), 1)));
      expect(plugin.lost).toBe(1);
      expect(counted.grouped).toBeGreaterThanOrEqual(1);
      expect(written).toEqual([true, true, true, true]);
      expect((await versions(schema)).slice(0, 5)).toEqual(['group-000@2', 'group-001@2', 'group-002@2', 'group-003@2', 'group-004@1']);
    });

    it('sends what was asked before close(), then refuses', async () => {
      const { store, schema, records } = await countingStore();
      const writes = records.map((r) => store.compareAndSet(nextGrantRecord(r), 1));
      await store.close();
      expect(await Promise.all(writes)).toEqual(records.map(() => true));
      expect(await versions(schema)).toEqual(records.map((r) => `${r.grantId}@2`));
      await expect(store.compareAndSet(nextGrantRecord(nextGrantRecord(records[0]!)), 2)).rejects.toMatchObject({ code: 'store_error' });
    });

    it('reads the grants asked for in one turn with one statement, each caller getting its own', async () => {
      const { store, records, counted } = await countingStore();
      counted.statements = 0;
      const ids = [...records.map((r) => r.grantId), 'no-such-grant', records[3]!.grantId];
      const read = await Promise.all(ids.map((id) => store.get(id)));
      expect(counted.statements).toBe(1);
      expect(read.slice(0, 16).map((r) => r && toPlainGrant(r))).toEqual(records.map(toPlainGrant));
      expect(read[16]).toBeUndefined();
      expect(read[17] && toPlainGrant(read[17])).toEqual(toPlainGrant(records[3]!));
      // Alone, a read is one statement too, and sees the latest write.
      await store.compareAndSet(nextGrantRecord(records[0]!, { tokenType: 'later' }), 1);
      expect((await store.get(records[0]!.grantId))?.tokenType).toBe('later');
    });

    it('fails a batched read whose answer is lost, and each caller’s retry reads again', async () => {
      class LoseFirstBatchedRead implements KyselyPlugin {
        lost = 0;
        transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
          return args.node;
        }
        async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
          if (this.lost === 0 && args.result.rows.length > 1) {
            this.lost++;
            throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
          }
          return args.result;
        }
      }
      const plugin = new LoseFirstBatchedRead();
      const { store, records, counted } = await countingStore([plugin]);
      plugin.lost = 0;
      counted.statements = 0;
      const read = await Promise.all(records.slice(0, 4).map((r) => store.get(r.grantId)));
      expect(plugin.lost).toBe(1);
      expect(counted.statements).toBeGreaterThanOrEqual(2);
      expect(read.map((r) => r && toPlainGrant(r))).toEqual(records.slice(0, 4).map(toPlainGrant));
    });

    it('answers the reads asked for before close(), even when close() ends the pool', async () => {
      const { store: counting, schema, records } = await countingStore();
      await counting.ready();
      // The same tables through a store that ends its Kysely instance (and pool) on close.
      const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: POSTGRES_URL, max: 2 }) }) });
      cleanups.push(() => db.destroy());
      const store = kyselyStore({ db, dialect: 'postgres', schema, destroyOnClose: true });
      await store.ready();
      const reads = records.map((r) => store.get(r.grantId));
      await store.close();
      expect((await Promise.all(reads)).map((r) => r?.grantId)).toEqual(records.map((r) => r.grantId));
    });

    it('names the types of the migrated table: INT64_GRANT_COLUMNS are its bigint columns', async () => {
      const { schema } = await countingStore();
      const bigints = await withClient(
        async (c) =>
          (await c.query(`select column_name from information_schema.columns where table_schema = $1 and table_name = 'tokenvault_grants' and data_type = 'bigint' order by column_name`, [schema])).rows.map(
            (r) => r.column_name as string,
          ),
      );
      expect(bigints).toEqual([...INT64_GRANT_COLUMNS].sort());
    });
  });

  it('imports with createMany in batched transactions, skipping existing ids and rolling back a conflicting chunk', async () => {
    const h = await harness();
    const existing = makeGrantRecord({ grantId: 'bulk-0003' });
    await h.store.create(existing);
    const records = Array.from({ length: 1_200 }, (_, i) => makeGrantRecord({ grantId: `bulk-${String(i).padStart(4, '0')}` }));
    expect(await h.store.createMany(records, { chunkSize: 700 })).toBe(1_199);
    expect(await h.store.count({})).toBe(1_200);
    expect(toPlainGrant(await h.store.get('bulk-0003'))).toEqual(toPlainGrant(existing));
    expect(await h.rawRead('bulk-1199')).toEqual(toPlainGrant(records[1_199]!));
    const pending = { stateHash: 'h-bulk', deadline: 1, scope: [], redirectUri: 'https://a/cb', codeVerifier: null, serverState: null };
    await expect(h.store.createMany([makeGrantRecord({ pending }), makeGrantRecord({ pending })])).rejects.toMatchObject({ code: 'store_error' });
    expect(await h.store.count({})).toBe(1_200);
  });

  it('leaves a pool it was given open on close', async () => {
    const schema = randomSchema();
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    pool.on('error', () => undefined);
    cleanups.push(() => dropSchema(schema), () => pool.end());
    const store = postgresStore({ pool, schema, ...UNENCRYPTED });
    await store.create(makeGrantRecord());
    await store.close();
    await expect(pool.query('select 1 as one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  it('keeps its tables and its own migration tables in the schema it was given', async () => {
    const h = await harness();
    const tables = await withClient(
      async (c) => (await c.query('select table_name from information_schema.tables where table_schema = $1 order by table_name', [h.schema])).rows.map((r: { table_name: string }) => r.table_name),
    );
    expect(tables).toEqual(['tokenvault_clients', 'tokenvault_grants', 'tokenvault_migration', 'tokenvault_migration_lock']);
  });

  it('sorts grant ids by code point even where the database collation would not', async () => {
    const h = await harness();
    const ids = ['a', 'B', 'b', 'é', 'Z', '_', '日'].map((s) => `c-${s}`);
    for (const grantId of ids) await h.store.create(makeGrantRecord({ grantId }));
    const listed = (await h.store.list({}, { limit: 100 })).items.map((r) => r.grantId);
    expect(listed).toEqual([...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
  });
});
