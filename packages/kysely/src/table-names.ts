import { InvalidArgumentError } from '@tokenvault/core';

/** Which SQL dialect a Kysely instance speaks. */
export type StoreDialect = 'sqlite' | 'postgres';

/** Prefix of every table, index and migration table tokenvault creates, unless told otherwise. */
export const DEFAULT_TABLE_PREFIX = 'tokenvault_';

/**
 * The names of everything tokenvault creates. The migration tables are tokenvault's own, so that
 * they never mix with the application's Kysely migrations in the same database.
 */
export interface TableNames {
  readonly grants: string;
  readonly clients: string;
  readonly migration: string;
  readonly migrationLock: string;
  readonly dueIndex: string;
  readonly leaseIndex: string;
  readonly stateHashIndex: string;
  readonly clientIndex: string;
  readonly stateIndex: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

/**
 * Checks a name that goes into SQL as an identifier (a table prefix, a schema): letters, digits and
 * underscores, at most 40 characters. Throws an {@link InvalidArgumentError} otherwise.
 */
export function assertSqlIdentifier(name: string, label: string, allowEmpty = false): void {
  if (typeof name !== 'string' || !((allowEmpty && name === '') || IDENTIFIER.test(name))) {
    throw new InvalidArgumentError(`"${label}" must be letters, digits and underscores (at most 40, not starting with a digit)`);
  }
}

/**
 * Names for a table prefix.
 *
 * @example
 * tableNames('tokenvault_').grants; // 'tokenvault_grants'
 */
export function tableNames(prefix: string = DEFAULT_TABLE_PREFIX): TableNames {
  assertSqlIdentifier(prefix, 'tablePrefix', true);
  return {
    grants: `${prefix}grants`,
    clients: `${prefix}clients`,
    migration: `${prefix}migration`,
    migrationLock: `${prefix}migration_lock`,
    dueIndex: `${prefix}grants_due_idx`,
    leaseIndex: `${prefix}grants_lease_idx`,
    stateHashIndex: `${prefix}grants_state_hash_key`,
    clientIndex: `${prefix}grants_client_idx`,
    stateIndex: `${prefix}grants_state_idx`,
  };
}
