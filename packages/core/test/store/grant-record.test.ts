import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CorruptRecordError, InvalidArgumentError } from '../../src/errors/errors';
import {
  assertGrantRecord,
  assertWritableClientRecord,
  assertWritableGrantRecord,
  freezeClientRecord,
  freezeGrantRecord,
  grantRecordsEqual,
} from '../../src/store/grant-record';
import { Secret } from '../../src/util/secret';
import { grantRecord } from './grant-record-fixture';

const pending = {
  stateHash: 'hash',
  deadline: 1,
  scope: ['r_profile'],
  redirectUri: 'https://a/cb',
  codeVerifier: new Secret('verifier-value'),
  serverState: null,
};

describe('assertGrantRecord', () => {
  it('accepts every well-formed record, in every state', () => {
    expect(() => assertGrantRecord(grantRecord(), 'alice')).not.toThrow();
    expect(() => assertGrantRecord(grantRecord({ state: 'refreshing', lease: { owner: 'w', until: 5 } }), 'k')).not.toThrow();
    expect(() => assertGrantRecord(grantRecord({ state: 'reauthRequired', reauthReason: 'token_revoked' }), 'k')).not.toThrow();
    expect(() => assertGrantRecord(grantRecord({ state: 'awaitingCode', pending }), 'k')).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    ['not an object', 'alice', 'the record must be an object'],
    ['an array', [], 'the record must be an object'],
    ['an unknown state', grantRecord({ state: 'sleeping' as never }), '"state"'],
    ['version 0', grantRecord({ version: 0 }), '"version"'],
    ['a string token', grantRecord({ accessToken: 'access-token-value' as never }), '"accessToken"'],
    ['a fractional time', grantRecord({ updatedAt: 1.5 }), '"updatedAt"'],
    ['a time beyond safe integers', grantRecord({ accessTokenExpiresAt: 2 ** 53 }), '"accessTokenExpiresAt"'],
    ['a scope of numbers', grantRecord({ scope: [1] as never }), '"scope"'],
    ['a lease while authorized', grantRecord({ lease: { owner: 'w', until: 1 } }), '"lease" must be set exactly'],
    ['refreshing without lease', grantRecord({ state: 'refreshing' }), '"lease" must be set exactly'],
    ['a lease without owner', grantRecord({ state: 'refreshing', lease: { owner: '', until: 1 } }), '"lease.owner"'],
    ['an unknown reauth reason', grantRecord({ state: 'reauthRequired', reauthReason: 'bored' as never }), '"reauthReason"'],
    ['a reason while authorized', grantRecord({ reauthReason: 'token_revoked' }), '"reauthReason" must be set exactly'],
    ['a pending without hash', grantRecord({ pending: { ...pending, stateHash: '' } }), '"pending.stateHash"'],
    ['a plain code verifier', grantRecord({ pending: { ...pending, codeVerifier: 'v' as never } }), '"pending.codeVerifier"'],
    ['a last error without time', grantRecord({ lastError: { code: 'x', message: 'm', at: null as never, retryAt: null } }), '"lastError.at"'],
  ])('refuses %s with a CorruptRecordError naming the key and the field', (_label, value, expected) => {
    const error = (() => {
      try {
        assertGrantRecord(value, 'the-key');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({ key: 'the-key', code: 'store_corrupt_record' });
    expect((error as Error).message).toContain(expected);
  });

  it('never shows a secret in its message', () => {
    const record = grantRecord({ state: 'bogus' as never, accessToken: new Secret('s3cr3t-value') });
    try {
      assertGrantRecord(record, 'k');
    } catch (e) {
      expect(`${(e as Error).message} ${inspect(e)} ${JSON.stringify(e)}`).not.toContain('s3cr3t-value');
    }
    expect.assertions(1);
  });
});

describe('assertWritableGrantRecord', () => {
  it('throws InvalidArgumentError (a programming error), not CorruptRecordError', () => {
    expect(() => assertWritableGrantRecord(grantRecord({ version: 0 }))).toThrow(InvalidArgumentError);
  });

  it.each<[string, Partial<ReturnType<typeof grantRecord>>]>([
    ['a NUL in the grant id', { grantId: 'a\0b' }],
    ['a lone surrogate in the grant id', { grantId: 'a\uDC00' }],
    ['a grant id over 1,024 UTF-8 bytes', { grantId: 'あ'.repeat(342) }],
    ['a client id over 256 bytes', { client: 'c'.repeat(257) }],
    ['a NUL inside a token', { accessToken: new Secret('to\0ken') }],
    ['a lone surrogate in the token type', { tokenType: '\uD800' }],
  ])('refuses text no database keeps intact: %s', (_label, override) => {
    expect(() => assertWritableGrantRecord(grantRecord(override))).toThrow(InvalidArgumentError);
  });

  it('accepts a grant id of exactly 1,024 UTF-8 bytes and astral characters', () => {
    expect(() => assertWritableGrantRecord(grantRecord({ grantId: 'あ'.repeat(341) + 'x' }))).not.toThrow();
    expect(() => assertWritableGrantRecord(grantRecord({ grantId: '\u{1F600}' }))).not.toThrow();
  });
});

describe('freezeGrantRecord', () => {
  it('returns a deeply frozen copy holding only the contract fields', () => {
    const scope = ['r_profile'];
    const input = { ...grantRecord({ scope, state: 'awaitingCode', pending }), extra: 'dropped' };
    const frozen = freezeGrantRecord(input);
    scope.push('w_voice');
    expect(frozen.scope).toEqual(['r_profile']);
    expect(Object.isFrozen(frozen) && Object.isFrozen(frozen.scope) && Object.isFrozen(frozen.pending)).toBe(true);
    expect(Object.isFrozen(frozen.pending?.scope)).toBe(true);
    expect('extra' in frozen).toBe(false);
    expect(frozen.accessToken).toBe(input.accessToken);
  });
});

describe('grantRecordsEqual', () => {
  it('compares secrets by value and every field', () => {
    const a = grantRecord();
    expect(grantRecordsEqual(a, { ...a, accessToken: new Secret('access-token-value') })).toBe(true);
    expect(grantRecordsEqual(a, { ...a, accessToken: new Secret('other') })).toBe(false);
    expect(grantRecordsEqual(a, { ...a, scope: ['r_profile', 'x'] })).toBe(false);
    expect(grantRecordsEqual(a, { ...a, updatedAt: a.updatedAt + 1 })).toBe(false);
    expect(grantRecordsEqual(a, undefined)).toBe(false);
    const withPending = grantRecord({ pending });
    expect(grantRecordsEqual(withPending, { ...withPending, pending: { ...pending, codeVerifier: new Secret('verifier-value') } })).toBe(true);
    expect(grantRecordsEqual(withPending, { ...withPending, pending: { ...pending, deadline: 2 } })).toBe(false);
  });
});

describe('client records', () => {
  const client = {
    id: 'mixi',
    provider: 'mixi',
    providerOptions: { endpoints: { token: 'https://x' }, skip: undefined },
    clientId: 'key',
    clientSecret: new Secret('consumer-secret'),
    redirectUri: 'https://a/cb',
    createdAt: 1,
    updatedAt: 1,
  };

  it('freezes provider options as JSON would store them', () => {
    const frozen = freezeClientRecord(client);
    expect(frozen.providerOptions).toEqual({ endpoints: { token: 'https://x' } });
    expect(Object.isFrozen((frozen.providerOptions as { endpoints: object }).endpoints)).toBe(true);
  });

  it('refuses options that are not JSON and secrets that are plain strings', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => assertWritableClientRecord({ ...client, providerOptions: cyclic })).toThrow(InvalidArgumentError);
    expect(() => assertWritableClientRecord({ ...client, clientSecret: 'consumer-secret' })).toThrow(InvalidArgumentError);
    expect(() => assertWritableClientRecord(client)).not.toThrow();
  });
});
