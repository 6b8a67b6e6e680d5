import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { compareCodePoints } from '../../src/store/grant-record';

const utf8Order = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

describe('compareCodePoints', () => {
  test.prop([fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' })], { numRuns: 2_000 })(
    'orders well-formed strings exactly as UTF-8 bytes (SQLite BINARY, PostgreSQL "C")',
    (a, b) => {
      expect(Math.sign(compareCodePoints(a, b))).toBe(utf8Order(a, b));
    },
  );

  it('puts U+FFFD before an astral character, unlike UTF-16 order', () => {
    expect(compareCodePoints('\uFFFD', '\u{1F600}')).toBeLessThan(0);
    expect('\uFFFD' < '\u{1F600}').toBe(false);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
    expect(compareCodePoints('same', 'same')).toBe(0);
  });
});
