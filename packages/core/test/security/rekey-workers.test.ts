import { inspect } from 'node:util';
import { fc } from '@fast-check/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { aesGcmCodec, formatEncryptionKey, formatSecretLocation, generateEncryptionKey, RekeyWorkerError, type RekeyWorkers, type SecretLocation } from '../../src/index';
import { Xaes256Gcm } from '../../src/security/xaes-256-gcm';

const A = generateEncryptionKey({ id: 'A' });
const B = generateEncryptionKey({ id: 'B' });
const C = generateEncryptionKey({ id: 'C' });
const at = (key: string, column = 'access_token'): SecretLocation => ({ table: 'grants', column, key });
const loc = (l: SecretLocation) => formatSecretLocation(l);

describe('rekey worker threads (the codec run off-thread, in batches)', () => {
  const pools: RekeyWorkers[] = [];
  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.close();
  });
  const start = (codec: ReturnType<typeof aesGcmCodec>, threads = 2) => {
    const pool = codec.startRekeyWorkers(threads);
    pools.push(pool);
    return pool;
  };

  it('re-encodes under the active key exactly what decode then encode would give, in order, across threads', async () => {
    const underA = aesGcmCodec({ keys: [A] });
    const underB = aesGcmCodec({ keys: [B] });
    const ring = aesGcmCodec({ keys: [C, B, A] });
    const plains = Array.from({ length: 300 }, (_, i) => `token-${i}-${'é🎉'.repeat(i % 4)}`);
    const locations = plains.map((_, i) => at(`g${i}`, i % 2 === 0 ? 'access_token' : 'refresh_token'));
    const values = plains.map((p, i) => (i % 3 === 0 ? underB : underA).encode(p, locations[i] as SecretLocation));
    const out = await start(ring).recode(values, locations.map(loc));
    expect(out).toHaveLength(300);
    out.forEach((value, i) => {
      expect(value?.startsWith('tv1.C.')).toBe(true);
      expect(ring.decode(value as string, locations[i] as SecretLocation)).toBe(plains[i]);
      // Still bound to its row and column.
      expect(() => ring.decode(value as string, at(`g${i + 1}`))).toThrow();
    });
    // A fresh nonce every time.
    const again = await pools[0]?.recode(values.slice(0, 5), locations.slice(0, 5).map(loc));
    again?.forEach((value, i) => expect(value).not.toBe(out[i]));
  });

  it('returns null where decode throws: tampered, moved, unknown key, malformed, non-canonical base64url, unencrypted', async () => {
    const underA = aesGcmCodec({ keys: [A] });
    const ring = aesGcmCodec({ keys: [B, A] });
    const good = underA.encode('secret', at('alice'));
    const [prefix, id, nonce, sealed] = good.split('.') as [string, string, string, string];
    // The last character of the sealed text carries unused bits when its length is not a multiple of 4:
    // setting them gives text that decodes to the same bytes but is not the canonical encoding.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    expect(sealed.length % 4).not.toBe(0);
    const nonCanonical = `${prefix}.${id}.${nonce}.${sealed.slice(0, -1)}${alphabet[alphabet.indexOf(sealed.at(-1) as string) | 1]}`;
    expect(Buffer.from(nonCanonical.split('.')[3] as string, 'base64url').equals(Buffer.from(sealed, 'base64url'))).toBe(true);
    const cases: [string, string, SecretLocation][] = [
      ['good', good, at('alice')],
      ['moved', good, at('bob')],
      ['unknown key', aesGcmCodec({ keys: [C] }).encode('secret', at('alice')), at('alice')],
      ['relabelled', good.replace('tv1.A.', 'tv1.B.'), at('alice')],
      ['non-canonical', nonCanonical, at('alice')],
      ['short nonce', `${prefix}.${id}.${nonce.slice(1)}.${sealed}`, at('alice')],
      ['no sealed part', `${prefix}.${id}.${nonce}`, at('alice')],
      ['bad alphabet', `${prefix}.${id}.${nonce}.${sealed.slice(0, -1)}=`, at('alice')],
      ['unencrypted', 'plain-token', at('alice')],
      ['empty key id', `tv1..${nonce}.${sealed}`, at('alice')],
    ];
    const out = await start(ring).recode(cases.map((c) => c[1]), cases.map((c) => loc(c[2])));
    cases.forEach(([name, value, where], i) => {
      let decodes = true;
      try {
        ring.decode(value, where);
      } catch {
        decodes = false;
      }
      expect({ name, recoded: out[i] !== null }).toEqual({ name, recoded: decodes });
    });
    expect(out[0]).not.toBeNull();
    expect(out.slice(1).every((v) => v === null)).toBe(true);
  });

  it('agrees with the codec on any one-character change of a stored value (property)', async () => {
    const underA = aesGcmCodec({ keys: [A] });
    const ring = aesGcmCodec({ keys: [B, A] });
    const pool = start(ring, 1);
    const samples = fc.sample(fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), fc.nat(), fc.integer({ min: 1, max: 126 })), 400);
    const values: string[] = [];
    const locations: string[] = [];
    for (const [plain, where, delta] of samples) {
      const stored = underA.encode(plain, at('k'));
      const i = where % stored.length;
      values.push(stored.slice(0, i) + String.fromCharCode(((stored.charCodeAt(i) + delta) % 127) + 1) + stored.slice(i + 1));
      locations.push(loc(at('k')));
    }
    const out = await pool.recode(values, locations);
    values.forEach((value, i) => {
      let plain: string | null;
      try {
        plain = ring.decode(value, at('k'));
      } catch {
        plain = null;
      }
      expect(out[i] === null ? null : ring.decode(out[i] as string, at('k'))).toBe(plain);
    });
  });

  it('reads unencrypted values only with acceptUnencrypted, and refuses text UTF-8 cannot carry, as encode does', async () => {
    const strict = start(aesGcmCodec({ keys: [A] }), 1);
    const migrating = aesGcmCodec({ keys: [A], acceptUnencrypted: true });
    expect(await strict.recode(['plain-token'], [loc(at('a'))])).toEqual([null]);
    const out = await start(migrating, 1).recode(['plain-token', 'lone \ud800 surrogate'], [loc(at('a')), loc(at('b'))]);
    expect(migrating.decode(out[0] as string, at('a'))).toBe('plain-token');
    expect(() => migrating.encode('lone \ud800 surrogate', at('b'))).toThrow();
    expect(out[1]).toBeNull();
  });

  it('writes plaintext bytes that are not UTF-8 back as decode then encode would (replacement characters)', async () => {
    const keyBytes = Buffer.from(formatEncryptionKey(A).split(':')[1] as string, 'base64url');
    const nonce = Buffer.alloc(24, 7);
    const location = at('bytes');
    const sealed = new Xaes256Gcm(keyBytes).seal(nonce, Buffer.from([0x61, 0xff, 0x62]), Buffer.from(`tv1.A.${loc(location)}`));
    const stored = `tv1.A.${nonce.toString('base64url')}.${sealed.toString('base64url')}`;
    const ring = aesGcmCodec({ keys: [B, A] });
    const [out] = await start(ring, 1).recode([stored], [loc(location)]);
    expect(ring.decode(out as string, location)).toBe(ring.decode(stored, location));
    expect(ring.decode(out as string, location)).toBe('a\ufffdb');
  });

  it('never shows key bytes; after close, batches are refused with RekeyWorkerError and close can be called again', async () => {
    const ring = aesGcmCodec({ keys: [B, A] });
    const pool = start(ring);
    const keyTexts = [A, B].map((k) => formatEncryptionKey(k).split(':')[1] as string);
    const shown = `${inspect(pool, { showHidden: true, depth: 5 })} ${JSON.stringify(pool)} ${inspect(ring, { showHidden: true, depth: 5 })}`;
    for (const text of keyTexts) expect(shown).not.toContain(text);
    const inFlight = pool.recode(Array(500).fill(ring.encode('x', at('a'))), Array(500).fill(loc(at('a'))));
    const refused = expect(inFlight).rejects.toBeInstanceOf(RekeyWorkerError);
    await pool.close();
    await refused;
    await expect(pool.recode(['x'], ['grants/access_token/a'])).rejects.toBeInstanceOf(RekeyWorkerError);
    await pool.close();
    for (const text of keyTexts) {
      const error = await pool.recode(['x'], ['y']).catch((e: unknown) => e);
      expect(String((error as Error).message)).not.toContain(text);
    }
  });

  it('refuses a bad thread count and mismatched batches', async () => {
    const ring = aesGcmCodec({ keys: [A] });
    expect(() => ring.startRekeyWorkers(0)).toThrow(RangeError);
    await expect(start(ring, 1).recode(['a', 'b'], ['grants/access_token/a'])).rejects.toThrow(RangeError);
    expect(await pools[0]?.recode([], [])).toEqual([]);
  });
});
