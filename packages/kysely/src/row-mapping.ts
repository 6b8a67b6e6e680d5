import {
  assertClientRecord,
  assertGrantRecord,
  CorruptRecordError,
  freezeClientRecord,
  freezeOwnedGrantRecord,
  Secret,
  StoreError,
  type ClientRecord,
  type GrantRecord,
} from '@tokenvault/core';
import type { SecretCodec, SecretLocation } from './secret-codec';
import type { SecretMemo } from './secret-memo';

/**
 * The one mapping between records and rows, for SQLite and PostgreSQL alike: rows are read as
 * untrusted (a foreign writer, a damaged file, a newer schema) and every value is checked, so a bad
 * row becomes a {@link CorruptRecordError} naming its key instead of a crash or a wrong record.
 */

/** The grants table's columns, in the order inserts bind them. */
export const GRANT_COLUMNS = [
  'grant_id',
  'client',
  'state',
  'version',
  'scope',
  'access_token',
  'access_token_expires_at',
  'refresh_token',
  'id_token',
  'token_type',
  'tokens_issued_at',
  'pending',
  'pending_state_hash',
  'pending_code_verifier',
  'pending_server_state',
  'lease_owner',
  'lease_until',
  'reauth_reason',
  'last_error',
  'created_at',
  'updated_at',
  'authorization_order',
] as const;

export type GrantColumn = (typeof GRANT_COLUMNS)[number];

/**
 * A grants row from its values in {@link GRANT_COLUMNS} order (a raw-mode SQLite result). Written out
 * as one literal: building the object in JavaScript costs far less than having the driver do it.
 */
export function grantRowFromValues(v: readonly unknown[]): Record<GrantColumn, unknown> {
  return {
    grant_id: v[0],
    client: v[1],
    state: v[2],
    version: v[3],
    scope: v[4],
    access_token: v[5],
    access_token_expires_at: v[6],
    refresh_token: v[7],
    id_token: v[8],
    token_type: v[9],
    tokens_issued_at: v[10],
    pending: v[11],
    pending_state_hash: v[12],
    pending_code_verifier: v[13],
    pending_server_state: v[14],
    lease_owner: v[15],
    lease_until: v[16],
    reauth_reason: v[17],
    last_error: v[18],
    created_at: v[19],
    updated_at: v[20],
    authorization_order: v[21],
  };
}

/**
 * The grants columns that hold 64-bit integers (epoch milliseconds, versions): `bigint` in PostgreSQL,
 * `integer` in SQLite; every other column is text. Statements that must name types (PostgreSQL's
 * `VALUES` lists) read it here; a test checks it against the migrated table.
 */
export const INT64_GRANT_COLUMNS: ReadonlySet<GrantColumn> = new Set<GrantColumn>([
  'version',
  'access_token_expires_at',
  'tokens_issued_at',
  'lease_until',
  'created_at',
  'updated_at',
  'authorization_order',
]);

/** A grants row as written: text, integers and nulls only. */
export type GrantRow = { [C in GrantColumn]: string | number | null };

/** What a compare-and-set writes: every column but the key. */
export const CAS_COLUMNS = GRANT_COLUMNS.filter((c): c is Exclude<GrantColumn, 'grant_id'> => c !== 'grant_id');

/** The compare-and-set statement's parameters: the new values in {@link CAS_COLUMNS} order, then the key and the expected version. */
export function casParameters(row: GrantRow, expectedVersion: number): unknown[] {
  const parameters: unknown[] = CAS_COLUMNS.map((c) => row[c]);
  parameters.push(row.grant_id, expectedVersion);
  return parameters;
}

export const CLIENT_COLUMNS = [
  'id',
  'provider',
  'provider_options',
  'client_id',
  'client_secret',
  'redirect_uri',
  'created_at',
  'updated_at',
] as const;

export type ClientColumn = (typeof CLIENT_COLUMNS)[number];
export type ClientRow = { [C in ClientColumn]: string | number };

/** What the pending column's JSON holds; its state hash and secrets have columns of their own. */
interface PendingJson {
  readonly deadline: number;
  readonly scope: readonly string[];
  readonly redirectUri: string;
}

function encodeSecret(secret: Secret | null, codec: SecretCodec | undefined, at: SecretLocation, memo: SecretMemo | undefined): string | null {
  if (secret === null) return null;
  if (codec === undefined) return secret.reveal();
  const unchanged = memo?.storedText(secret, at);
  if (unchanged !== undefined) return unchanged;
  let text: string;
  try {
    text = codec.encode(secret.reveal(), at);
  } catch (e) {
    // The codec's own error might quote what it was given: only its class name is kept.
    throw new StoreError(`the secret codec could not encode column "${at.column}" (${errorName(e)})`);
  }
  memo?.remember(secret, at, text);
  return text;
}

/**
 * The row that stores `record`. Secrets go through `codec` (when there is one) with their location
 * as associated data.
 *
 * @example
 * await db.insertInto('tokenvault_grants').values(grantToRow(record, undefined)).execute();
 */
export function grantToRow(record: GrantRecord, codec: SecretCodec | undefined, memo?: SecretMemo): GrantRow {
  const key = record.grantId;
  const at = (column: string): SecretLocation => ({ table: 'grants', column, key });
  const p = record.pending;
  const pending: PendingJson | null = p === null ? null : { deadline: p.deadline, scope: p.scope, redirectUri: p.redirectUri };
  return {
    grant_id: key,
    client: record.client,
    state: record.state,
    version: record.version,
    scope: JSON.stringify(record.scope),
    access_token: encodeSecret(record.accessToken, codec, at('access_token'), memo),
    access_token_expires_at: record.accessTokenExpiresAt,
    refresh_token: encodeSecret(record.refreshToken, codec, at('refresh_token'), memo),
    id_token: encodeSecret(record.idToken, codec, at('id_token'), memo),
    token_type: record.tokenType,
    tokens_issued_at: record.tokensIssuedAt,
    pending: pending === null ? null : JSON.stringify(pending),
    pending_state_hash: p?.stateHash ?? null,
    pending_code_verifier: encodeSecret(p?.codeVerifier ?? null, codec, at('pending_code_verifier'), memo),
    pending_server_state: encodeSecret(p?.serverState ?? null, codec, at('pending_server_state'), memo),
    lease_owner: record.lease?.owner ?? null,
    lease_until: record.lease?.until ?? null,
    reauth_reason: record.reauthReason,
    last_error: record.lastError === null ? null : JSON.stringify(record.lastError),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    authorization_order: record.authorizationOrder,
  };
}

/** Thrown inside the mapping, turned into a CorruptRecordError naming the row's key. */
class BadColumn {
  constructor(readonly message: string) {}
}

/**
 * An integer column's value: pg returns `bigint` as a string, SQLite as a number. Anything that is
 * not an exact safe integer is refused rather than rounded: a {@link CorruptRecordError} naming `key`.
 *
 * @example
 * readInteger('1700000000000', 'lease_until', 'alice'); // 1700000000000
 */
export function readInteger(value: unknown, column: string, key: string): number {
  try {
    return readIntegerColumn(value, column);
  } catch (e) {
    return corrupt(key, e);
  }
}

function readIntegerColumn(value: unknown, column: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,16}$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  if (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(value);
  }
  throw new BadColumn(`column "${column}" must hold an integer`);
}

function readIntegerOrNull(value: unknown, column: string): number | null {
  return value === null ? null : readIntegerColumn(value, column);
}

function readJson(value: unknown, column: string): unknown {
  if (typeof value !== 'string') throw new BadColumn(`column "${column}" must hold JSON text`);
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new BadColumn(`column "${column}" does not hold valid JSON`);
  }
}

function readJsonObjectOrNull(value: unknown, column: string): Record<string, unknown> | null {
  if (value === null) return null;
  const parsed = readJson(value, column);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadColumn(`column "${column}" must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

function readSecret(
  value: unknown,
  codec: SecretCodec | undefined,
  table: SecretLocation['table'],
  column: string,
  key: string,
  memo?: SecretMemo,
): Secret | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw new BadColumn(`column "${column}" must hold text`);
  if (codec === undefined) return new Secret(value);
  const at: SecretLocation = { table, column, key };
  let plain: unknown;
  try {
    plain = codec.decode(value, at);
  } catch (e) {
    throw new BadColumn(`column "${at.column}" could not be decoded (${errorName(e)})`);
  }
  if (typeof plain !== 'string') throw new BadColumn(`column "${at.column}" decoded to something other than text`);
  const secret = new Secret(plain);
  memo?.remember(secret, at, value);
  return secret;
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e;
}

/**
 * Parsed scope lists by their JSON text. A store holds a handful of distinct scopes however many
 * grants it has, so a page of 1,000 rows parses a few instead of 1,000. The lists are frozen and
 * shared between records, which are immutable anyway. Bounded: it starts over past `capacity`.
 */
export class ScopeCache {
  readonly #lists = new Map<string, readonly string[]>();

  constructor(private readonly capacity = 256) {}

  read(value: unknown): unknown {
    if (typeof value !== 'string') return readJson(value, 'scope');
    const hit = this.#lists.get(value);
    if (hit !== undefined) return hit;
    const parsed = readJson(value, 'scope');
    // Only a valid list is kept; anything else goes on to fail validation as usual.
    if (Array.isArray(parsed) && parsed.every((s) => typeof s === 'string')) {
      if (this.#lists.size >= this.capacity) this.#lists.clear();
      this.#lists.set(value, Object.freeze(parsed as string[]));
    }
    return parsed;
  }
}

/** The key a row reports under: its primary key when that is text, else a printable stand-in. */
function rowKey(value: unknown): string {
  return typeof value === 'string' ? value : `<${value === null ? 'null' : typeof value} key>`;
}

/** A row's text key (grant id, client id) for a page cursor; a {@link CorruptRecordError} when it is not text. */
export function readRowKey(value: unknown, column: string): string {
  if (typeof value === 'string') return value;
  throw new CorruptRecordError(rowKey(value), `column "${column}" must hold text`);
}

function corrupt(key: string, e: unknown): never {
  if (e instanceof BadColumn) throw new CorruptRecordError(key, e.message);
  throw e;
}

/**
 * The record a grants row holds. Throws a {@link CorruptRecordError} naming the grant when a column
 * does not parse or decode, or the result is not a valid record; the message names the column, never
 * its value.
 *
 * @example
 * const row = await db.selectFrom('tokenvault_grants').selectAll().where('grant_id', '=', 'alice').executeTakeFirst();
 * const record = row && rowToGrant(row, undefined);
 */
export function rowToGrant(row: Readonly<Record<string, unknown>>, codec: SecretCodec | undefined, scopes?: ScopeCache, memo?: SecretMemo): GrantRecord {
  const key = rowKey(row.grant_id);
  let record: Record<string, unknown>;
  try {
    if (typeof row.grant_id !== 'string') throw new BadColumn('column "grant_id" must hold text');
    const pending = readJsonObjectOrNull(row.pending, 'pending');
    const lastError = readJsonObjectOrNull(row.last_error, 'last_error');
    const leaseOwner = row.lease_owner;
    const leaseUntil = row.lease_until;
    // Fields in the contract's order, nested objects rebuilt field by field: the result holds exactly
    // the record's shape whatever extra members a foreign writer left in the JSON.
    record = {
      grantId: key,
      client: row.client,
      state: row.state,
      version: readIntegerColumn(row.version, 'version'),
      scope: scopes === undefined ? readJson(row.scope, 'scope') : scopes.read(row.scope),
      accessToken: readSecret(row.access_token, codec, 'grants', 'access_token', key, memo),
      accessTokenExpiresAt: readIntegerOrNull(row.access_token_expires_at, 'access_token_expires_at'),
      refreshToken: readSecret(row.refresh_token, codec, 'grants', 'refresh_token', key, memo),
      idToken: readSecret(row.id_token, codec, 'grants', 'id_token', key, memo),
      tokenType: row.token_type,
      tokensIssuedAt: readIntegerOrNull(row.tokens_issued_at, 'tokens_issued_at'),
      authorizationOrder: readIntegerOrNull(row.authorization_order, 'authorization_order'),
      pending:
        pending === null
          ? null
          : {
              stateHash: row.pending_state_hash,
              deadline: pending.deadline,
              scope: pending.scope,
              redirectUri: pending.redirectUri,
              codeVerifier: readSecret(row.pending_code_verifier, codec, 'grants', 'pending_code_verifier', key, memo),
              serverState: readSecret(row.pending_server_state, codec, 'grants', 'pending_server_state', key, memo),
            },
      lease: leaseOwner === null && leaseUntil === null ? null : { owner: leaseOwner, until: readIntegerColumn(leaseUntil, 'lease_until') },
      reauthReason: row.reauth_reason,
      lastError:
        lastError === null ? null : { code: lastError.code, message: lastError.message, at: lastError.at, retryAt: lastError.retryAt },
      createdAt: readIntegerColumn(row.created_at, 'created_at'),
      updatedAt: readIntegerColumn(row.updated_at, 'updated_at'),
    };
  } catch (e) {
    return corrupt(key, e);
  }
  assertGrantRecord(record, key);
  return freezeOwnedGrantRecord(record);
}

/** The row that stores a client; its secret goes through `codec`. */
export function clientToRow(record: ClientRecord, codec: SecretCodec | undefined): ClientRow {
  return {
    id: record.id,
    provider: record.provider,
    provider_options: JSON.stringify(record.providerOptions),
    client_id: record.clientId,
    client_secret: encodeSecret(record.clientSecret, codec, { table: 'clients', column: 'client_secret', key: record.id }, undefined) as string,
    redirect_uri: record.redirectUri,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

/** The client a clients row holds; a {@link CorruptRecordError} naming the client when it does not read back. */
export function rowToClient(row: Readonly<Record<string, unknown>>, codec: SecretCodec | undefined): ClientRecord {
  const key = rowKey(row.id);
  let record: Record<string, unknown>;
  let options: Record<string, unknown> | null;
  try {
    options = readJsonObjectOrNull(row.provider_options, 'provider_options');
    record = {
      id: row.id,
      provider: row.provider,
      providerOptions: options,
      clientId: row.client_id,
      clientSecret: readSecret(row.client_secret, codec, 'clients', 'client_secret', key),
      redirectUri: row.redirect_uri,
      createdAt: readIntegerColumn(row.created_at, 'created_at'),
      updatedAt: readIntegerColumn(row.updated_at, 'updated_at'),
    };
  } catch (e) {
    return corrupt(key, e);
  }
  assertClientRecord(record, key);
  return freezeClientRecord(record, options ?? {});
}
