import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { CorruptRecordError, InvalidArgumentError } from '../../src/errors/errors';
import { assertPageRequest, buildPage, decodePageCursor, encodePageCursor } from '../../src/store/page-cursor';

describe('page cursors', () => {
  test.prop([fc.maxSafeInteger(), fc.string({ unit: 'binary' }), fc.constantFrom('due' as const, 'lease' as const)])(
    'round-trip a timed key through an opaque base64url string',
    (at, grantId, kind) => {
      const cursor = encodePageCursor({ kind, at, grantId });
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodePageCursor(kind, cursor)).toEqual({ kind, at, grantId });
    },
  );

  it('round-trips a grant-id key and treats undefined as the first page', () => {
    expect(decodePageCursor('grant', encodePageCursor({ kind: 'grant', grantId: 'ミ' }))).toEqual({ kind: 'grant', grantId: 'ミ' });
    expect(decodePageCursor('due', undefined)).toBeUndefined();
  });

  it.each([
    ['garbage', 'not a cursor!'],
    ['another listing', encodePageCursor({ kind: 'lease', at: 1, grantId: 'a' })],
    ['a fractional time', Buffer.from('["d",1.5,"a"]').toString('base64url')],
    ['a missing id', Buffer.from('["d",1]').toString('base64url')],
    ['an object', Buffer.from('{"d":1}').toString('base64url')],
  ])('refuses %s as an InvalidArgumentError', (_label, cursor) => {
    expect(() => decodePageCursor('due', cursor)).toThrow(InvalidArgumentError);
  });

  it.each([0, -1, 10_001, 1.5, Number.NaN])('refuses a limit of %s', (limit) => {
    expect(() => assertPageRequest({ limit })).toThrow(InvalidArgumentError);
  });
});

describe('buildPage', () => {
  const keyOf = (n: number) => ({ kind: 'grant' as const, grantId: String(n) });

  it('takes limit items and sets a cursor only when an extra row proves there is more', () => {
    const more = buildPage([1, 2, 3], 2, keyOf, (n) => n * 10);
    expect(more.items).toEqual([10, 20]);
    expect(decodePageCursor('grant', more.cursor)).toEqual({ kind: 'grant', grantId: '2' });
    expect(buildPage([1, 2], 2, keyOf, (n) => n).cursor).toBeUndefined();
    expect(buildPage([1, 2], 2, keyOf, (n) => n)).not.toHaveProperty('unreadable');
  });

  it('leaves out corrupt rows, reports them, and still moves the cursor past them', () => {
    const page = buildPage([1, 2, 3], 2, keyOf, (n) => {
      if (n === 2) throw new CorruptRecordError('2', 'bad');
      return n;
    });
    expect(page.items).toEqual([1]);
    expect(page.unreadable?.map((e) => e.key)).toEqual(['2']);
    expect(decodePageCursor('grant', page.cursor)?.grantId).toBe('2');
  });

  it('lets any other failure through', () => {
    expect(() =>
      buildPage([1], 1, keyOf, () => {
        throw new RangeError('boom');
      }),
    ).toThrow(RangeError);
  });
});
