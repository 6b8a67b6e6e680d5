import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret, type GrantRecord, type GrantStore, type Page, type PageRequest } from '@tokenvault/core';
import { BASE_TIME, makeClientRecord, makeGrantRecord, nextGrantRecord, uniqueGrantId } from './grant-record-builder';
import { runGrantStoreModel } from './grant-store-model';
import { toPlainClient, toPlainGrant } from './plain-records';
import type { StoreHarness, StoreHarnessFactory } from './store-harness';

export interface ConformanceOptions {
  /** Random command sequences in the model-based test. Default 100. */
  readonly modelRuns?: number;
  /** Writers racing on one version in the compare-and-set tests. Default 16. */
  readonly concurrentWriters?: number;
}

/**
 * The one conformance suite every {@link GrantStore} adapter runs unchanged: create/get/delete,
 * compare-and-set (of many concurrent writers on one version exactly one wins), lease take / expire /
 * take over, due-list paging and order, large values, unicode and long grant ids, clients, close,
 * corrupt rows, and a model-based test against the memory store. Each test gets a fresh harness.
 *
 * @example
 * describeGrantStoreConformance('sqlite (file)', async () => {
 *   const filename = join(await mkdtemp(join(tmpdir(), 'tv-')), 'grants.db');
 *   const store = sqliteStore({ filename });
 *   return { store, rawRead: (id) => readRow(filename, id), dispose: () => store.close() };
 * });
 */
export function describeGrantStoreConformance(name: string, factory: StoreHarnessFactory, options: ConformanceOptions = {}): void {
  const writers = options.concurrentWriters ?? 16;

  describe(`GrantStore conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: GrantStore;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await h.dispose();
    });

    describe('create / get / delete', () => {
      it('stores a new grant, returns it, and persists exactly it', async () => {
        const record = makeGrantRecord();
        expect(await store.create(record)).toBe(true);
        expect(toPlainGrant(await store.get(record.grantId))).toEqual(toPlainGrant(record));
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(record));
      });

      it('returns frozen records that later writes never change', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        const first = (await store.get(record.grantId)) as GrantRecord;
        expect(Object.isFrozen(first)).toBe(true);
        expect(Object.isFrozen(first.scope)).toBe(true);
        expect(await store.compareAndSet(nextGrantRecord(first, { scope: ['w_voice'] }), 1)).toBe(true);
        expect(toPlainGrant(first)).toEqual(toPlainGrant(record));
      });

      it('keeps no reference to the object it was given', async () => {
        const scope = ['r_profile'];
        const record = makeGrantRecord({ scope });
        await store.create(record);
        scope.push('w_voice');
        expect((await store.get(record.grantId))?.scope).toEqual(['r_profile']);
      });

      it('refuses to create a grant whose id exists, and keeps the stored one', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        expect(await store.create(makeGrantRecord({ grantId: record.grantId, client: 'other' }))).toBe(false);
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(record));
      });

      it('answers undefined for an unknown grant', async () => {
        expect(await store.get(uniqueGrantId('nobody'))).toBeUndefined();
        expect(await h.rawRead(uniqueGrantId('nobody'))).toBeUndefined();
      });

      it.each([
        ['a version below 1', { version: 0 }],
        ['a fractional version', { version: 1.5 }],
        ['an unknown state', { state: 'sleeping' }],
        ['a lease outside "refreshing"', { lease: { owner: 'w', until: BASE_TIME } }],
        ['"refreshing" without a lease', { state: 'refreshing', lease: null }],
        ['"reauthRequired" without a reason', { state: 'reauthRequired', reauthReason: null }],
        ['a token that is not a Secret', { accessToken: 'plain-token' }],
        ['a fractional expiry', { accessTokenExpiresAt: BASE_TIME + 0.5 }],
        ['an empty grant id', { grantId: '' }],
        ['a scope that is not a list of strings', { scope: 'r_profile' }],
      ])('rejects a record with %s as an InvalidArgumentError and stores nothing', async (_label, override) => {
        const record = { ...makeGrantRecord(), ...override } as unknown as GrantRecord;
        await expect(store.create(record)).rejects.toMatchObject({ code: 'invalid_argument', name: 'InvalidArgumentError' });
        if (record.grantId !== '') expect(await h.rawRead(record.grantId)).toBeUndefined();
      });

      it('deletes a grant, then has nothing to delete', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        expect(await store.delete(record.grantId)).toBe(true);
        expect(await store.get(record.grantId)).toBeUndefined();
        expect(await h.rawRead(record.grantId)).toBeUndefined();
        expect(await store.delete(record.grantId)).toBe(false);
      });

      it('deletes at an expected version only when it matches', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        expect(await store.delete(record.grantId, 2)).toBe(false);
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(record));
        expect(await store.delete(record.grantId, 1)).toBe(true);
        expect(await h.rawRead(record.grantId)).toBeUndefined();
      });
    });

    describe('compare-and-set', () => {
      it('replaces the grant at the expected version and persists the new record', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        const next = nextGrantRecord(record, {
          accessToken: new Secret('new-access'),
          accessTokenExpiresAt: BASE_TIME + 7_200_000,
          lastError: { code: 'provider_unavailable', message: 'the provider answered 503', at: BASE_TIME, retryAt: null },
        });
        expect(await store.compareAndSet(next, 1)).toBe(true);
        expect(toPlainGrant(await store.get(record.grantId))).toEqual(toPlainGrant(next));
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(next));
      });

      it('fails on a stale or a future version and leaves the record as it was', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        const v2 = nextGrantRecord(record);
        await store.compareAndSet(v2, 1);
        expect(await store.compareAndSet(nextGrantRecord(record, { client: 'stale' }), 1)).toBe(false);
        expect(await store.compareAndSet(nextGrantRecord({ ...v2, version: 5 }, { client: 'future' }), 5)).toBe(false);
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(v2));
      });

      it('fails on a grant that does not exist, and creates nothing', async () => {
        const record = makeGrantRecord({ version: 3 });
        expect(await store.compareAndSet(nextGrantRecord(record), 3)).toBe(false);
        expect(await h.rawRead(record.grantId)).toBeUndefined();
      });

      it.each([
        ['next.version is not expectedVersion + 1', (r: GrantRecord) => [{ ...r, version: 3 }, 1] as const],
        ['expectedVersion is 0', (r: GrantRecord) => [{ ...r, version: 1 }, 0] as const],
        ['next is malformed', (r: GrantRecord) => [{ ...nextGrantRecord(r), state: 'refreshing', lease: null }, 1] as const],
      ])('rejects a call where %s as an InvalidArgumentError', async (_label, make) => {
        const record = makeGrantRecord();
        await store.create(record);
        const [next, expected] = make(record);
        await expect(store.compareAndSet(next as GrantRecord, expected)).rejects.toMatchObject({ code: 'invalid_argument' });
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(record));
      });

      it(`lets exactly one of ${writers} concurrent writers on one version win`, async () => {
        const record = makeGrantRecord();
        await store.create(record);
        const attempts = Array.from({ length: writers }, (_, i) =>
          nextGrantRecord(record, { state: 'refreshing', lease: { owner: `writer-${i}`, until: BASE_TIME + 30_000 } }),
        );
        const results = await Promise.all(attempts.map((next) => store.compareAndSet(next, 1)));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = attempts[results.indexOf(true)] as GrantRecord;
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(winner));
      });

      it('lets concurrent writers on successive versions all win, in version order', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        let current = record;
        for (let round = 0; round < 5; round++) {
          const attempts = Array.from({ length: 4 }, (_, i) => nextGrantRecord(current, { tokenType: `round-${round}-${i}` }));
          const results = await Promise.all(attempts.map((next) => store.compareAndSet(next, current.version)));
          expect(results.filter(Boolean)).toHaveLength(1);
          current = attempts[results.indexOf(true)] as GrantRecord;
        }
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(current));
        expect(current.version).toBe(6);
      });
    });

    describe('leases', () => {
      const lease = (owner: string, until: number) => ({ state: 'refreshing' as const, lease: { owner, until } });

      it('takes a lease: one writer moves the grant to refreshing, the others lose', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        const a = nextGrantRecord(record, lease('a', BASE_TIME + 30_000));
        const b = nextGrantRecord(record, lease('b', BASE_TIME + 30_000));
        const [wonA, wonB] = await Promise.all([store.compareAndSet(a, 1), store.compareAndSet(b, 1)]);
        expect([wonA, wonB].filter(Boolean)).toHaveLength(1);
        const stored = await store.get(record.grantId);
        expect(stored?.state).toBe('refreshing');
        expect(stored?.lease?.owner).toBe(wonA ? 'a' : 'b');
      });

      it('lists a lease as expired only once its deadline has passed', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        const leased = nextGrantRecord(record, lease('a', BASE_TIME + 30_000));
        await store.compareAndSet(leased, 1);
        const ids = async (now: number) => (await store.listExpiredLeases(now, { limit: 10 })).items.map((r) => r.grantId);
        expect(await ids(BASE_TIME + 29_999)).toEqual([]);
        expect(await ids(BASE_TIME + 30_000)).toEqual([]);
        expect(await ids(BASE_TIME + 30_001)).toEqual([record.grantId]);
      });

      it('lets a new owner take over an expired lease, after which the old owner cannot write', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        const byA = nextGrantRecord(record, lease('a', BASE_TIME + 30_000));
        await store.compareAndSet(byA, 1);
        const byB = nextGrantRecord(byA, lease('b', BASE_TIME + 90_000));
        expect(await store.compareAndSet(byB, byA.version)).toBe(true);
        const releasedByA = nextGrantRecord(byA, { state: 'authorized', lease: null, accessToken: new Secret('from-a') });
        expect(await store.compareAndSet(releasedByA, byA.version)).toBe(false);
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(byB));
        expect((await store.listExpiredLeases(BASE_TIME + 60_000, { limit: 10 })).items).toEqual([]);
      });

      it('pages expired leases by (deadline, grant id)', async () => {
        const tag = uniqueGrantId('lease');
        const deadlines = { [`${tag}-d`]: 10, [`${tag}-b`]: 20, [`${tag}-a`]: 20, [`${tag}-c`]: 100 };
        for (const [grantId, until] of Object.entries(deadlines)) {
          await store.create(makeGrantRecord({ grantId, ...lease('w', BASE_TIME + until) }));
        }
        await store.create(makeGrantRecord({ grantId: `${tag}-authorized` }));
        const items = await collect((page) => store.listExpiredLeases(BASE_TIME + 50, page), 2);
        // Keys, each with its lease's end: nothing else (a sweep reads the grant again anyway).
        expect(items).toEqual([
          { grantId: `${tag}-d`, at: BASE_TIME + 10 },
          { grantId: `${tag}-a`, at: BASE_TIME + 20 },
          { grantId: `${tag}-b`, at: BASE_TIME + 20 },
        ]);
      });
    });

    describe('due list', () => {
      const before = BASE_TIME + 500;

      async function seedDue(tag: string) {
        const make = (suffix: string, overrides: Partial<GrantRecord>) => makeGrantRecord({ grantId: `${tag}-${suffix}`, ...overrides });
        const records = [
          make('a1', { accessTokenExpiresAt: BASE_TIME + 100 }),
          make('a2', { accessTokenExpiresAt: BASE_TIME + 100 }),
          make('a3', { accessTokenExpiresAt: BASE_TIME + 50 }),
          make('a4', { accessTokenExpiresAt: BASE_TIME + 1_000 }),
          make('a5', { accessTokenExpiresAt: before }),
          make('a6', { accessTokenExpiresAt: null }),
          make('r1', { state: 'refreshing', accessTokenExpiresAt: BASE_TIME + 10 }),
          make('x1', { state: 'reauthRequired', accessTokenExpiresAt: BASE_TIME + 10 }),
          make('u1', { state: 'unauthorized', accessTokenExpiresAt: BASE_TIME + 10 }),
        ];
        for (const r of records) await store.create(r);
        return records;
      }

      it('lists authorized grants expiring strictly before the bound, by (expiry, grant id)', async () => {
        const tag = uniqueGrantId('due');
        await seedDue(tag);
        for (const limit of [1, 2, 3, 10]) {
          const items = await collect((page) => store.listDue(before, page), limit);
          // Keys, each with its access token's expiry: nothing else.
          expect(items).toEqual([
            { grantId: `${tag}-a3`, at: BASE_TIME + 50 },
            { grantId: `${tag}-a1`, at: BASE_TIME + 100 },
            { grantId: `${tag}-a2`, at: BASE_TIME + 100 },
          ]);
        }
      });

      it('sets a cursor only while there is more, and pages hold at most the limit', async () => {
        const tag = uniqueGrantId('due');
        await seedDue(tag);
        const first = await store.listDue(before, { limit: 2 });
        expect(first.items).toHaveLength(2);
        expect(first.cursor).toEqual(expect.any(String));
        const second = await store.listDue(before, { limit: 2, cursor: first.cursor });
        expect(second.items.map((r) => r.grantId)).toEqual([`${tag}-a2`]);
        expect(second.cursor).toBeUndefined();
        const exact = await store.listDue(before, { limit: 3 });
        expect(exact.items).toHaveLength(3);
        expect(exact.cursor).toBeUndefined();
      });

      it('neither repeats nor skips grants refreshed or added while paging', async () => {
        const tag = uniqueGrantId('due');
        await seedDue(tag);
        const first = await store.listDue(before, { limit: 1 });
        expect(first.items.map((r) => r.grantId)).toEqual([`${tag}-a3`]);
        const seen = (await store.get(`${tag}-a3`)) as GrantRecord;
        // The sweep refreshes what it saw: its new expiry is past the bound.
        await store.compareAndSet(nextGrantRecord(seen, { accessTokenExpiresAt: BASE_TIME + 10_000 }), seen.version);
        // Newly due grants: one behind the cursor (a later sweep finds it), one ahead of it.
        await store.create(makeGrantRecord({ grantId: `${tag}-b1`, accessTokenExpiresAt: BASE_TIME + 40 }));
        await store.create(makeGrantRecord({ grantId: `${tag}-b2`, accessTokenExpiresAt: BASE_TIME + 200 }));
        const rest = await collect((page) => store.listDue(before, page), 1, first.cursor);
        expect(rest.map((r) => r.grantId)).toEqual([`${tag}-a1`, `${tag}-a2`, `${tag}-b2`]);
      });

      it('returns an empty page with no cursor when nothing is due', async () => {
        const page = await store.listDue(BASE_TIME, { limit: 10 });
        expect(page.items).toEqual([]);
        expect(page.cursor).toBeUndefined();
      });

      it.each([
        ['a limit of 0', { limit: 0 }],
        ['a limit above 10,000', { limit: 10_001 }],
        ['a fractional limit', { limit: 1.5 }],
        ['a cursor that is not one', { limit: 1, cursor: 'not a cursor!' }],
        ['a cursor of another listing', { limit: 1, cursor: 'WyJnIiwiYSJd' }],
      ])('rejects %s as an InvalidArgumentError', async (_label, page) => {
        await expect(store.listDue(before, page as PageRequest)).rejects.toMatchObject({ code: 'invalid_argument' });
      });

      it('accepts the largest page and refuses a time that is not integer epoch ms', async () => {
        await expect(store.listDue(before, { limit: 10_000 })).resolves.toMatchObject({ items: [] });
        await expect(store.listDue(Number.NaN, { limit: 1 })).rejects.toMatchObject({ code: 'invalid_argument' });
        await expect(store.listExpiredLeases(1.5, { limit: 1 })).rejects.toMatchObject({ code: 'invalid_argument' });
      });

      it('refuses a listDue cursor in list, and the reverse', async () => {
        const tag = uniqueGrantId('due');
        await seedDue(tag);
        const due = await store.listDue(before, { limit: 1 });
        await expect(store.list({}, { limit: 1, cursor: due.cursor })).rejects.toMatchObject({ code: 'invalid_argument' });
        const listed = await store.list({}, { limit: 1 });
        await expect(store.listDue(before, { limit: 1, cursor: listed.cursor })).rejects.toMatchObject({ code: 'invalid_argument' });
      });
    });

    describe('list / count / findByStateHash', () => {
      it('lists by grant id with filters on state and client, and counts the same', async () => {
        const tag = uniqueGrantId('list');
        const specs = [
          ['e', 'mixi', 'authorized'],
          ['a', 'mixi', 'unauthorized'],
          ['d', 'other', 'authorized'],
          ['b', 'other', 'reauthRequired'],
          ['c', 'mixi', 'refreshing'],
        ] as const;
        for (const [suffix, client, state] of specs) await store.create(makeGrantRecord({ grantId: `${tag}-${suffix}`, client, state }));
        const ids = async (filter: Parameters<GrantStore['list']>[0]) => {
          const items = await collect((page) => store.list(filter, page), 2);
          expect(await store.count(filter)).toBe(items.length);
          return items.map((r) => r.grantId.slice(tag.length + 1)).join('');
        };
        expect(await ids({})).toBe('abcde');
        expect(await ids({ state: 'authorized' })).toBe('de');
        expect(await ids({ state: ['authorized', 'refreshing'] })).toBe('cde');
        expect(await ids({ state: [] })).toBe('');
        expect(await ids({ client: 'mixi' })).toBe('ace');
        expect(await ids({ client: 'mixi', state: 'authorized' })).toBe('e');
        expect(await ids({ client: 'nobody' })).toBe('');
      });

      it('rejects an unknown state in a filter', async () => {
        await expect(store.list({ state: 'sleeping' as never }, { limit: 1 })).rejects.toMatchObject({ code: 'invalid_argument' });
        await expect(store.count({ state: ['authorized', 'sleeping' as never] })).rejects.toMatchObject({ code: 'invalid_argument' });
      });

      it('finds a grant by its pending state hash while the authorization is pending', async () => {
        const hash = uniqueGrantId('hash');
        const pending = {
          stateHash: hash,
          deadline: BASE_TIME + 180_000,
          scope: ['r_profile'],
          redirectUri: 'https://app.example/cb',
          codeVerifier: new Secret('verifier'),
          serverState: new Secret('server-state'),
        };
        const record = makeGrantRecord({ state: 'awaitingCode', pending, accessToken: null, refreshToken: null });
        await store.create(record);
        expect(toPlainGrant(await store.findByStateHash(hash))).toEqual(toPlainGrant(record));
        expect(await store.findByStateHash(`${hash}-other`)).toBeUndefined();
        const done = nextGrantRecord(record, { state: 'authorized', pending: null, accessToken: new Secret('at') });
        await store.compareAndSet(done, 1);
        expect(await store.findByStateHash(hash)).toBeUndefined();
        const again = nextGrantRecord(done, { pending: { ...pending, stateHash: `${hash}-2` } });
        await store.compareAndSet(again, 2);
        expect((await store.findByStateHash(`${hash}-2`))?.version).toBe(3);
      });

      it('refuses to give a second grant the same pending state hash, as a StoreError that changes nothing', async () => {
        const hash = uniqueGrantId('hash');
        const pending = { stateHash: hash, deadline: BASE_TIME, scope: [], redirectUri: 'https://a/cb', codeVerifier: null, serverState: null };
        const holder = makeGrantRecord({ state: 'awaitingCode', pending });
        const other = makeGrantRecord();
        await store.create(holder);
        await store.create(other);
        await expect(store.create(makeGrantRecord({ pending }))).rejects.toMatchObject({ code: 'store_error', name: 'StoreError' });
        await expect(store.compareAndSet(nextGrantRecord(other, { pending }), 1)).rejects.toMatchObject({ code: 'store_error' });
        expect(await h.rawRead(other.grantId)).toEqual(toPlainGrant(other));
        expect(toPlainGrant(await store.findByStateHash(hash))).toEqual(toPlainGrant(holder));
        // The holder itself may keep its hash across writes.
        expect(await store.compareAndSet(nextGrantRecord(holder), 1)).toBe(true);
        expect(await store.count({})).toBe(2);
      });
    });

    describe('values: large, unicode, long ids', () => {
      it('round-trips large tokens, scopes and messages exactly', async () => {
        const big = 'x'.repeat(256 * 1024);
        const record = makeGrantRecord({
          accessToken: new Secret(big),
          refreshToken: new Secret(`${big}-r`),
          idToken: new Secret('e'.repeat(64 * 1024)),
          scope: Array.from({ length: 1_000 }, (_, i) => `scope_${i}`),
          state: 'reauthRequired',
          reauthReason: 'refresh_token_rejected',
          lastError: { code: 'invalid_grant', message: '失敗 '.repeat(20_000), at: BASE_TIME, retryAt: BASE_TIME + 1 },
        });
        await store.create(record);
        expect(toPlainGrant(await store.get(record.grantId))).toEqual(toPlainGrant(record));
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(record));
      });

      it('round-trips unicode everywhere text is kept', async () => {
        const text = 'ミクシィ 😀 é a\u0301 \u{10FFFF} "quotes" \\ \n\t';
        const record = makeGrantRecord({
          grantId: uniqueGrantId(text),
          client: `クライアント-${text}`,
          scope: [text, 'r_profile'],
          accessToken: new Secret(text),
          tokenType: text,
          state: 'refreshing',
          lease: { owner: text, until: BASE_TIME },
          lastError: { code: text, message: text, at: BASE_TIME, retryAt: null },
          pending: { stateHash: uniqueGrantId(text), deadline: BASE_TIME, scope: [text], redirectUri: `https://例え.jp/${text}`, codeVerifier: new Secret(text), serverState: null },
        });
        await store.create(record);
        expect(toPlainGrant(await store.get(record.grantId))).toEqual(toPlainGrant(record));
        expect(await h.rawRead(record.grantId)).toEqual(toPlainGrant(record));
      });

      it('orders unicode grant ids by code point (UTF-8 byte order) in every listing', async () => {
        const tag = uniqueGrantId('uni');
        const suffixes = ['b', 'B', 'a', 'é', 'a\u0301', '日本', '\uFFFD', '\u{1F600}', '\u{10FFFF}', 'Z', '~', 'ﬀ', ''];
        const ids = suffixes.map((s) => `${tag}:${s}`);
        for (const grantId of ids) await store.create(makeGrantRecord({ grantId, accessTokenExpiresAt: BASE_TIME }));
        const byBytes = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8')));
        expect((await collect((page) => store.list({}, page), 4)).map((r) => r.grantId)).toEqual(byBytes);
        expect((await collect((page) => store.listDue(BASE_TIME + 1, page), 3)).map((r) => r.grantId)).toEqual(byBytes);
      });

      it('accepts grant ids up to 1,024 UTF-8 bytes and refuses longer ones', async () => {
        const longest = `${uniqueGrantId('long')}-${'あ'.repeat(300)}`;
        const id = longest + 'x'.repeat(1024 - Buffer.byteLength(longest, 'utf8'));
        expect(Buffer.byteLength(id, 'utf8')).toBe(1024);
        const record = makeGrantRecord({ grantId: id });
        expect(await store.create(record)).toBe(true);
        expect(toPlainGrant(await store.get(id))).toEqual(toPlainGrant(record));
        expect(await h.rawRead(id)).toEqual(toPlainGrant(record));
        expect((await store.list({}, { limit: 10 })).items.map((r) => r.grantId)).toEqual([id]);
        await expect(store.create(makeGrantRecord({ grantId: `${id}x` }))).rejects.toMatchObject({ code: 'invalid_argument' });
      });

      it.each([
        ['a NUL character', 'nul\u0000id'],
        ['a lone surrogate', 'lone\uD800id'],
      ])('refuses a grant id with %s, which no database keeps intact', async (_label, grantId) => {
        await expect(store.create(makeGrantRecord({ grantId }))).rejects.toMatchObject({ code: 'invalid_argument' });
        expect(await store.count({})).toBe(0);
      });
    });

    describe('clients', () => {
      it('puts, replaces, lists by id and deletes clients', async () => {
        const b = makeClientRecord({ id: 'b-client', providerOptions: { tokenEndpoint: 'https://x/token', nested: { n: [1, 'two', null] } } });
        const a = makeClientRecord({ id: 'a-client' });
        await store.putClient(b);
        await store.putClient(a);
        expect(toPlainClient(await store.getClient('b-client'))).toEqual(toPlainClient(b));
        const replaced = { ...a, clientSecret: new Secret('re-issued'), updatedAt: BASE_TIME + 1 };
        await store.putClient(replaced);
        expect(toPlainClient(await store.getClient('a-client'))).toEqual(toPlainClient(replaced));
        expect((await store.listClients()).map((c) => toPlainClient(c))).toEqual([toPlainClient(replaced), toPlainClient(b)]);
        expect(await store.deleteClient('a-client')).toBe(true);
        expect(await store.deleteClient('a-client')).toBe(false);
        expect(await store.getClient('a-client')).toBeUndefined();
        expect((await store.listClients()).map((c) => c.id)).toEqual(['b-client']);
      });

      it('refuses a client whose secret is not a Secret', async () => {
        const bad = { ...makeClientRecord(), clientSecret: 'plain' } as never;
        await expect(store.putClient(bad)).rejects.toMatchObject({ code: 'invalid_argument' });
        expect(await store.listClients()).toEqual([]);
      });
    });

    describe('close', () => {
      it('rejects every call after close with a StoreError; closing twice is fine', async () => {
        const record = makeGrantRecord();
        await store.create(record);
        await store.close();
        await store.close();
        const page = { limit: 1 };
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['get', () => store.get(record.grantId)],
          ['create', () => store.create(makeGrantRecord())],
          ['compareAndSet', () => store.compareAndSet(nextGrantRecord(record), 1)],
          ['delete', () => store.delete(record.grantId)],
          ['findByStateHash', () => store.findByStateHash('h')],
          ['listDue', () => store.listDue(BASE_TIME, page)],
          ['listExpiredLeases', () => store.listExpiredLeases(BASE_TIME, page)],
          ['list', () => store.list({}, page)],
          ['count', () => store.count({})],
          ['getClient', () => store.getClient('c')],
          ['putClient', () => store.putClient(makeClientRecord())],
          ['deleteClient', () => store.deleteClient('c')],
          ['listClients', () => store.listClients()],
        ];
        for (const [method, call] of calls) {
          await expect(call(), method).rejects.toMatchObject({ code: 'store_error', name: 'StoreError' });
        }
      });
    });

    describe('corrupt rows', () => {
      it('reports a corrupt row as a CorruptRecordError naming the grant, without its secrets', async (ctx) => {
        if (!h.corrupt) return ctx.skip();
        const good = makeGrantRecord({ accessTokenExpiresAt: BASE_TIME + 1 });
        const bad = makeGrantRecord({ accessTokenExpiresAt: BASE_TIME + 2, accessToken: new Secret('secret-token-value') });
        await store.create(good);
        await store.create(bad);
        await h.corrupt(bad.grantId);
        const error = await store.get(bad.grantId).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toMatchObject({ code: 'store_corrupt_record', name: 'CorruptRecordError', key: bad.grantId });
        expect(String((error as Error).message)).not.toContain('secret-token-value');
        expect(JSON.stringify(error)).not.toContain('secret-token-value');
        expect(toPlainGrant(await store.get(good.grantId))).toEqual(toPlainGrant(good));
      });

      it('skips a corrupt row in listings, reports it, and pages past it', async (ctx) => {
        if (!h.corrupt) return ctx.skip();
        const tag = uniqueGrantId('corrupt');
        const records = [1, 2, 3].map((n) => makeGrantRecord({ grantId: `${tag}-${n}`, accessTokenExpiresAt: BASE_TIME + n }));
        for (const r of records) await store.create(r);
        await h.corrupt(`${tag}-2`);
        const unreadable: string[] = [];
        const items = await collect((p) => store.list({}, p), 1, undefined, (page) => unreadable.push(...(page.unreadable ?? []).map((e) => e.key)));
        expect(items.map((r) => r.grantId)).toEqual([`${tag}-1`, `${tag}-3`]);
        expect(unreadable).toEqual([`${tag}-2`]);
        expect(await store.count({})).toBe(3);
        // The due listing hands out keys, which are intact: the sweep meets the damage when it reads
        // the grant, and reports it then.
        const due = await collect((p) => store.listDue(BASE_TIME + 10, p), 1);
        expect(due.map((r) => r.grantId)).toEqual([`${tag}-1`, `${tag}-2`, `${tag}-3`]);
        await expect(store.get(`${tag}-2`)).rejects.toMatchObject({ code: 'store_corrupt_record', key: `${tag}-2` });
      });
    });

    describe('model-based', () => {
      it(
        `agrees with the memory store on ${options.modelRuns ?? 100} random command sequences`,
        () => runGrantStoreModel(factory, { numRuns: options.modelRuns ?? 100 }),
        300_000,
      );
    });
  });
}

/** Every item of a listing, walking its pages `limit` at a time (from `cursor`, when given). */
async function collect<T>(
  list: (page: PageRequest) => Promise<Page<T>>,
  limit: number,
  cursor?: string,
  onPage?: (page: Page<T>) => void,
): Promise<T[]> {
  const items: T[] = [];
  let next = cursor;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await list({ limit, cursor: next });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    onPage?.(page);
    items.push(...page.items);
    next = page.cursor;
    if (next === undefined) return items;
  }
  return expect.fail('a listing did not end after 10,000 pages');
}
