import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { aesGcmCodec, DecryptionFailedError, generateEncryptionKey, type SecretLocation } from '../../src/index';

const codec = aesGcmCodec({ keys: [generateEncryptionKey({ id: 'p' })] });
const location = fc.record({
  table: fc.constantFrom('grants' as const, 'clients' as const),
  column: fc.constantFrom('access_token', 'refresh_token', 'id_token', 'pending_code_verifier', 'pending_server_state', 'client_secret'),
  key: fc.string({ minLength: 1, maxLength: 40 }),
});
const sameLocation = (a: SecretLocation, b: SecretLocation) => a.table === b.table && a.column === b.column && a.key === b.key;

describe('aesGcmCodec properties', () => {
  test.prop([fc.string({ unit: 'grapheme', maxLength: 200 }), location], { numRuns: 500 })('decode(encode(x)) is x, and the value never shows in the stored text', (plain, at) => {
    const stored = codec.encode(plain, at);
    expect(codec.decode(stored, at)).toBe(plain);
    if (plain.length >= 4) expect(stored).not.toContain(plain);
  });

  test.prop([fc.string({ minLength: 1, maxLength: 60 }), location, location], { numRuns: 500 })('a value read at another location never decodes', (plain, at, other) => {
    fc.pre(!sameLocation(at, other));
    expect(() => codec.decode(codec.encode(plain, at), other)).toThrow(DecryptionFailedError);
  });

  test.prop([fc.string({ minLength: 1, maxLength: 60 }), location, fc.nat(), fc.integer({ min: 1, max: 63 })], { numRuns: 500 })(
    'changing any character after the key id fails with DecryptionFailedError',
    (plain, at, where, delta) => {
      const stored = codec.encode(plain, at);
      const start = 'tv1.p.'.length;
      const i = start + (where % (stored.length - start));
      fc.pre(stored[i] !== '.');
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const replaced = alphabet[(alphabet.indexOf(stored[i] as string) + delta) % 64] as string;
      expect(() => codec.decode(stored.slice(0, i) + replaced + stored.slice(i + 1), at)).toThrow(DecryptionFailedError);
    },
  );
});
