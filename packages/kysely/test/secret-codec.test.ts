import { inspect } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Secret } from '@tokenvault/core';
import { BASE_TIME, makeClientRecord, makeGrantRecord, toPlainClient, toPlainGrant } from '@tokenvault/store-conformance';
import { sqliteStore, type SecretCodec, type SecretLocation } from '../src/index';

/**
 * A reversible stand-in for AES-GCM: the stored value names its location, and decoding elsewhere
 * fails, as an authenticated cipher with the location as associated data would.
 */
function bindingCodec(): SecretCodec & { seen: SecretLocation[] } {
  const seen: SecretLocation[] = [];
  const tag = (at: SecretLocation) => `${at.table}/${at.column}/${at.key}`;
  return {
    seen,
    encode(plain, at) {
      seen.push(at);
      return Buffer.from(JSON.stringify([tag(at), plain])).toString('base64');
    },
    decode(stored, at) {
      const [boundTo, plain] = JSON.parse(Buffer.from(stored, 'base64').toString()) as [string, string];
      if (boundTo !== tag(at)) throw new TypeError(`ciphertext for ${boundTo} holding ${plain} opened at ${tag(at)}`);
      return plain;
    },
  };
}

function storeWith(codec: SecretCodec) {
  const store = sqliteStore({ filename: ':memory:', codec });
  return { store, db: store.sqliteDatabase as Database.Database };
}

const pending = { stateHash: 'h', deadline: BASE_TIME, scope: [], redirectUri: 'https://a/cb', codeVerifier: new Secret('verifier'), serverState: new Secret('server-state') };

describe('the secret codec', () => {
  it('encodes every secret column with its table, column and key, and decodes them back', async () => {
    const codec = bindingCodec();
    const { store, db } = storeWith(codec);
    const record = makeGrantRecord({ grantId: 'alice', idToken: new Secret('id'), pending });
    const client = makeClientRecord({ id: 'mixi' });
    await store.create(record);
    await store.putClient(client);
    expect(codec.seen.map((at) => `${at.table}.${at.column}@${at.key}`).sort()).toEqual(
      [
        'clients.client_secret@mixi',
        'grants.access_token@alice',
        'grants.id_token@alice',
        'grants.pending_code_verifier@alice',
        'grants.pending_server_state@alice',
        'grants.refresh_token@alice',
      ].sort(),
    );
    const raw = db.prepare('select * from tokenvault_grants').get() as Record<string, string>;
    expect(raw.access_token).not.toContain(record.accessToken?.reveal() as string);
    expect(JSON.stringify(Object.values(raw))).not.toMatch(/verifier|server-state/);
    expect(toPlainGrant(await store.get('alice'))).toEqual(toPlainGrant(record));
    expect(toPlainClient(await store.getClient('mixi'))).toEqual(toPlainClient(client));
    await store.close();
  });

  it('reports a secret moved to another row as a CorruptRecordError, without the secret or the codec’s message', async () => {
    const { store, db } = storeWith(bindingCodec());
    await store.create(makeGrantRecord({ grantId: 'alice', accessToken: new Secret('alice-token') }));
    await store.create(makeGrantRecord({ grantId: 'mallory' }));
    db.exec(`update tokenvault_grants set access_token = (select access_token from tokenvault_grants where grant_id = 'alice') where grant_id = 'mallory'`);
    const error = await store.get('mallory').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'store_corrupt_record', key: 'mallory' });
    expect((error as Error).message).toContain('"access_token" could not be decoded (TypeError)');
    expect(inspect(error, { depth: 10 })).not.toContain('alice-token');
    expect((await store.get('alice'))?.accessToken?.reveal()).toBe('alice-token');
    await store.close();
  });

  it('turns an encoder failure into a StoreError that does not quote the secret', async () => {
    const failing: SecretCodec = {
      encode: (plain) => {
        throw new RangeError(`no key to encrypt ${plain}`);
      },
      decode: (stored) => stored,
    };
    const { store } = storeWith(failing);
    const error = await store.create(makeGrantRecord({ accessToken: new Secret('plain-secret') })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'store_error' });
    expect(inspect(error, { depth: 10 })).not.toContain('plain-secret');
    expect(await store.count({})).toBe(0);
    await store.close();
  });
});
