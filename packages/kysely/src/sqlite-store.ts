import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { InvalidArgumentError, type Clock } from '@tokenvault/core';
import { classifySqliteError, toStoreError } from './driver-errors';
// security: encryption at rest and rekey
import { RekeyableKyselyStore } from './rekeyable-kysely-store';
import { resolveStoreEncryption, type StoreEncryption, type StoreWarningLogger } from './store-encryption';
import type { SecretCodec } from './secret-codec';
import type { StoreRetryOptions } from './store-retry';

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file (created with mode 0600 when missing), or `:memory:` for a private in-memory database. */
  readonly filename: string;
  /**
   * `full` (default): every commit is fsynced to the WAL before it returns, so a refresh token the
   * provider rotated survives a power cut or an OS crash. `normal`: faster commits that survive a
   * crash of the process but may lose the last few commits on power loss: after the provider has
   * invalidated the old refresh token, losing the new one kills the grant (the user must authorize
   * again). Refresh writes are rare (one per grant per token lifetime), so the fsync costs little.
   */
  readonly synchronous?: 'full' | 'normal';
  /**
   * How long SQLite itself waits for another connection's lock before reporting SQLITE_BUSY, ms.
   * Default 200. The wait blocks the event loop (better-sqlite3 is synchronous), so it is kept short;
   * beyond it the store retries asynchronously with jittered backoff (see `retry`).
   */
  readonly busyTimeoutMs?: number;
  /** Permissions of a newly created database file. Default 0o600: tokens are readable by this user only. */
  readonly fileMode?: number;
  /** Prefix of tokenvault's tables. Default `tokenvault_`. */
  readonly tablePrefix?: string;
  /**
   * How secrets are protected at rest: `{ keys }` (AES-256-GCM under a key ring, e.g. `{ keys:
   * process.env.TOKENVAULT_KEYS }`), `{ codec }`, or `'none'` (logged as a warning). Required for a
   * file; `:memory:` needs none. See {@link StoreEncryption}.
   */
  readonly encryption?: StoreEncryption;
  /** Lower-level form of `encryption: { codec }`. Give one or the other. */
  readonly codec?: SecretCodec;
  /** Where the warning for `encryption: 'none'` goes. Default: `console.warn`. */
  readonly logger?: StoreWarningLogger;
  /** Bounds of the retries on SQLITE_BUSY / SQLITE_LOCKED. Default: up to 10 s. */
  readonly retry?: StoreRetryOptions;
  /** Time for retry backoff. Default: the system clock. */
  readonly clock?: Pick<Clock, 'now' | 'sleep'>;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/**
 * The embedded default store: a SQLite file through better-sqlite3, shared safely by every process
 * on the machine. Opens the file (creating it with mode 0600), switches it to WAL (readers never wait
 * for the writer), sets `synchronous=FULL` and the busy timeout, and runs the migrations on first use.
 *
 * Point reads use a prepared statement on the better-sqlite3 handle; everything else goes through
 * Kysely. Throws a `StoreError` when the file cannot be opened.
 *
 * @example
 * const store = sqliteStore({ filename: 'tokenvault.db', encryption: { keys: process.env.TOKENVAULT_KEYS } });
 * const vault = createVault({ store, clients: [...] });
 */
export function sqliteStore(options: SqliteStoreOptions): RekeyableKyselyStore {
  const { filename } = options;
  if (typeof filename !== 'string' || filename === '') throw new InvalidArgumentError('"filename" must be a path or ":memory:"');
  const busyTimeoutMs = options.busyTimeoutMs ?? 200;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new InvalidArgumentError('"busyTimeoutMs" must be a non-negative integer');
  const synchronous = options.synchronous ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal') throw new InvalidArgumentError('"synchronous" must be "full" or "normal"');

  const inMemory = filename === ':memory:';
  // security: refuse a file without keys (or an explicit 'none') before anything is created.
  const codec = resolveStoreEncryption({ factory: 'sqliteStore', persistent: !inMemory, encryption: options.encryption, codec: options.codec, logger: options.logger });
  if (!inMemory) createPrivateFile(filename, options.fileMode ?? 0o600);
  let handle: Database.Database;
  try {
    handle = new Database(filename, { timeout: busyTimeoutMs });
  } catch (e) {
    throw toStoreError('opening the SQLite database', e);
  }
  try {
    if (!inMemory) switchToWal(handle, options.random ?? Math.random);
    // better-sqlite3 is compiled with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1 (NORMAL): say FULL explicitly.
    handle.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  } catch (e) {
    handle.close();
    throw toStoreError('configuring the SQLite database', e);
  }
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: handle }) });
  return new RekeyableKyselyStore({
    db,
    dialect: 'sqlite',
    migrate: true,
    destroyOnClose: true,
    sqliteDatabase: handle,
    ...(options.tablePrefix === undefined ? {} : { tablePrefix: options.tablePrefix }),
    ...(codec === undefined ? {} : { codec }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
}

/** How long opening a file waits for other processes that are switching it to WAL at the same moment, ms. */
const WAL_SWITCH_PATIENCE_MS = 10_000;

/**
 * WAL is a property of the file: the first process to open it switches it, which needs a moment of
 * exclusive access, and SQLite does not call the busy handler for every lock that switch takes. So
 * several processes opening a new file at once may each meet SQLITE_BUSY here, even while reading
 * the journal mode back. Each one tries again after a short jittered pause (a synchronous one: the
 * factory is synchronous and this happens once per process) until the file is in WAL mode, for up
 * to {@link WAL_SWITCH_PATIENCE_MS}.
 */
function switchToWal(handle: Database.Database, random: () => number): void {
  const giveUpAt = Date.now() + WAL_SWITCH_PATIENCE_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; ; attempt++) {
    try {
      if (handle.pragma('journal_mode = WAL', { simple: true }) === 'wal') return;
      // Not switched and no error (a medium without shared memory, say): say so rather than run without WAL.
      throw new Error('the database could not be switched to WAL mode');
    } catch (e) {
      if (classifySqliteError(e) !== 'retry' || Date.now() >= giveUpAt) throw e;
    }
    Atomics.wait(pause, 0, 0, Math.min(5 * 2 ** attempt, 100) * (0.5 + random()));
  }
}

/**
 * Creates the file with `mode` when it does not exist yet, so it is never world-readable, not even
 * for a moment. SQLite gives its -wal and -shm files the database file's permissions.
 */
function createPrivateFile(filename: string, mode: number): void {
  try {
    closeSync(openSync(filename, 'wx', mode));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw toStoreError('creating the SQLite database file', e);
  }
}
