import { CorruptRecordError, InvalidArgumentError, type ReauthReason } from '../errors/errors';
import { Secret } from '../util/secret';
import { GRANT_STATES, type ClientRecord, type GrantRecord, type GrantState } from './grant-store';

/**
 * Shape checks for records, shared by every store: adapters run {@link assertGrantRecord} on what they
 * read back, and {@link assertWritableGrantRecord} on what they are asked to write, so that a record
 * the memory store accepts is exactly one that SQLite and PostgreSQL accept and return unchanged.
 */

/** The longest grant id, in UTF-8 bytes: keeps every index entry well under PostgreSQL's btree limit. */
export const MAX_GRANT_ID_BYTES = 1024;
/** The longest client id, in UTF-8 bytes. */
export const MAX_CLIENT_ID_BYTES = 256;

// A record keyed by the union makes the compiler flag a ReauthReason added without being listed here.
const REAUTH_REASONS: Readonly<Record<ReauthReason, true>> = {
  refresh_token_rejected: true,
  token_revoked: true,
  no_refresh_token: true,
};

const STATES: ReadonlySet<string> = new Set<GrantState>(GRANT_STATES);

type Fields = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInteger(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

function isStringArray(value: unknown): value is readonly string[] {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== 'string') return false;
  return true;
}

function isSecretOrNull(value: unknown): value is Secret | null {
  return value === null || value instanceof Secret;
}

/** Why `value` is not a {@link GrantRecord} (naming the field, never showing a value), or undefined. */
export function grantRecordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'the record must be an object';
  const r = value;
  if (typeof r.grantId !== 'string' || r.grantId === '') return 'field "grantId" must be a non-empty string';
  if (typeof r.client !== 'string' || r.client === '') return 'field "client" must be a non-empty string';
  if (typeof r.state !== 'string' || !STATES.has(r.state)) return `field "state" must be one of ${GRANT_STATES.join(', ')}`;
  if (!isInteger(r.version) || r.version < 1) return 'field "version" must be an integer of at least 1';
  if (!isStringArray(r.scope)) return 'field "scope" must be an array of strings';
  if (!isSecretOrNull(r.accessToken)) return 'field "accessToken" must be a Secret or null';
  if (r.accessTokenExpiresAt !== null && !isInteger(r.accessTokenExpiresAt)) {
    return 'field "accessTokenExpiresAt" must be an integer (epoch ms) or null';
  }
  if (!isSecretOrNull(r.refreshToken)) return 'field "refreshToken" must be a Secret or null';
  if (!isSecretOrNull(r.idToken)) return 'field "idToken" must be a Secret or null';
  if (r.tokenType !== null && typeof r.tokenType !== 'string') return 'field "tokenType" must be a string or null';
  if (r.tokensIssuedAt !== null && !isInteger(r.tokensIssuedAt)) {
    return 'field "tokensIssuedAt" must be an integer (epoch ms) or null';
  }
  if (r.authorizationOrder !== null && !(isInteger(r.authorizationOrder) && r.authorizationOrder >= 1)) {
    return 'field "authorizationOrder" must be an integer of at least 1, or null';
  }
  const pendingProblem = r.pending === null ? undefined : pendingProblemOf(r.pending);
  if (pendingProblem) return pendingProblem;
  if (r.lease !== null) {
    if (!isObject(r.lease)) return 'field "lease" must be an object or null';
    if (typeof r.lease.owner !== 'string' || r.lease.owner === '') return 'field "lease.owner" must be a non-empty string';
    if (!isInteger(r.lease.until)) return 'field "lease.until" must be an integer (epoch ms)';
  }
  if ((r.lease !== null) !== (r.state === 'refreshing')) return 'field "lease" must be set exactly when the state is "refreshing"';
  if (r.reauthReason !== null && !(typeof r.reauthReason === 'string' && Object.hasOwn(REAUTH_REASONS, r.reauthReason))) {
    return `field "reauthReason" must be one of ${Object.keys(REAUTH_REASONS).join(', ')} or null`;
  }
  if ((r.reauthReason !== null) !== (r.state === 'reauthRequired')) {
    return 'field "reauthReason" must be set exactly when the state is "reauthRequired"';
  }
  if (r.lastError !== null) {
    if (!isObject(r.lastError)) return 'field "lastError" must be an object or null';
    const e = r.lastError;
    if (typeof e.code !== 'string') return 'field "lastError.code" must be a string';
    if (typeof e.message !== 'string') return 'field "lastError.message" must be a string';
    if (!isInteger(e.at)) return 'field "lastError.at" must be an integer (epoch ms)';
    if (e.retryAt !== null && !isInteger(e.retryAt)) return 'field "lastError.retryAt" must be an integer (epoch ms) or null';
  }
  if (!isInteger(r.createdAt)) return 'field "createdAt" must be an integer (epoch ms)';
  if (!isInteger(r.updatedAt)) return 'field "updatedAt" must be an integer (epoch ms)';
  return undefined;
}

function pendingProblemOf(p: unknown): string | undefined {
  if (!isObject(p)) return 'field "pending" must be an object or null';
  if (typeof p.stateHash !== 'string' || p.stateHash === '') return 'field "pending.stateHash" must be a non-empty string';
  if (!isInteger(p.deadline)) return 'field "pending.deadline" must be an integer (epoch ms)';
  if (!isStringArray(p.scope)) return 'field "pending.scope" must be an array of strings';
  if (typeof p.redirectUri !== 'string') return 'field "pending.redirectUri" must be a string';
  if (!isSecretOrNull(p.codeVerifier)) return 'field "pending.codeVerifier" must be a Secret or null';
  if (!isSecretOrNull(p.serverState)) return 'field "pending.serverState" must be a Secret or null';
  return undefined;
}

/**
 * Throws a {@link CorruptRecordError} naming `key` unless `value` is a well-formed grant record.
 * Adapters call it on every row they read back, so a foreign or damaged row is reported, not used.
 *
 * @example
 * const record = rowToRecord(row);
 * assertGrantRecord(record, row.grant_id); // throws CorruptRecordError('alice', 'field "state" must be …')
 */
export function assertGrantRecord(value: unknown, key: string): asserts value is GrantRecord {
  const problem = grantRecordProblem(value);
  if (problem !== undefined) throw new CorruptRecordError(key, problem);
}

/**
 * Why `text` cannot be stored as-is in every adapter, or undefined. NUL cannot live in PostgreSQL text,
 * and a lone surrogate does not survive UTF-8 (SQLite and PostgreSQL would hand back U+FFFD).
 */
export function storableTextProblem(text: string, field: string, maxBytes?: number): string | undefined {
  if (text.includes('\0')) return `field "${field}" must not contain NUL characters`;
  if (/\p{Surrogate}/u.test(text)) return `field "${field}" must be well-formed Unicode (it has a lone surrogate)`;
  if (maxBytes !== undefined && Buffer.byteLength(text, 'utf8') > maxBytes) return `field "${field}" must be at most ${maxBytes} UTF-8 bytes`;
  return undefined;
}

/**
 * Throws an {@link InvalidArgumentError} (a programming error) unless `value` is a grant record every
 * adapter can store and return unchanged: the shape of {@link assertGrantRecord}, plus storable text in
 * the columns that hold it (ids at most {@link MAX_GRANT_ID_BYTES} / {@link MAX_CLIENT_ID_BYTES}).
 *
 * @example
 * assertWritableGrantRecord({ ...record, grantId: '' }); // InvalidArgumentError: field "grantId" must be …
 */
export function assertWritableGrantRecord(value: unknown): asserts value is GrantRecord {
  const problem = grantRecordProblem(value) ?? writableTextProblem(value as GrantRecord);
  if (problem !== undefined) throw new InvalidArgumentError(`invalid grant record: ${problem}`);
}

function writableTextProblem(r: GrantRecord): string | undefined {
  return (
    storableTextProblem(r.grantId, 'grantId', MAX_GRANT_ID_BYTES) ??
    storableTextProblem(r.client, 'client', MAX_CLIENT_ID_BYTES) ??
    (r.tokenType === null ? undefined : storableTextProblem(r.tokenType, 'tokenType')) ??
    (r.pending === null ? undefined : storableTextProblem(r.pending.stateHash, 'pending.stateHash')) ??
    (r.lease === null ? undefined : storableTextProblem(r.lease.owner, 'lease.owner')) ??
    secretTextProblem(r.accessToken, 'accessToken') ??
    secretTextProblem(r.refreshToken, 'refreshToken') ??
    secretTextProblem(r.idToken, 'idToken') ??
    secretTextProblem(r.pending?.codeVerifier ?? null, 'pending.codeVerifier') ??
    secretTextProblem(r.pending?.serverState ?? null, 'pending.serverState')
  );
}

function secretTextProblem(secret: Secret | null, field: string): string | undefined {
  // Revealed only to be checked, never copied or shown.
  return secret === null ? undefined : storableTextProblem(secret.reveal(), field);
}

/**
 * A frozen copy of `record` holding exactly the contract's fields: what every store keeps and returns.
 * Arrays and nested objects are copied too, so later changes to the argument cannot reach the store.
 * Secrets are shared (they are immutable). Validate first: this function trusts the shape.
 *
 * @example
 * const stored = freezeGrantRecord(record);
 * Object.isFrozen(stored.scope); // true
 */
export function freezeGrantRecord(record: GrantRecord): GrantRecord {
  const p = record.pending;
  const e = record.lastError;
  return freezeOwnedGrantRecord({
    grantId: record.grantId,
    client: record.client,
    state: record.state,
    version: record.version,
    scope: record.scope.slice(),
    accessToken: record.accessToken,
    accessTokenExpiresAt: record.accessTokenExpiresAt,
    refreshToken: record.refreshToken,
    idToken: record.idToken,
    tokenType: record.tokenType,
    tokensIssuedAt: record.tokensIssuedAt,
    authorizationOrder: record.authorizationOrder,
    pending:
      p === null
        ? null
        : {
            stateHash: p.stateHash,
            deadline: p.deadline,
            scope: p.scope.slice(),
            redirectUri: p.redirectUri,
            codeVerifier: p.codeVerifier,
            serverState: p.serverState,
          },
    lease: record.lease === null ? null : { owner: record.lease.owner, until: record.lease.until },
    reauthReason: record.reauthReason,
    lastError: e === null ? null : { code: e.code, message: e.message, at: e.at, retryAt: e.retryAt },
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  });
}

/**
 * Freezes, in place, a record the caller has just built with exactly the contract's fields, and whose
 * arrays and nested objects nobody else holds (a row mapping, say): {@link freezeGrantRecord} without
 * the copy, for read paths where every allocation counts.
 *
 * @example
 * return freezeOwnedGrantRecord({ grantId: row.grant_id, scope: JSON.parse(row.scope), … });
 */
export function freezeOwnedGrantRecord(record: GrantRecord): GrantRecord {
  Object.freeze(record.scope);
  if (record.pending !== null) {
    Object.freeze(record.pending.scope);
    Object.freeze(record.pending);
  }
  if (record.lease !== null) Object.freeze(record.lease);
  if (record.lastError !== null) Object.freeze(record.lastError);
  return Object.freeze(record);
}

function sameSecret(a: Secret | null, b: Secret | null): boolean {
  return a === b || (a !== null && b !== null && a.reveal() === b.reveal());
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/**
 * True when two grant records hold the same values (secrets compared by value). Adapters use it to
 * tell, after a connection dropped mid-write, whether the write they retry had in fact landed.
 *
 * @example
 * grantRecordsEqual(await store.get(id), next); // true once `next` is what is stored
 */
export function grantRecordsEqual(a: GrantRecord | undefined, b: GrantRecord | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const pa = a.pending;
  const pb = b.pending;
  const samePending =
    pa === pb ||
    (pa !== null &&
      pb !== null &&
      pa.stateHash === pb.stateHash &&
      pa.deadline === pb.deadline &&
      sameStrings(pa.scope, pb.scope) &&
      pa.redirectUri === pb.redirectUri &&
      sameSecret(pa.codeVerifier, pb.codeVerifier) &&
      sameSecret(pa.serverState, pb.serverState));
  const ea = a.lastError;
  const eb = b.lastError;
  const sameError =
    ea === eb || (ea !== null && eb !== null && ea.code === eb.code && ea.message === eb.message && ea.at === eb.at && ea.retryAt === eb.retryAt);
  return (
    a.grantId === b.grantId &&
    a.client === b.client &&
    a.state === b.state &&
    a.version === b.version &&
    sameStrings(a.scope, b.scope) &&
    sameSecret(a.accessToken, b.accessToken) &&
    a.accessTokenExpiresAt === b.accessTokenExpiresAt &&
    sameSecret(a.refreshToken, b.refreshToken) &&
    sameSecret(a.idToken, b.idToken) &&
    a.tokenType === b.tokenType &&
    a.tokensIssuedAt === b.tokensIssuedAt &&
    a.authorizationOrder === b.authorizationOrder &&
    samePending &&
    (a.lease === b.lease || (a.lease !== null && b.lease !== null && a.lease.owner === b.lease.owner && a.lease.until === b.lease.until)) &&
    a.reauthReason === b.reauthReason &&
    sameError &&
    a.createdAt === b.createdAt &&
    a.updatedAt === b.updatedAt
  );
}

/** Why `value` is not a {@link ClientRecord} (naming the field, never showing a value), or undefined. */
export function clientRecordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'the client record must be an object';
  const c = value;
  if (typeof c.id !== 'string' || c.id === '') return 'field "id" must be a non-empty string';
  if (typeof c.provider !== 'string' || c.provider === '') return 'field "provider" must be a non-empty string';
  if (!isObject(c.providerOptions)) return 'field "providerOptions" must be a plain object';
  if (typeof c.clientId !== 'string') return 'field "clientId" must be a string';
  if (!(c.clientSecret instanceof Secret)) return 'field "clientSecret" must be a Secret';
  if (typeof c.redirectUri !== 'string') return 'field "redirectUri" must be a string';
  if (!isInteger(c.createdAt)) return 'field "createdAt" must be an integer (epoch ms)';
  if (!isInteger(c.updatedAt)) return 'field "updatedAt" must be an integer (epoch ms)';
  return undefined;
}

/** Throws a {@link CorruptRecordError} naming `key` unless `value` is a well-formed client record. */
export function assertClientRecord(value: unknown, key: string): asserts value is ClientRecord {
  const problem = clientRecordProblem(value);
  if (problem !== undefined) throw new CorruptRecordError(key, problem);
}

/**
 * Throws an {@link InvalidArgumentError} unless `value` is a client record every adapter can store:
 * the shape of {@link assertClientRecord}, a storable id, and JSON-serialisable `providerOptions`.
 */
export function assertWritableClientRecord(value: unknown): asserts value is ClientRecord {
  let problem = clientRecordProblem(value);
  if (problem === undefined) {
    const c = value as ClientRecord;
    problem =
      storableTextProblem(c.id, 'id', MAX_CLIENT_ID_BYTES) ??
      storableTextProblem(c.provider, 'provider') ??
      storableTextProblem(c.clientId, 'clientId') ??
      storableTextProblem(c.redirectUri, 'redirectUri') ??
      storableTextProblem(c.clientSecret.reveal(), 'clientSecret') ??
      jsonProblem(c.providerOptions, 'providerOptions');
  }
  if (problem !== undefined) throw new InvalidArgumentError(`invalid client record: ${problem}`);
}

function jsonProblem(value: unknown, field: string): string | undefined {
  try {
    JSON.stringify(value);
    return undefined;
  } catch {
    return `field "${field}" must be JSON-serialisable`;
  }
}

/**
 * A frozen copy of a client record. `providerOptions` goes through JSON, as it does in a SQL column,
 * so every adapter returns the same value (undefined members dropped, dates as strings).
 */
export function freezeClientRecord(record: ClientRecord, providerOptions?: Readonly<Record<string, unknown>>): ClientRecord {
  return Object.freeze({
    id: record.id,
    provider: record.provider,
    providerOptions: deepFreeze(providerOptions ?? (JSON.parse(JSON.stringify(record.providerOptions)) as Record<string, unknown>)),
    clientId: record.clientId,
    clientSecret: record.clientSecret,
    redirectUri: record.redirectUri,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/**
 * Orders ids by Unicode code point, which is UTF-8 byte order: what SQLite's BINARY collation and
 * PostgreSQL's "C" collation do. Plain `<` compares UTF-16 code units, which puts U+E000–U+FFFF after
 * astral characters; this comparator agrees with the databases instead.
 *
 * @example
 * ['\u{1F600}', '\uFFFD'].sort(compareCodePoints); // ['\uFFFD', '\u{1F600}']
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Both at or above the surrogate range: move U+E000–U+FFFF below the surrogates.
      if (x >= 0xd800 && y >= 0xd800) return shiftAboveSurrogates(x) - shiftAboveSurrogates(y);
      return x - y;
    }
  }
  return a.length - b.length;
}

function shiftAboveSurrogates(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
