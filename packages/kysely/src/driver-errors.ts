import { StoreError } from '@tokenvault/core';
import type { StoreDialect } from './table-names';

/**
 * What the store does with a driver error:
 * - `retry`: the statement did not run (SQLITE_BUSY, a serialization failure, no connection yet);
 *   running it again is safe.
 * - `retry-ambiguous`: the connection broke while the statement may have run; run it again, but a
 *   write that then finds nothing to change must check whether its first attempt landed.
 * - `fail`: anything else; surfaces as a {@link StoreError}.
 */
export type DriverFailure = 'retry' | 'retry-ambiguous' | 'fail';

function codeOf(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** SQLITE_BUSY and SQLITE_LOCKED (and their extended codes): another connection holds the lock. */
export function classifySqliteError(e: unknown): DriverFailure {
  const code = codeOf(e);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) ? 'retry' : 'fail';
}

/** SQLSTATEs and socket errors that say the statement never ran. */
const PG_NOT_RUN = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '57P03', // cannot_connect_now
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** SQLSTATEs and socket errors after which the statement may or may not have run. */
const PG_CONNECTION_LOST = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '08000', // connection_exception
  '08003', // connection_does_not_exist
  '08006', // connection_failure
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

/** pg reports some connection losses with a message and no code. */
const PG_LOST_MESSAGE = /Connection terminated|connection error|not queryable|Client was closed/i;
const PG_CONNECT_TIMEOUT = /timeout exceeded when trying to connect/i;

/** Serialization failures, deadlocks and transient connection errors are retried; the rest fails. */
export function classifyPostgresError(e: unknown): DriverFailure {
  const code = codeOf(e);
  if (code !== undefined && PG_NOT_RUN.has(code)) return 'retry';
  if (code !== undefined && PG_CONNECTION_LOST.has(code)) return 'retry-ambiguous';
  const message = messageOf(e);
  if (PG_CONNECT_TIMEOUT.test(message)) return 'retry';
  if (PG_LOST_MESSAGE.test(message)) return 'retry-ambiguous';
  return 'fail';
}

export function classifyDriverError(dialect: StoreDialect, e: unknown): DriverFailure {
  return dialect === 'sqlite' ? classifySqliteError(e) : classifyPostgresError(e);
}

/** True for a unique-constraint violation on the pending state hash (SQLite or PostgreSQL wording). */
export function isStateHashConflict(e: unknown, indexName: string): boolean {
  const code = codeOf(e);
  if (code === '23505') return (e as { constraint?: unknown }).constraint === indexName;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' && messageOf(e).includes('pending_state_hash');
}

/**
 * A driver error without the parts that may quote row values. PostgreSQL's `detail` ("Failing row
 * contains (…)"), `where`, `hint` and `internalQuery` can hold a token, so only the code, the primary
 * message and the names of the table, column and constraint are kept.
 */
export class DriverError extends Error {
  override readonly name = 'DriverError';
  /** SQLSTATE (PostgreSQL), `SQLITE_*` code, or a Node.js socket error code. */
  readonly code: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly constraint: string | undefined;

  constructor(source: unknown) {
    super(messageOf(source));
    const s = (typeof source === 'object' && source !== null ? source : {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    this.code = codeOf(source);
    this.table = text(s.table);
    this.column = text(s.column);
    this.constraint = text(s.constraint);
    if (source instanceof Error && source.stack !== undefined) {
      this.stack = `DriverError: ${this.message}\n${source.stack.split('\n').slice(1).join('\n')}`;
    }
  }
}

/**
 * The {@link StoreError} for a failed operation: what was being done, the driver's code and message,
 * and a sanitised {@link DriverError} as cause. SQL parameters never appear: statements are always
 * parameterised and no value is interpolated into a message.
 */
export function toStoreError(operation: string, e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const cause = new DriverError(e);
  return new StoreError(`${operation} failed${cause.code ? ` (${cause.code})` : ''}: ${cause.message}`, { cause });
}
