import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ClientRecord, type Clock, createVault, KeyRing, type Logger, parseEncryptionKeys, StoreError, type Vault } from '@tokenvault/core';
import { postgresStore, type RekeyableKyselyStore, sqliteStore, type StoreEncryption } from '@tokenvault/kysely';
import { CliError } from './cli-errors';
import { clientConfigOf } from './client-registry';
import type { CommandContext } from './command-context';
import { type CliConfig, ENV, type EncryptionConfig, type StoreLocation } from './config';

/** Options of {@link Workspace.open}. */
export interface WorkspaceOptions {
  /**
   * Create the SQLite file (and its directory) when missing. Only commands that register something
   * do; the others refuse a missing file, so a mistyped `--db` is not answered with an empty vault.
   */
  readonly create?: boolean;
  /** Where the vault logs (`--debug`). Default: silent. */
  readonly logger?: Logger;
  /** Where the one warning about `--insecure-no-encryption` goes (a line on stderr). */
  readonly warn?: (line: string) => void;
  /** While moving a store off `--insecure-no-encryption` (`rekey --from-plaintext`): also read unencrypted secrets. */
  readonly acceptUnencrypted?: boolean;
}

/** Options of {@link Workspace.vault}. */
export interface WorkspaceVaultOptions {
  /** The demo runs the vault on the emulator's virtual clock. Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * An opened store and the vault built on it from the store's client registry: what every command but
 * `emulator` works with. Open with {@link Workspace.open}; close when done (the vault, if one was made,
 * closes the store).
 */
export class Workspace {
  readonly store: RekeyableKyselyStore;
  readonly location: StoreLocation;
  readonly #logger: Logger | undefined;
  #vault: Vault | undefined;

  private constructor(store: RekeyableKyselyStore, location: StoreLocation, logger: Logger | undefined) {
    this.store = store;
    this.location = location;
    this.#logger = logger;
  }

  /**
   * Opens the store at `location` with `encryption` and checks that it can be read (a corrupt or
   * foreign file, or the wrong keys, fail here, with one line naming it).
   *
   * @example
   * const ws = await Workspace.open(config.store, config.encryption, { create: false });
   */
  static async open(location: StoreLocation, encryption: EncryptionConfig, options: WorkspaceOptions = {}): Promise<Workspace> {
    let store: RekeyableKyselyStore;
    const warn = options.warn ?? (() => undefined);
    const storeEncryption = storeEncryptionOf(encryption, options.acceptUnencrypted === true);
    const logger = { warn: () => warn('warning: secrets are stored UNENCRYPTED (--insecure-no-encryption); anyone who can read the database can use them') };
    try {
      if (location.kind === 'sqlite') {
        if (!existsSync(location.filename)) {
          if (!options.create) {
            throw new CliError(`no tokenvault database at ${location.display}; register a client first with "tokenvault clients add", or point --db at your database`);
          }
          mkdirSync(dirname(location.filename), { recursive: true, mode: 0o700 });
        }
        store = sqliteStore({ filename: location.filename, encryption: storeEncryption, logger });
      } else {
        store = postgresStore({ connectionString: location.connectionString, encryption: storeEncryption, logger });
      }
    } catch (error) {
      throw storeOpenFailure(location, error);
    }
    try {
      // The first query runs the migrations: a file that is not a database fails here if not before.
      await store.listClients();
    } catch (error) {
      await store.close().catch(() => undefined);
      throw storeOpenFailure(location, error);
    }
    return new Workspace(store, location, options.logger);
  }

  /** The registered clients. */
  clients(): Promise<readonly ClientRecord[]> {
    return this.store.listClients();
  }

  /**
   * The vault over this store, configured with every registered client. Throws a {@link CliError}
   * when there is none to configure it with.
   */
  async vault(options: WorkspaceVaultOptions = {}): Promise<Vault> {
    if (this.#vault) return this.#vault;
    const clients = await this.clients();
    if (clients.length === 0) {
      throw new CliError(`no clients are registered in ${this.location.display}; add one with "tokenvault clients add"`);
    }
    this.#vault = createVault({
      store: this.store,
      clients: clients.map(clientConfigOf),
      ...(options.clock !== undefined && { clock: options.clock }),
      ...(this.#logger !== undefined && { logger: this.#logger }),
    });
    return this.#vault;
  }

  /** Closes the vault (waiting for its refreshes) or, if none was made, the store. */
  async close(): Promise<void> {
    if (this.#vault) await this.#vault.close();
    else await this.store.close();
  }
}

/** The store's `encryption` option for the CLI's configuration; a {@link CliError} saying how when there is none. */
function storeEncryptionOf(encryption: EncryptionConfig, acceptUnencrypted: boolean): StoreEncryption {
  if (encryption.kind === 'none') return 'none';
  if (encryption.kind === 'missing') {
    throw new CliError(
      `no encryption keys: set ${ENV.keys} (make one with "tokenvault keys generate"), or ${ENV.keysFile} or --keys-file; ` +
        '--insecure-no-encryption stores tokens unencrypted',
    );
  }
  try {
    return { keys: checkedKeys(encryption.keys), ...(acceptUnencrypted && { acceptUnencrypted: true }) };
  } catch (error) {
    throw new CliError(`${encryption.source}: ${(error as Error).message}`, { cause: error });
  }
}

/** The parsed ring, checked here so that a malformed one is reported against where it came from. */
function checkedKeys(text: string): ReturnType<typeof parseEncryptionKeys> {
  const keys = parseEncryptionKeys(text, 'the key list');
  void new KeyRing(keys); // validates ids and key sizes (the store does it again)
  return keys;
}

/** One line for a store that cannot be opened, naming it (never with a password). */
function storeOpenFailure(location: StoreLocation, error: unknown): unknown {
  if (error instanceof CliError || !(error instanceof StoreError)) return error;
  const driverCode = (error.cause as { code?: unknown } | undefined)?.code;
  const driverMessage = error.cause instanceof Error ? error.cause.message : error.message;
  if (location.kind === 'sqlite') {
    if (driverCode === 'SQLITE_NOTADB' || driverCode === 'SQLITE_CORRUPT') {
      return new CliError(`${location.display} is not a tokenvault database (SQLite says: ${driverMessage})`, { cause: error });
    }
    return new CliError(`cannot open the SQLite database ${location.display}: ${error.message}`, { cause: error });
  }
  return new CliError(`cannot use the PostgreSQL database ${location.display}: ${error.message}`, { cause: error });
}

/**
 * Runs `work` with the workspace the command's configuration names, and closes it afterwards
 * whatever happens.
 *
 * @example
 * return withWorkspace(ctx, {}, async (ws) => printTable(await ws.clients()));
 */
export async function withWorkspace<T>(
  ctx: CommandContext,
  options: WorkspaceOptions & { readonly client?: string | undefined },
  work: (workspace: Workspace, config: CliConfig) => Promise<T>,
): Promise<T> {
  const config = await ctx.config({ client: options.client });
  const workspace = await Workspace.open(config.store, config.encryption, {
    ...(options.create !== undefined && { create: options.create }),
    ...((options.logger ?? ctx.logger) !== undefined && { logger: (options.logger ?? ctx.logger) as Logger }),
    ...(options.acceptUnencrypted !== undefined && { acceptUnencrypted: options.acceptUnencrypted }),
    warn: (line) => ctx.err(line),
  });
  try {
    return await work(workspace, config);
  } finally {
    await workspace.close();
  }
}
