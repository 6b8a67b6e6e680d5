import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { aesGcmCodec, generateEncryptionKey, Secret, type SecretCodec, type SecretLocation } from '@tokenvault/core';
import { makeGrantRecord, nextGrantRecord, toPlainGrant } from '@tokenvault/store-conformance';
import { sqliteStore } from '../src/index';

const KEY_A = generateEncryptionKey({ id: 'A' });
const KEY_B = generateEncryptionKey({ id: 'B' });

/** AES-GCM under the given key ring, counting encryptions per column. */
function countingCodec(keys: Parameters<typeof aesGcmCodec>[0]['keys']): SecretCodec & { encoded: string[] } {
  const inner = aesGcmCodec({ keys });
  const encoded: string[] = [];
  return {
    encoded,
    encode: (plain: string, at: SecretLocation) => {
      encoded.push(at.column);
      return inner.encode(plain, at);
    },
    decode: (stored: string, at: SecretLocation) => inner.decode(stored, at),
    needsRekey: (stored: string) => inner.needsRekey(stored),
  };
}

const column = (db: Database.Database, name: string) => db.prepare(`select ${name} from tokenvault_grants where grant_id = 'alice'`).pluck().get();

describe('secrets that a write keeps are stored again as they were, not encrypted anew', () => {
  it('a compare-and-set that keeps the tokens (a lease, say) encrypts nothing; new tokens are encrypted', async () => {
    const codec = countingCodec([KEY_A]);
    const store = sqliteStore({ filename: ':memory:', codec });
    const db = store.sqliteDatabase as Database.Database;
    const record = makeGrantRecord({ grantId: 'alice', accessToken: new Secret('access-1'), refreshToken: new Secret('refresh-1') });
    await store.create(record);
    expect(codec.encoded.sort()).toEqual(['access_token', 'refresh_token']);
    const stored = { access: column(db, 'access_token'), refresh: column(db, 'refresh_token') };

    // Read back (as another call would), then a write that keeps both tokens.
    codec.encoded.length = 0;
    const read = (await store.get('alice'))!;
    const leased = nextGrantRecord(read, { state: 'refreshing', lease: { owner: 'w', until: read.updatedAt + 30_000 } });
    expect(await store.compareAndSet(leased, read.version)).toBe(true);
    expect(codec.encoded).toEqual([]);
    expect(column(db, 'access_token')).toBe(stored.access);
    expect(column(db, 'refresh_token')).toBe(stored.refresh);
    expect(toPlainGrant(await store.get('alice'))).toEqual(toPlainGrant(leased));

    // A refresh: both tokens are new, both are encrypted (under fresh nonces).
    const refreshed = nextGrantRecord(leased, { state: 'authorized', lease: null, accessToken: new Secret('access-2'), refreshToken: new Secret('refresh-2') });
    expect(await store.compareAndSet(refreshed, leased.version)).toBe(true);
    expect(codec.encoded.sort()).toEqual(['access_token', 'refresh_token']);
    expect(column(db, 'access_token')).not.toBe(stored.access);
    expect((await store.get('alice'))?.accessToken?.reveal()).toBe('access-2');
  });

  it('never writes a kept secret back under a key the codec no longer writes with, nor at another location', async () => {
    const underA = countingCodec([KEY_A]);
    const first = sqliteStore({ filename: ':memory:', codec: underA });
    await first.ready();
    await first.create(makeGrantRecord({ grantId: 'alice', accessToken: new Secret('access-1') }));
    const row = (first.sqliteDatabase as Database.Database).prepare(`select * from tokenvault_grants where grant_id = 'alice'`).get() as Record<string, unknown>;

    // A store whose active key is B, reading a row written under A: a write keeping the token moves it to B.
    const underB = countingCodec([KEY_B, KEY_A]);
    const second = sqliteStore({ filename: ':memory:', codec: underB });
    await second.ready();
    const db = second.sqliteDatabase as Database.Database;
    const columns = Object.keys(row);
    db.prepare(`insert into tokenvault_grants (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`).run(...columns.map((c) => row[c]));
    const read = (await second.get('alice'))!;
    underB.encoded.length = 0;
    expect(await second.compareAndSet(nextGrantRecord(read), read.version)).toBe(true);
    expect(underB.encoded).toContain('access_token');
    expect(String(column(db, 'access_token'))).toMatch(/^tv1\.B\./);

    // The same Secret object in another grant is encrypted for that grant (its location is bound in).
    underB.encoded.length = 0;
    const moved = (await second.get('alice'))!;
    await second.create(makeGrantRecord({ grantId: 'bob', accessToken: moved.accessToken as Secret }));
    expect(underB.encoded).toContain('access_token');
    expect((await second.get('bob'))?.accessToken?.reveal()).toBe('access-1');
  });
});
