import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CorruptRecordError, Secret } from '@tokenvault/core';
import { BASE_TIME, makeClientRecord, makeGrantRecord, toPlainClient, toPlainGrant } from '@tokenvault/store-conformance';
import { clientToRow, GRANT_COLUMNS, grantRowFromValues, grantToRow, rowToClient, rowToGrant, ScopeCache } from '../src/row-mapping';

const full = makeGrantRecord({
  state: 'refreshing',
  lease: { owner: 'w1', until: BASE_TIME + 30_000 },
  idToken: new Secret('id-token'),
  pending: { stateHash: 'h', deadline: BASE_TIME, scope: ['openid'], redirectUri: 'https://a/cb', codeVerifier: new Secret('v'), serverState: new Secret('s') },
  lastError: { code: 'provider_unavailable', message: 'the provider answered 503', at: BASE_TIME, retryAt: BASE_TIME + 5 },
});

function corruptError(row: Record<string, unknown>): unknown {
  try {
    rowToGrant(row, undefined);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('grant rows', () => {
  it('round-trip every field, nested objects and secrets included', () => {
    expect(toPlainGrant(rowToGrant(grantToRow(full, undefined), undefined))).toEqual(toPlainGrant(full));
  });

  it('keep secrets in their own columns and out of the JSON ones', () => {
    const row = grantToRow(full, undefined);
    expect(row.pending_code_verifier).toBe('v');
    expect(row.pending_server_state).toBe('s');
    expect(`${row.pending} ${row.scope} ${row.last_error}`).not.toMatch(/"v"|"s"|id-token/);
  });

  it('read PostgreSQL bigint strings and exact bigints as numbers', () => {
    const row = { ...grantToRow(full, undefined), version: '7', lease_until: String(BASE_TIME + 30_000), created_at: BigInt(BASE_TIME) };
    const record = rowToGrant(row, undefined);
    expect(record.version).toBe(7);
    expect(record.lease?.until).toBe(BASE_TIME + 30_000);
    expect(record.createdAt).toBe(BASE_TIME);
  });

  it('come back deeply frozen, with exactly the contract’s fields', () => {
    const row = { ...grantToRow(full, undefined), last_error: JSON.stringify({ ...full.lastError, extra: 'foreign' }) };
    const record = rowToGrant(row, undefined);
    expect(Object.isFrozen(record) && Object.isFrozen(record.scope) && Object.isFrozen(record.pending) && Object.isFrozen(record.lastError)).toBe(true);
    expect(record.lastError).not.toHaveProperty('extra');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an integer too large to be exact', { version: '9007199254740993' }, '"version"'],
    ['a fractional number', { access_token_expires_at: 1.5 }, '"access_token_expires_at"'],
    ['text in a number column', { created_at: 'yesterday' }, '"created_at"'],
    ['JSON that does not parse', { scope: '["r_profile"' }, '"scope"'],
    ['a JSON array where an object belongs', { pending: '[]' }, '"pending"'],
    ['a number in a secret column', { access_token: 42 }, '"access_token"'],
    ['a pending without its state hash', { pending_state_hash: null }, '"pending.stateHash"'],
    ['an unknown state', { state: 'sleeping' }, '"state"'],
  ])('report %s as a CorruptRecordError naming the grant and the column, not the value', (_label, damage, named) => {
    const error = corruptError({ ...grantToRow(full, undefined), ...damage });
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({ key: full.grantId });
    expect((error as Error).message).toContain(named);
    expect(inspect(error)).not.toContain(full.accessToken?.reveal() as string);
  });

  it('report a row whose key is not text under a stand-in key', () => {
    expect(corruptError({ ...grantToRow(full, undefined), grant_id: 12 })).toMatchObject({ key: '<number key>' });
  });

  it('build a row object from raw values in column order', () => {
    const row = grantToRow(full, undefined);
    expect(grantRowFromValues(GRANT_COLUMNS.map((c) => row[c]))).toEqual(row);
  });
});

describe('the scope cache', () => {
  it('shares one frozen list between rows with the same scope text, and still reports bad JSON', () => {
    const scopes = new ScopeCache(2);
    const row = grantToRow(full, undefined);
    const a = rowToGrant(row, undefined, scopes);
    const b = rowToGrant({ ...row, grant_id: 'other' }, undefined, scopes);
    expect(a.scope).toBe(b.scope);
    expect(Object.isFrozen(a.scope)).toBe(true);
    expect(() => rowToGrant({ ...row, scope: '[' }, undefined, scopes)).toThrow(expect.objectContaining({ code: 'store_corrupt_record' }));
    expect(() => rowToGrant({ ...row, scope: '[1]' }, undefined, scopes)).toThrow(expect.objectContaining({ code: 'store_corrupt_record' }));
  });

  it('starts over once full, so it never grows past its capacity', () => {
    const scopes = new ScopeCache(2);
    const first = scopes.read('["a"]');
    scopes.read('["b"]');
    scopes.read('["c"]');
    expect(scopes.read('["a"]')).not.toBe(first);
    expect(scopes.read('["a"]')).toEqual(['a']);
  });
});

describe('client rows', () => {
  it('round-trip, provider options as JSON', () => {
    const client = makeClientRecord({ providerOptions: { endpoints: { token: 'https://x' } } });
    expect(toPlainClient(rowToClient(clientToRow(client, undefined), undefined))).toEqual(toPlainClient(client));
  });

  it('report unparseable options as a CorruptRecordError naming the client', () => {
    const client = makeClientRecord();
    expect(() => rowToClient({ ...clientToRow(client, undefined), provider_options: '{' }, undefined)).toThrow(
      expect.objectContaining({ code: 'store_corrupt_record', key: client.id }),
    );
  });
});
