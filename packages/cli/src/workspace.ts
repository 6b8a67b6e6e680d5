import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ClientRecord, type Clock, createVault, type GrantStore, type Logger, StoreError, type Vault } from '@tokenvault/core';
import { postgresStore, sqliteStore } from '@tokenvault/kysely';
import { CliError } from './cli-errors';
import { clientConfigOf } from './client-registry';
import type { CommandContext } from './command-context';
import type { CliConfig, StoreLocation } from './config';

/** Options of {@link Workspace.open}. */
export interface WorkspaceOptions {
  /**
   * Create the SQLite file (and its directory) when missing. Only commands that register something
   * do; the others refuse a missing file, so a mistyped `--db` is not answered with an empty vault.
   */
  readonly create?: boolean;
  /** Where the vault logs (`--debug`). Default: silent. */
  readonly logger?: Logger;
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
  readonly store: GrantStore;
  readonly location: StoreLocation;
  readonly #logger: Logger | undefined;
  #vault: Vault | undefined;

  private constructor(store: GrantStore, location: StoreLocation, logger: Logger | undefined) {
    this.store = store;
    this.location = location;
    this.#logger = logger;
  }

  /**
   * Opens the store at `location` and checks that it can be read (a corrupt or foreign file fails
   * here, with one line naming it).
   *
   * @example
   * const ws = await Workspace.open(config.store, { create: false });
   */
  static async open(location: StoreLocation, options: WorkspaceOptions = {}): Promise<Workspace> {
    let store: GrantStore;
    try {
      if (location.kind === 'sqlite') {
        if (!existsSync(location.filename)) {
          if (!options.create) {
            throw new CliError(`no tokenvault database at ${location.display}; register a client first with "tokenvault clients add", or point --db at your database`);
          }
          mkdirSync(dirname(location.filename), { recursive: true, mode: 0o700 });
        }
        store = sqliteStore({ filename: location.filename });
      } else {
        store = postgresStore({ connectionString: location.connectionString });
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
  const workspace = await Workspace.open(config.store, {
    ...(options.create !== undefined && { create: options.create }),
    ...((options.logger ?? ctx.logger) !== undefined && { logger: (options.logger ?? ctx.logger) as Logger }),
  });
  try {
    return await work(workspace, config);
  } finally {
    await workspace.close();
  }
}
