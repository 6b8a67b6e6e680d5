import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { aesGcmCodec, encryptedKeyId, generateEncryptionKey, formatEncryptionKey, InvalidArgumentError, Secret } from '@tokenvault/core';
import { makeClientRecord, makeGrantRecord } from '@tokenvault/store-conformance';
import { postgresStore, sqliteStore } from '../src/index';
import { tempDir } from './support/sqlite-harness';
import Database from 'better-sqlite3';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function dbFile(): Promise<string> {
  const { dir, remove } = await tempDir();
  cleanups.push(remove);
  return join(dir, 'grants.db');
}

/** The database file and its WAL, as bytes an attacker with the disk would read. */
function fileBytes(filename: string): Buffer {
  return Buffer.concat(['', '-wal', '-shm'].filter((s) => existsSync(filename + s)).map((s) => readFileSync(filename + s)));
}

const A = generateEncryptionKey({ id: 'A' });
const B = generateEncryptionKey({ id: 'B' });

describe('choosing encryption', () => {
  it('refuses a file or a PostgreSQL store without keys or an explicit "none", before creating or connecting anything', async () => {
    const filename = await dbFile();
    const error = (() => {
      try {
        sqliteStore({ filename });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/encryption: \{ keys: process\.env\.TOKENVAULT_KEYS \}.*encryption: "none"/);
    expect(existsSync(filename)).toBe(false);
    // No server on this port: a connection attempt would fail differently (and later).
    expect(() => postgresStore({ connectionString: 'postgres://nobody@127.0.0.1:1/none' })).toThrow(InvalidArgumentError);
    expect(() => sqliteStore({ filename, encryption: { keys: undefined } })).toThrow(/no encryption key/);
    expect(() => sqliteStore({ filename, encryption: { keys: '' } })).toThrow(/holds no key/);
    expect(() => sqliteStore({ filename, encryption: { codec: aesGcmCodec({ keys: [A] }) }, codec: aesGcmCodec({ keys: [A] }) })).toThrow(/not both/);
    expect(existsSync(filename)).toBe(false);
    // Not at rest: a private in-memory database needs no choice.
    await sqliteStore({ filename: ':memory:' }).close();
  });

  it('logs one warning per store opened with encryption: "none", and none for keys', async () => {
    const warnings: [object, string | undefined][] = [];
    const logger = { warn: (obj: object, msg?: string) => void warnings.push([obj, msg]) };
    const filename = await dbFile();
    const plain = sqliteStore({ filename, encryption: 'none', logger });
    await plain.ready();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.[1]).toMatch(/UNENCRYPTED/);
    await plain.close();
    const keyed = sqliteStore({ filename: await dbFile(), encryption: { keys: [A] }, logger });
    await keyed.ready();
    await keyed.close();
    expect(warnings).toHaveLength(1);
  });
});

describe('encryption at rest (SQLite file)', () => {
  it('keeps no token or secret in the file or its WAL; every secret column holds a tv1 value', async () => {
    const filename = await dbFile();
    const store = sqliteStore({ filename, encryption: { keys: formatEncryptionKey(A) } });
    const canaries = ['canary-at-0f1e2d3c4b5a69788796', 'canary-rt-a5b4c3d2e1f0a9b8c7d6', 'canary-id-77665544332211009988', 'canary-cv-1234567890abcdefabcd', 'canary-ss-fedcba0987654321fedc', 'canary-cs-0a1b2c3d4e5f6a7b8c9d'];
    const [at, rt, id, cv, ss, cs] = canaries.map((c) => new Secret(c)) as Secret[];
    await store.create(
      makeGrantRecord({
        grantId: 'alice',
        accessToken: at as Secret,
        refreshToken: rt as Secret,
        idToken: id as Secret,
        state: 'authorized',
        pending: { stateHash: 'h1', deadline: 1, scope: [], redirectUri: 'https://a/cb', codeVerifier: cv as Secret, serverState: ss as Secret },
      }),
    );
    await store.putClient(makeClientRecord({ id: 'mixi', clientSecret: cs as Secret }));
    expect((await store.get('alice'))?.accessToken?.reveal()).toBe(canaries[0]);
    expect((await store.getClient('mixi'))?.clientSecret.reveal()).toBe(canaries[5]);
    await store.close();
    const bytes = fileBytes(filename).toString('latin1');
    for (const canary of canaries) expect(bytes, canary).not.toContain(canary);
    expect(bytes).toContain('tv1.A.');

    // The negative control: the same writes with encryption "none" put the canaries in the file.
    const plainFile = await dbFile();
    const plain = sqliteStore({ filename: plainFile, encryption: 'none', logger: { warn: () => undefined } });
    await plain.create(makeGrantRecord({ grantId: 'alice', accessToken: at as Secret, refreshToken: rt as Secret }));
    await plain.close();
    expect(fileBytes(plainFile).toString('latin1')).toContain(canaries[0]);
  });

  it('reads values under any key of the ring and writes under the active one', async () => {
    const filename = await dbFile();
    const underA = sqliteStore({ filename, encryption: { keys: [A] } });
    await underA.create(makeGrantRecord({ grantId: 'old', accessToken: new Secret('token-a') }));
    await underA.close();
    const ring = sqliteStore({ filename, encryption: { keys: [B, A] } });
    expect((await ring.get('old'))?.accessToken?.reveal()).toBe('token-a');
    await ring.create(makeGrantRecord({ grantId: 'new', accessToken: new Secret('token-b') }));
    await ring.close();
    const rows = fileRows(filename);
    expect(encryptedKeyId(rows.get('old'))).toBe('A');
    expect(encryptedKeyId(rows.get('new'))).toBe('B');
  });

  it('a store opened with encryption "none" refuses encrypted rows instead of handing out ciphertext', async () => {
    const filename = await dbFile();
    const keyed = sqliteStore({ filename, encryption: { keys: [A] } });
    await keyed.create(makeGrantRecord({ grantId: 'alice' }));
    await keyed.close();
    const plain = sqliteStore({ filename, encryption: 'none', logger: { warn: () => undefined } });
    cleanups.push(() => plain.close());
    await expect(plain.get('alice')).rejects.toMatchObject({ code: 'store_corrupt_record', message: expect.stringContaining('DecryptionFailedError') });
  });

  it('prints the store without keys', () => {
    const store = sqliteStore({ filename: ':memory:', encryption: { keys: [A] } });
    cleanups.push(() => store.close());
    const keyText = formatEncryptionKey(A).slice(2);
    expect(inspect(store, { depth: 6, showHidden: true })).not.toContain(keyText);
  });
});

/** access_token of every grant, straight from the file. */
function fileRows(filename: string): Map<string, string> {
  const db = new Database(filename, { readonly: true });
  try {
    return new Map((db.prepare('select grant_id, access_token from tokenvault_grants').all() as { grant_id: string; access_token: string }[]).map((r) => [r.grant_id, r.access_token]));
  } finally {
    db.close();
  }
}
