/**
 * @tokenvault/kysely — the tokenvault store on Kysely: SQLite through better-sqlite3 (the embedded
 * default) and PostgreSQL through pg, with the migrations shipped in code.
 *
 * @example
 * import { sqliteStore } from '@tokenvault/kysely';
 * const store = sqliteStore({ filename: 'tokenvault.db' });
 */
export { KyselyGrantStore, kyselyStore, type CreateManyOptions, type KyselyStoreOptions } from './kysely-grant-store';
export { sqliteStore, type SqliteStoreOptions } from './sqlite-store';
export { postgresStore, type PostgresStoreOptions } from './postgres-store';
export { createTokenVaultMigrator, migrateToLatest, tokenVaultMigrations, type MigrationOptions } from './migrations';
export type { SecretCodec, SecretLocation } from './secret-codec';
// security: encryption at rest and rekey
export { RekeyableKyselyStore } from './rekeyable-kysely-store';
export { MAX_LISTED_UNREADABLE, MIN_ROWS_FOR_WORKERS, rekeyTables, type RekeyOptions, type RekeyProgress, type RekeySummary, type RekeyTableSummary, type RekeyTarget } from './kysely-rekey';
export { resolveStoreEncryption, type EncryptionContext, type StoreEncryption, type StoreWarningLogger } from './store-encryption';
export type { StoreRetryOptions } from './store-retry';
export { DriverError } from './driver-errors';
export { DEFAULT_TABLE_PREFIX, tableNames, type StoreDialect, type TableNames } from './table-names';
