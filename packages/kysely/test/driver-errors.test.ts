import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { classifyPostgresError, classifySqliteError, DriverError, isStateHashConflict, toStoreError } from '../src/driver-errors';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('driver error classification', () => {
  it.each([
    ['SQLITE_BUSY', 'retry'],
    ['SQLITE_BUSY_SNAPSHOT', 'retry'],
    ['SQLITE_LOCKED_SHAREDCACHE', 'retry'],
    ['SQLITE_CONSTRAINT_UNIQUE', 'fail'],
    ['SQLITE_READONLY', 'fail'],
  ])('SQLite %s → %s', (code, kind) => {
    expect(classifySqliteError(withCode(code))).toBe(kind);
  });

  it.each([
    [withCode('40001'), 'retry'],
    [withCode('40P01'), 'retry'],
    [withCode('ECONNREFUSED'), 'retry'],
    [new Error('timeout exceeded when trying to connect'), 'retry'],
    [withCode('57P01'), 'retry-ambiguous'],
    [withCode('ECONNRESET'), 'retry-ambiguous'],
    [new Error('Connection terminated unexpectedly'), 'retry-ambiguous'],
    [withCode('23505'), 'fail'],
    [withCode('42P01'), 'fail'],
    ['not even an error', 'fail'],
  ])('PostgreSQL %s → %s', (error, kind) => {
    expect(classifyPostgresError(error)).toBe(kind);
  });

  it('recognises a state-hash conflict in both dialects, and nothing else', () => {
    expect(isStateHashConflict(withCode('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: tokenvault_grants.pending_state_hash'), 'i')).toBe(true);
    expect(isStateHashConflict(withCode('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: tokenvault_clients.id'), 'i')).toBe(false);
    expect(isStateHashConflict(Object.assign(withCode('23505'), { constraint: 'tokenvault_grants_state_hash_key' }), 'tokenvault_grants_state_hash_key')).toBe(true);
    expect(isStateHashConflict(Object.assign(withCode('23505'), { constraint: 'other' }), 'tokenvault_grants_state_hash_key')).toBe(false);
  });
});

describe('toStoreError', () => {
  it('keeps the code, message and names, but drops PostgreSQL detail, where and the query', () => {
    const pgError = Object.assign(new Error('null value in column "client" violates not-null constraint'), {
      code: '23502',
      table: 'tokenvault_grants',
      column: 'client',
      detail: 'Failing row contains (alice, null, authorized, 1, [], SECRET-ACCESS-TOKEN, …).',
      where: 'SQL statement … SECRET-ACCESS-TOKEN',
      internalQuery: 'insert … SECRET-ACCESS-TOKEN',
    });
    const error = toStoreError('create', pgError);
    expect(error).toMatchObject({ code: 'store_error', cause: { code: '23502', table: 'tokenvault_grants', column: 'client' } });
    expect(error.cause).toBeInstanceOf(DriverError);
    expect(error.message).toBe('create failed (23502): null value in column "client" violates not-null constraint');
    expect(`${inspect(error, { depth: 10 })} ${JSON.stringify(error)} ${error.stack}`).not.toContain('SECRET-ACCESS-TOKEN');
  });
});
