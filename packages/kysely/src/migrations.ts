import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { StoreError } from '@tokenvault/core';
import { assertSqlIdentifier, tableNames, type StoreDialect, type TableNames } from './table-names';

/** Where the tables go and which SQL to write them in. */
export interface MigrationOptions {
  readonly dialect: StoreDialect;
  /** Default `tokenvault_`. Use the same value forever: it names the migration tables too. */
  readonly tablePrefix?: string | undefined;
  /** PostgreSQL schema (created when missing); default: the connection's `search_path`. */
  readonly schema?: string | undefined;
}

interface Context {
  readonly dialect: StoreDialect;
  readonly names: TableNames;
  readonly schema: string | undefined;
}

/**
 * Epoch milliseconds need 64 bits: `bigint` in PostgreSQL (which pg hands back as a string, parsed
 * by the row mapping), `integer` in SQLite (always 64-bit).
 */
function int64(ctx: Context): 'bigint' | 'integer' {
  return ctx.dialect === 'postgres' ? 'bigint' : 'integer';
}

function schemaOf(db: Kysely<any>, ctx: Context) {
  return ctx.schema === undefined ? db.schema : db.schema.withSchema(ctx.schema);
}

/**
 * Text keys sort by code point everywhere: SQLite's default BINARY collation does, PostgreSQL needs
 * "C" (a database's default collation may be linguistic, which would reorder pages across adapters).
 */
function keyCollation(ctx: Context) {
  return ctx.dialect === 'postgres' ? sql`collate "C"` : sql``;
}

/** The grants columns besides (state, expiry, grant_id): what made 0001's SQLite due index covering. */
const DUE_INDEX_PAYLOAD = [
  'client',
  'version',
  'scope',
  'access_token',
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
];

/**
 * 0001: grants and clients. Flat columns for everything a query filters or sorts on; secrets in
 * their own text columns (so a codec can encrypt each); scope, pending and last error as JSON text.
 */
function createGrantsAndClients(ctx: Context): Migration {
  const { names } = ctx;
  const t = int64(ctx);
  const strict = ctx.dialect === 'sqlite' ? sql`strict` : sql``;
  return {
    async up(db) {
      const schema = schemaOf(db, ctx);
      await schema
        .createTable(names.grants)
        .addColumn('grant_id', 'text', (c) => c.primaryKey().notNull().modifyFront(keyCollation(ctx)))
        .addColumn('client', 'text', (c) => c.notNull().modifyFront(keyCollation(ctx)))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('version', t, (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('access_token', 'text')
        .addColumn('access_token_expires_at', t)
        .addColumn('refresh_token', 'text')
        .addColumn('id_token', 'text')
        .addColumn('token_type', 'text')
        .addColumn('tokens_issued_at', t)
        .addColumn('pending', 'text')
        .addColumn('pending_state_hash', 'text')
        .addColumn('pending_code_verifier', 'text')
        .addColumn('pending_server_state', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', t)
        .addColumn('reauth_reason', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', t, (c) => c.notNull())
        .addColumn('updated_at', t, (c) => c.notNull())
        .modifyEnd(strict)
        .execute();
      // Compound rather than partial: SQLite's planner (without statistics) preferred the state index
      // plus a sort over a partial index; with state first, "state = ? AND expiry < ? ORDER BY expiry,
      // grant_id" and the keyset cursor "(expiry, grant_id) > (?, ?)" are one index range, no sort.
      // On SQLite the due index also carries every other column, so a due page is read from the index
      // alone: rows in expiry order are scattered over the table, and fetching 1,000 of them one by one
      // doubled the cost of a page. PostgreSQL cannot do the same (a btree entry must stay under
      // ~2.7 kB, and tokens may be longer), and is not the one-box path where that page time matters.
      const dueColumns = ['state', 'access_token_expires_at', 'grant_id'];
      if (ctx.dialect === 'sqlite') dueColumns.push(...DUE_INDEX_PAYLOAD);
      await schema.createIndex(names.dueIndex).on(names.grants).columns(dueColumns).execute();
      await schema.createIndex(names.leaseIndex).on(names.grants).columns(['state', 'lease_until', 'grant_id']).execute();
      // NULLs are distinct in a unique index (both databases): only pending authorizations take part.
      await schema.createIndex(names.stateHashIndex).on(names.grants).column('pending_state_hash').unique().execute();
      await schema.createIndex(names.clientIndex).on(names.grants).columns(['client', 'grant_id']).execute();
      await schema.createIndex(names.stateIndex).on(names.grants).columns(['state', 'grant_id']).execute();
      await schema
        .createTable(names.clients)
        .addColumn('id', 'text', (c) => c.primaryKey().notNull().modifyFront(keyCollation(ctx)))
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('provider_options', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('client_secret', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('created_at', t, (c) => c.notNull())
        .addColumn('updated_at', t, (c) => c.notNull())
        .modifyEnd(strict)
        .execute();
    },
    async down(db) {
      const schema = schemaOf(db, ctx);
      await schema.dropTable(names.clients).execute();
      await schema.dropTable(names.grants).execute();
    },
  };
}

/**
 * 0002: the SQLite due index without its payload. 0001 made it cover every column so that a due
 * page could be read from the index alone; the due listings now hand out keys (grant id and expiry),
 * which the narrow (state, expiry, grant_id) index covers by itself. The payload cost every write of
 * a token (a refresh, a lease, a rekey) a second copy of the row in the index and doubled the file.
 * PostgreSQL's due index was narrow from the start: nothing to do there.
 */
function narrowDueIndex(ctx: Context): Migration {
  const { names } = ctx;
  const index = (columns: readonly string[]) => async (db: Kysely<any>) => {
    if (ctx.dialect !== 'sqlite') return;
    const schema = schemaOf(db, ctx);
    await schema.dropIndex(names.dueIndex).execute();
    await schema.createIndex(names.dueIndex).on(names.grants).columns([...columns]).execute();
  };
  return {
    up: index(['state', 'access_token_expires_at', 'grant_id']),
    down: index(['state', 'access_token_expires_at', 'grant_id', ...DUE_INDEX_PAYLOAD]),
  };
}

/**
 * 0003: `authorization_order` (GrantRecord.authorizationOrder): the grant's version when the
 * authorization behind its tokens had its callback accepted, so that a code exchange finishing after a
 * later authorization's is recognised as the older one. Rows from before it hold NULL (no completed
 * authorization known): the next completion is stored as before.
 */
function addAuthorizationOrder(ctx: Context): Migration {
  const { names } = ctx;
  return {
    async up(db) {
      await schemaOf(db, ctx).alterTable(names.grants).addColumn('authorization_order', int64(ctx)).execute();
    },
    async down(db) {
      await schemaOf(db, ctx).alterTable(names.grants).dropColumn('authorization_order').execute();
    },
  };
}

/**
 * tokenvault's migrations as a Kysely {@link MigrationProvider}: shipped in code, no files to copy.
 * Names are stable forever; new migrations are only ever appended.
 *
 * @example
 * const migrator = new Migrator({ db, provider: tokenVaultMigrations({ dialect: 'sqlite' }), migrationTableName: 'tokenvault_migration' });
 */
export function tokenVaultMigrations(options: MigrationOptions): MigrationProvider {
  const ctx = contextOf(options);
  return {
    async getMigrations() {
      return {
        '0001_create_grants_and_clients': createGrantsAndClients(ctx),
        '0002_narrow_due_index': narrowDueIndex(ctx),
        '0003_authorization_order': addAuthorizationOrder(ctx),
      };
    },
  };
}

function contextOf(options: MigrationOptions): Context {
  if (options.schema !== undefined) assertSqlIdentifier(options.schema, 'schema');
  return { dialect: options.dialect, names: tableNames(options.tablePrefix), schema: options.schema };
}

/**
 * A Kysely {@link Migrator} for tokenvault's tables, with its own migration tables
 * (`<prefix>migration`, `<prefix>migration_lock`) so it never touches the application's.
 *
 * @example
 * const { error } = await createTokenVaultMigrator(db, { dialect: 'postgres' }).migrateToLatest();
 */
export function createTokenVaultMigrator(db: Kysely<any>, options: MigrationOptions): Migrator {
  const ctx = contextOf(options);
  return new Migrator({
    db,
    provider: tokenVaultMigrations(options),
    migrationTableName: ctx.names.migration,
    migrationLockTableName: ctx.names.migrationLock,
    ...(ctx.schema === undefined ? {} : { migrationTableSchema: ctx.schema }),
  });
}

/**
 * Brings tokenvault's tables up to date. Safe to run from many processes at once (Kysely's migration
 * lock), and a no-op when nothing is new. Throws a {@link StoreError} when a migration fails.
 *
 * @example
 * await migrateToLatest(db, { dialect: 'sqlite' });
 * const store = kyselyStore({ db, dialect: 'sqlite' });
 */
export async function migrateToLatest(db: Kysely<any>, options: MigrationOptions): Promise<void> {
  try {
    await migrateOrThrowDriverError(db, options);
  } catch (e) {
    // DDL errors carry no row values, so the driver's error is kept whole as the cause.
    throw new StoreError('migrating the tokenvault tables failed', { cause: e });
  }
}

/** Like {@link migrateToLatest}, but throws the driver's own error, so a caller can tell a busy database. */
export async function migrateOrThrowDriverError(db: Kysely<any>, options: MigrationOptions): Promise<void> {
  const run = async (conn: Kysely<any>) => {
    const { error } = await createTokenVaultMigrator(conn, options).migrateToLatest();
    if (error !== undefined) throw error;
  };
  if (options.dialect !== 'sqlite') {
    await run(db);
    return;
  }
  // Kysely runs SQLite migrations outside any transaction and without a lock (its adapter declares no
  // transactional DDL), so two processes starting on a new file would both create the tables, and a
  // crash midway would leave half a schema. SQLite does have transactional DDL: one BEGIN IMMEDIATE
  // around the whole run serialises migrators across processes and makes the run all-or-nothing.
  await db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      await run(conn);
      await sql`commit`.execute(conn);
    } catch (e) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw e;
    }
  });
}
