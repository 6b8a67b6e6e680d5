/**
 * A temp directory with a real SQLite vault file, and a mixi emulator served on loopback from this
 * test process, for the CLI subprocesses to talk to. Fixtures are written through the same code the
 * CLI uses (`registerClient`, the vault's `importGrant`), in-process, so only the command under test
 * pays for a subprocess.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVault, type GrantStore, Secret } from '@tokenvault/core';
import { sqliteStore } from '@tokenvault/kysely';
import { createMixiEmulator, type MixiEmulator, type MixiEmulatorOptions, mixiEndpoints, type RunningEmulator } from '@tokenvault/mixi-emulator';
import { clientConfigOf, registerClient } from '../../src/client-registry';
import { TEST_ENCRYPTION } from './test-keys';

export const DESKTOP_REDIRECT = 'https://mixi.jp/connect_authorize_success.html';

export interface Service {
  readonly serviceId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface CliWorld {
  readonly emulator: MixiEmulator;
  readonly url: string;
  /** A fresh temp directory (the CLI's cwd). */
  dir(): string;
  /** Registers and confirms a service at the emulator. */
  service(redirectUrl?: string): Service;
  /** Stores `service` as client `id` in the SQLite file `db`, pointing at `endpointsBase` (default: this emulator). */
  addClient(db: string, service: Service, options?: { id?: string; redirectUri?: string; endpointsBase?: string }): Promise<void>;
  /** Mints a grant at the emulator and imports it into `db` as `grantId`. */
  seedGrant(
    db: string,
    grantId: string,
    service: Service,
    options?: { client?: string; scope?: readonly string[]; expiresInMs?: number },
  ): Promise<SeededGrant>;
  /** Every token and secret handed out so far: none may ever appear in the CLI's output. */
  secrets(): readonly string[];
  close(): Promise<void>;
}

export interface SeededGrant {
  readonly emulatorGrantId: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

export async function startCliWorld(options: MixiEmulatorOptions = {}): Promise<CliWorld> {
  const emulator = createMixiEmulator({ autoCreateUsers: true, ...options });
  const running: RunningEmulator = await emulator.listen({ port: 0 });
  const dirs: string[] = [];
  const secrets: string[] = [];
  const withStore = async <T>(db: string, work: (store: GrantStore) => Promise<T>): Promise<T> => {
    const store = sqliteStore({ filename: db, encryption: TEST_ENCRYPTION });
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  };
  return {
    emulator,
    url: running.url,
    dir() {
      const dir = mkdtempSync(join(tmpdir(), 'tokenvault-cli-'));
      dirs.push(dir);
      return dir;
    },
    service(redirectUrl = DESKTOP_REDIRECT) {
      const service = emulator.registerService({
        name: 'tokenvault CLI tests',
        description: 'Exercises the tokenvault command line.',
        redirectUrl,
        inquiryEmail: 'cli@tokenvault.example',
      });
      secrets.push(service.clientSecret);
      return service;
    },
    async addClient(db, service, { id = 'mixi', redirectUri, endpointsBase = running.url } = {}) {
      await withStore(db, (store) =>
        registerClient(
          store,
          {
            id,
            provider: 'mixi',
            providerOptions: { ...mixiEndpoints(endpointsBase) },
            clientId: service.clientId,
            clientSecret: new Secret(service.clientSecret),
            redirectUri: redirectUri ?? emulator.getService(service.serviceId).redirectUrl,
          },
          Date.now(),
        ),
      );
    },
    async seedGrant(db, grantId, service, { client = 'mixi', scope = ['r_profile', 'r_voice', 'w_voice'], expiresInMs } = {}) {
      const minted = emulator.mintGrant({ clientId: service.clientId, scope });
      secrets.push(minted.accessToken, minted.refreshToken);
      await withStore(db, async (store) => {
        const vault = createVault({ store, clients: (await store.listClients()).map(clientConfigOf) });
        await vault.importGrant({
          grantId,
          client,
          accessToken: minted.accessToken,
          refreshToken: minted.refreshToken,
          expiresAt: Date.now() + (expiresInMs ?? minted.expiresIn * 1000),
          scope: minted.scope.split(' '),
        });
      });
      return { emulatorGrantId: minted.grantId, accessToken: minted.accessToken, refreshToken: minted.refreshToken };
    },
    secrets: () => [...secrets],
    async close() {
      await running.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP port nothing listens on (bound and released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Asserts nothing in `text` is one of `secrets`; returns the offending ones (for `expect(...).toEqual([])`). */
export function leakedSecrets(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => secret.length > 0 && text.includes(secret));
}
