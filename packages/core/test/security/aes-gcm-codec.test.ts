import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  aesGcmCodec,
  DecryptionFailedError,
  encryptedKeyId,
  formatEncryptionKey,
  generateEncryptionKey,
  InvalidArgumentError,
  type SecretLocation,
  unencryptedCodec,
  UnknownKeyError,
} from '../../src/index';

const A = generateEncryptionKey({ id: 'A' });
const B = generateEncryptionKey({ id: 'B' });
const C = generateEncryptionKey({ id: 'C' });
const at: SecretLocation = { table: 'grants', column: 'access_token', key: 'alice' };
const TOKEN = 'canary-access-token-1f2e3d4c5b6a';

/** Every way an error can be shown: none may hold the plaintext. */
function shown(error: unknown): string {
  return [String(error), JSON.stringify(error), inspect(error, { depth: 10 }), (error as Error).stack ?? ''].join('\n');
}

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('aesGcmCodec', () => {
  it('round-trips, in the tv1 format, with a fresh nonce on every write', () => {
    const codec = aesGcmCodec({ keys: [A] });
    const first = codec.encode(TOKEN, at);
    const second = codec.encode(TOKEN, at);
    expect(first).toMatch(/^tv1\.A\.[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]+$/);
    expect(first).not.toBe(second);
    expect(first.split('.')[2]).not.toBe(second.split('.')[2]);
    expect(first).not.toContain(TOKEN);
    expect(codec.decode(first, at)).toBe(TOKEN);
    expect(codec.decode(second, at)).toBe(TOKEN);
    expect(codec.decode(codec.encode('', at), at)).toBe('');
    expect(codec.decode(codec.encode('日本語 ✓ 𝄞', at), at)).toBe('日本語 ✓ 𝄞');
  });

  it('binds each value to its table, column and row: a value moved anywhere else fails to decrypt', () => {
    const codec = aesGcmCodec({ keys: [A] });
    const stored = codec.encode(TOKEN, at);
    for (const elsewhere of [
      { ...at, key: 'mallory' },
      { ...at, column: 'refresh_token' },
      { ...at, table: 'clients' as const },
      { ...at, key: 'alice ' },
    ]) {
      const error = caught(() => codec.decode(stored, elsewhere));
      expect(error).toBeInstanceOf(DecryptionFailedError);
      expect(error).toMatchObject({ code: 'decryption_failed' });
      expect(shown(error)).not.toContain(TOKEN);
    }
  });

  it('detects a flipped character anywhere in the nonce or ciphertext', () => {
    const codec = aesGcmCodec({ keys: [A] });
    const stored = codec.encode(TOKEN, at);
    const bodyStart = stored.indexOf('.', 4) + 1;
    for (let i = bodyStart; i < stored.length; i++) {
      if (stored[i] === '.') continue;
      const flipped = stored.slice(0, i) + (stored[i] === 'A' ? 'B' : 'A') + stored.slice(i + 1);
      const error = caught(() => codec.decode(flipped, at));
      expect(error, `character ${i}`).toBeInstanceOf(DecryptionFailedError);
      expect(shown(error)).not.toContain(TOKEN);
    }
  });

  it('names an unknown key id as UnknownKeyError, and a value relabelled with another configured id fails', () => {
    const stored = aesGcmCodec({ keys: [C] }).encode(TOKEN, at);
    const error = caught(() => aesGcmCodec({ keys: [A, B] }).decode(stored, at));
    expect(error).toBeInstanceOf(UnknownKeyError);
    expect(error).toMatchObject({ code: 'unknown_key', keyId: 'C', location: 'grants/access_token/alice' });
    expect(shown(error)).not.toContain(TOKEN);
    const both = aesGcmCodec({ keys: [A, B] });
    const relabelled = both.encode(TOKEN, at).replace(/^tv1\.A\./, 'tv1.B.');
    expect(() => both.decode(relabelled, at)).toThrow(DecryptionFailedError);
  });

  it('writes under the active key and reads under any configured one; needsRekey tells them apart', () => {
    const oldA = aesGcmCodec({ keys: [A] }).encode('under-a', at);
    const oldB = aesGcmCodec({ keys: [B] }).encode('under-b', at);
    const ring = aesGcmCodec({ keys: formatRing([C, B, A]) });
    expect(ring.activeKeyId).toBe('C');
    expect(ring.keyIds).toEqual(['C', 'B', 'A']);
    expect(ring.decode(oldA, at)).toBe('under-a');
    expect(ring.decode(oldB, at)).toBe('under-b');
    const fresh = ring.encode('under-c', at);
    expect(encryptedKeyId(fresh)).toBe('C');
    expect([oldA, oldB, fresh].map((v) => ring.needsRekey(v))).toEqual([true, true, false]);
    // activeKeyId picks another key of the ring.
    const pinned = aesGcmCodec({ keys: [C, B, A], activeKeyId: 'B' });
    expect(encryptedKeyId(pinned.encode('x', at))).toBe('B');
    // "k1" is not "k10": the prefix check includes the separator.
    const k1 = aesGcmCodec({ keys: [generateEncryptionKey({ id: 'k1' })] });
    expect(k1.needsRekey(aesGcmCodec({ keys: [generateEncryptionKey({ id: 'k10' })] }).encode('x', at))).toBe(true);
  });

  it('refuses unencrypted values unless asked to accept them (a migration from encryption: "none")', () => {
    expect(() => aesGcmCodec({ keys: [A] }).decode(TOKEN, at)).toThrow(DecryptionFailedError);
    const migrating = aesGcmCodec({ keys: [A], acceptUnencrypted: true });
    expect(migrating.decode(TOKEN, at)).toBe(TOKEN);
    expect(migrating.needsRekey(TOKEN)).toBe(true);
    // An encrypted value is never taken for plaintext, even then.
    const tampered = migrating.encode(TOKEN, at).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect(() => migrating.decode(tampered, at)).toThrow(DecryptionFailedError);
  });

  it('refuses malformed values with a typed error', () => {
    const codec = aesGcmCodec({ keys: [A] });
    for (const bad of ['tv1.', 'tv1.A', 'tv1.A.', 'tv1.A.short.x', `tv1.A.${'A'.repeat(32)}.`, `tv1.A.${'A'.repeat(32)}.${'!'.repeat(30)}`, `tv1.A.${'A'.repeat(32)}.AAAA`]) {
      expect(() => codec.decode(bad, at), bad).toThrow(DecryptionFailedError);
    }
  });

  it('shows key ids, never key bytes, when printed; refuses bad configurations without quoting keys', () => {
    const codec = aesGcmCodec({ keys: [A, B] });
    const keyText = formatEncryptionKey(A).split(':')[1] as string;
    const printed = [inspect(codec, { depth: 10, showHidden: true }), JSON.stringify(codec), String(codec)].join('\n');
    expect(printed).toContain('A');
    expect(printed).not.toContain(keyText);
    expect(printed).not.toContain(Buffer.from(keyText, 'base64url').toString('base64'));
    const cases: [unknown, RegExp][] = [
      [{ keys: [] }, /no encryption key/],
      [{ keys: undefined }, /no encryption key/],
      [{ keys: '' }, /holds no key/],
      [{ keys: 'A' }, /entry 1 .*"id:key"/],
      [{ keys: `A:${keyText},A:${keyText}` }, /configured twice/],
      [{ keys: `A:${keyText.slice(0, 20)}` }, /32 bytes/],
      [{ keys: `bad.id:${keyText}` }, /id must be/],
      [{ keys: [A], activeKeyId: 'Z' }, /active key "Z"/],
    ];
    for (const [options, message] of cases) {
      const error = caught(() => aesGcmCodec(options as never));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(message);
      expect(shown(error)).not.toContain(keyText.slice(0, 20));
    }
  });

  it('accepts keys as base64, base64url or bytes', () => {
    const bytes = Buffer.alloc(32, 7);
    const viaBytes = aesGcmCodec({ keys: [{ id: 'k', key: bytes }] });
    const viaBase64 = aesGcmCodec({ keys: `k:${bytes.toString('base64')}` });
    const viaBase64url = aesGcmCodec({ keys: ` k:${bytes.toString('base64url')}\n` });
    const stored = viaBytes.encode(TOKEN, at);
    expect(viaBase64.decode(stored, at)).toBe(TOKEN);
    expect(viaBase64url.decode(stored, at)).toBe(TOKEN);
  });

  it('refuses text that UTF-8 cannot carry rather than change it', () => {
    expect(() => aesGcmCodec({ keys: [A] }).encode('lone \uD800 surrogate', at)).toThrow(InvalidArgumentError);
  });
});

describe('unencryptedCodec', () => {
  it('stores as is, and refuses to hand out an encrypted value as if it were a token', () => {
    const codec = unencryptedCodec();
    expect(codec.encode(TOKEN, at)).toBe(TOKEN);
    expect(codec.decode(TOKEN, at)).toBe(TOKEN);
    const encrypted = aesGcmCodec({ keys: [A] }).encode(TOKEN, at);
    expect(() => codec.decode(encrypted, at)).toThrow(DecryptionFailedError);
  });
});

function formatRing(keys: readonly ReturnType<typeof generateEncryptionKey>[]): string {
  return keys.map(formatEncryptionKey).join(',');
}
