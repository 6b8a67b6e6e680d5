import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createVault, generateEncryptionKey, providers, Secret } from '@tokenvault/core';
import { makeClientRecord, makeGrantRecord } from '@tokenvault/store-conformance';
import { type DialectFixture, postgresFixture, sqliteFixture } from './support/dialect-fixture';
import { describePostgres } from './support/postgres-harness';

const A = generateEncryptionKey({ id: 'A' });
const B = generateEncryptionKey({ id: 'B' });
const C = generateEncryptionKey({ id: 'C' });
const ALICE_TOKEN = 'alice-canary-token-5e4d3c2b1a09';
const BOB_TOKEN = 'bob-canary-token-0a1b2c3d4e5f6';
const SECRET = 'client-canary-secret-9f8e7d6c5b4a';

/** Everything a thrown error shows: message, JSON, inspect (with causes), stack. */
function shown(error: unknown): string {
  return [String(error), JSON.stringify(error), inspect(error, { depth: 10, showHidden: true }), (error as Error).stack ?? ''].join('\n');
}

function tamperSuite(name: string, makeFixture: () => Promise<DialectFixture>): void {
  describe(`tampering is a typed error, never plaintext (${name})`, () => {
    let fx: DialectFixture;
    afterEach(() => fx.dispose());

    async function seeded() {
      fx = await makeFixture();
      const store = fx.open({ keys: [A] });
      await store.create(makeGrantRecord({ grantId: 'alice', accessToken: new Secret(ALICE_TOKEN), refreshToken: new Secret(`${ALICE_TOKEN}-rt`) }));
      await store.create(makeGrantRecord({ grantId: 'bob', accessToken: new Secret(BOB_TOKEN), refreshToken: new Secret(`${BOB_TOKEN}-rt`) }));
      await store.putClient(makeClientRecord({ id: 'mixi', clientSecret: new Secret(SECRET) }));
      return store;
    }

    async function expectCorrupt(read: Promise<unknown>, key: string, cause: string): Promise<void> {
      const error = await read.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, 'the read should have failed').toMatchObject({ code: 'store_corrupt_record', key });
      expect((error as Error).message).toContain(cause);
      for (const secret of [ALICE_TOKEN, BOB_TOKEN, SECRET]) expect(shown(error)).not.toContain(secret);
    }

    it('a flipped ciphertext character', async () => {
      const store = await seeded();
      const [row] = await fx.sql('select access_token from tokenvault_grants where grant_id = ?', ['alice']);
      const stored = String(row?.access_token);
      const i = stored.length - 10;
      await fx.sql('update tokenvault_grants set access_token = ? where grant_id = ?', [stored.slice(0, i) + (stored[i] === 'A' ? 'B' : 'A') + stored.slice(i + 1), 'alice']);
      await expectCorrupt(store.get('alice'), 'alice', '"access_token" could not be decoded (DecryptionFailedError)');
      // Listings leave the row out and name it, so a sweep never stalls on it.
      const page = await store.list({}, { limit: 10 });
      expect(page.items.map((g) => g.grantId)).toEqual(['bob']);
      expect(page.unreadable).toEqual([expect.objectContaining({ key: 'alice' })]);
      expect((await store.get('bob'))?.accessToken?.reveal()).toBe(BOB_TOKEN);
    });

    it('a row swapped between grants (each ciphertext is bound to its own grant)', async () => {
      const store = await seeded();
      const rows = await fx.sql('select grant_id, access_token, refresh_token from tokenvault_grants order by grant_id');
      const [alice, bob] = rows as [Record<string, unknown>, Record<string, unknown>];
      await fx.sql('update tokenvault_grants set access_token = ?, refresh_token = ? where grant_id = ?', [bob.access_token, bob.refresh_token, 'alice']);
      await fx.sql('update tokenvault_grants set access_token = ?, refresh_token = ? where grant_id = ?', [alice.access_token, alice.refresh_token, 'bob']);
      await expectCorrupt(store.get('alice'), 'alice', 'DecryptionFailedError');
      await expectCorrupt(store.get('bob'), 'bob', 'DecryptionFailedError');
      // Swapping columns within one row fails as well (the column is bound too).
      await fx.sql('update tokenvault_grants set access_token = ?, refresh_token = ? where grant_id = ?', [alice.refresh_token, alice.access_token, 'bob']);
      await expectCorrupt(store.get('bob'), 'bob', 'DecryptionFailedError');
    });

    it('an unknown key id, and a client secret under it', async () => {
      await seeded();
      const other = fx.open({ keys: [C] });
      await other.create(makeGrantRecord({ grantId: 'carol', accessToken: new Secret(`${ALICE_TOKEN}-carol`) }));
      await other.putClient(makeClientRecord({ id: 'other', clientSecret: new Secret(`${SECRET}-other`) }));
      const reader = fx.open({ keys: [B, A] });
      await expectCorrupt(reader.get('carol'), 'carol', '(UnknownKeyError)');
      await expectCorrupt(reader.getClient('other'), 'other', '(UnknownKeyError)');
      expect((await reader.get('alice'))?.accessToken?.reveal()).toBe(ALICE_TOKEN);
    });

    it('a tampered client secret', async () => {
      const store = await seeded();
      const [row] = await fx.sql('select client_secret from tokenvault_clients where id = ?', ['mixi']);
      await fx.sql('update tokenvault_clients set client_secret = ? where id = ?', [String(row?.client_secret).replace(/.{4}$/, 'AAAA'), 'mixi']);
      await expectCorrupt(store.getClient('mixi'), 'mixi', 'DecryptionFailedError');
    });

    it('through the vault: getAccessToken on a tampered grant throws the typed error, never the token', async () => {
      const store = await seeded();
      await fx.sql('update tokenvault_grants set access_token = (select access_token from tokenvault_grants where grant_id = ?) where grant_id = ?', ['bob', 'alice']);
      const vault = createVault({
        store,
        clients: [{ id: 'mixi', provider: providers.mixi(), clientId: 'app', clientSecret: SECRET, redirectUri: 'https://app.example/cb' }],
        cache: false,
      });
      await expectCorrupt(vault.getAccessToken('alice'), 'alice', 'DecryptionFailedError');
    });
  });
}

tamperSuite('SQLite', sqliteFixture);
describePostgres('tamper (PostgreSQL)', () => tamperSuite('PostgreSQL', postgresFixture));
