import { CorruptRecordError, InvalidArgumentError } from '../errors/errors';
import type { Page, PageRequest } from './grant-store';

/**
 * Keyset cursors shared by every store: an opaque base64url string holding the sort key of the last
 * row a page covered, tagged with the listing it belongs to, so pages never repeat or skip rows that
 * change meanwhile and a cursor from one listing is refused by another.
 */

/** The largest page a store hands out. */
export const MAX_PAGE_LIMIT = 10_000;

/** Which listing a cursor belongs to, with its sort key. */
export type PageKey =
  /** `listDue`: by (access token expiry, grant id). */
  | { readonly kind: 'due'; readonly at: number; readonly grantId: string }
  /** `listExpiredLeases`: by (lease end, grant id). */
  | { readonly kind: 'lease'; readonly at: number; readonly grantId: string }
  /** `list`: by grant id. */
  | { readonly kind: 'grant'; readonly grantId: string };

const TAGS = { due: 'd', lease: 'l', grant: 'g' } as const;

/**
 * Checks a page request: `limit` an integer from 1 to {@link MAX_PAGE_LIMIT}, `cursor` a string or absent.
 * Throws an {@link InvalidArgumentError} otherwise.
 *
 * @example
 * assertPageRequest({ limit: 0 }); // InvalidArgumentError: page "limit" must be an integer from 1 to 10000
 */
export function assertPageRequest(page: PageRequest): void {
  if (typeof page !== 'object' || page === null) throw new InvalidArgumentError('the page request must be an object');
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE_LIMIT) {
    throw new InvalidArgumentError(`page "limit" must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
  }
  if (page.cursor !== undefined && typeof page.cursor !== 'string') {
    throw new InvalidArgumentError('page "cursor" must be a string from a previous page, or absent');
  }
}

/**
 * The opaque cursor for a page that ended at `key`.
 *
 * @example
 * encodePageCursor({ kind: 'grant', grantId: 'alice' }); // 'WyJnIiwiYWxpY2UiXQ'
 */
export function encodePageCursor(key: PageKey): string {
  const parts = key.kind === 'grant' ? [TAGS.grant, key.grantId] : [TAGS[key.kind], key.at, key.grantId];
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

/**
 * The sort key inside `cursor`, which must come from a page of the `kind` listing; undefined when
 * `cursor` is undefined (the first page). Throws an {@link InvalidArgumentError} for anything else.
 *
 * @example
 * const after = decodePageCursor('due', page.cursor); // { kind: 'due', at: 1700000000000, grantId: 'alice' }
 */
export function decodePageCursor<K extends PageKey['kind']>(kind: K, cursor: string | undefined): Extract<PageKey, { kind: K }> | undefined {
  if (cursor === undefined) return undefined;
  const invalid = () => new InvalidArgumentError(`page "cursor" is not a cursor of this listing (${kind})`);
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parts) || parts[0] !== TAGS[kind]) throw invalid();
  if (kind === 'grant') {
    if (parts.length !== 2 || typeof parts[1] !== 'string') throw invalid();
    return { kind: 'grant', grantId: parts[1] } as Extract<PageKey, { kind: K }>;
  }
  if (parts.length !== 3 || !Number.isSafeInteger(parts[1]) || typeof parts[2] !== 'string') throw invalid();
  return { kind, at: parts[1] as number, grantId: parts[2] } as Extract<PageKey, { kind: K }>;
}

/**
 * Turns the rows a listing fetched (up to `limit + 1`, in key order) into a page: the first `limit`
 * rows become items, and a cursor after the last of them is set only when an extra row proved there
 * is more. A row `toItem` rejects with a {@link CorruptRecordError} is left out and listed in
 * `unreadable`; the cursor still moves past it, so one bad row never stalls a sweep.
 *
 * @example
 * const rows = await query.limit(page.limit + 1).execute();
 * return buildPage(rows, page.limit, (row) => ({ kind: 'grant', grantId: row.grant_id }), rowToRecord);
 */
export function buildPage<Row, Item>(
  rows: readonly Row[],
  limit: number,
  keyOf: (row: Row) => PageKey,
  toItem: (row: Row) => Item,
): Page<Item> {
  const taken = rows.length > limit ? rows.slice(0, limit) : rows;
  const items: Item[] = [];
  let unreadable: CorruptRecordError[] | undefined;
  for (const row of taken) {
    try {
      items.push(toItem(row));
    } catch (e) {
      if (!(e instanceof CorruptRecordError)) throw e;
      (unreadable ??= []).push(e);
    }
  }
  const last = taken[taken.length - 1];
  const cursor = rows.length > limit && last !== undefined ? encodePageCursor(keyOf(last)) : undefined;
  return unreadable === undefined ? { items, cursor } : { items, cursor, unreadable };
}
