/**
 * A mixi emulator on loopback plus vaults on one shared memory store, for the executor's tests.
 * Grants are minted at the emulator (no consent page) and written into the store as the vault itself
 * would have written them after a code exchange (the real machine: `authorization.begin` → `complete`).
 */
import { createMixiEmulator, type MintedGrant, type MixiEmulator, type MixiEmulatorOptions, type RunningEmulator, mixiEndpoints } from '@tokenvault/mixi-emulator';
import { applyGrantEvent, createGrantRecord } from '../../src/machine/grant-machine';
import { providers } from '../../src/protocol/index';
import type { ProviderProfile } from '../../src/protocol/types';
import type { GrantRecord } from '../../src/store/grant-store';
import { MemoryGrantStore } from '../../src/store/memory-store';
import type { Clock } from '../../src/util/clock';
import type { Logger } from '../../src/util/logger';
import { Secret } from '../../src/util/secret';
import { createVault, type Vault } from '../../src/vault/vault';
import type { VaultEventMap, VaultEventName } from '../../src/vault/vault-events';
import type { ClientConfig, VaultOptions } from '../../src/vault/vault-options';

export const CLIENT = 'mixi';

export interface ExecutorWorld {
  readonly emulator: MixiEmulator;
  readonly server: RunningEmulator;
  readonly provider: ProviderProfile;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly store: MemoryGrantStore;
  /** A vault on the shared store (another "process" when called twice). */
  vault(options?: WorldVaultOptions): Vault;
  /** Mints a grant at the emulator and stores it, authorized, under a fresh vault grant id. */
  grant(options?: { scope?: string; clock?: Clock }): Promise<SeededGrant>;
  close(): Promise<void>;
}

export interface WorldVaultOptions extends Partial<Omit<VaultOptions, 'clients' | 'store'>> {
  readonly tokenPlacement?: ClientConfig['tokenPlacement'];
}

export interface SeededGrant {
  /** The vault's id for the grant. */
  readonly grantId: string;
  /** The emulator's grant (its id keys the refresh counters; its tokens are the canaries). */
  readonly minted: MintedGrant;
}

/** Starts an emulator on 127.0.0.1 with a registered service and an empty shared store. */
export async function startWorld(emulatorOptions: MixiEmulatorOptions = {}): Promise<ExecutorWorld> {
  const emulator = createMixiEmulator(emulatorOptions);
  const server = await emulator.listen({ port: 0 });
  const { clientId, clientSecret } = emulator.registerService({
    name: 'Executor tests',
    description: 'tokenvault executor tests',
    redirectUrl: 'http://127.0.0.1:9/callback',
    inquiryEmail: 'dev@example.com',
  });
  const provider = providers.mixi(mixiEndpoints(server.url));
  const store = new MemoryGrantStore();
  let grants = 0;
  const vaults: Vault[] = [];
  return {
    emulator,
    server,
    provider,
    clientId,
    clientSecret,
    store,
    vault(options = {}) {
      const { tokenPlacement, ...rest } = options;
      const vault = createVault({
        store,
        clients: [
          {
            id: CLIENT,
            provider,
            clientId,
            clientSecret,
            redirectUri: 'http://127.0.0.1:9/callback',
            ...(tokenPlacement === undefined ? {} : { tokenPlacement }),
          },
        ],
        pollIntervalMs: { min: 5, max: 20 },
        ...rest,
      });
      vaults.push(vault);
      return vault;
    },
    async grant(options = {}) {
      const minted = emulator.mintGrant({ clientId, scope: options.scope ?? 'r_profile r_voice w_voice' });
      const grantId = `grant-${++grants}`;
      await store.create(authorizedRecord(grantId, minted, (options.clock ?? { now: Date.now }).now()));
      return { grantId, minted };
    },
    async close() {
      await server.close();
    },
  };
}

/** The record the vault writes after exchanging a code for `minted`'s tokens at `now`. */
export function authorizedRecord(grantId: string, minted: MintedGrant, now: number): GrantRecord {
  const begun = applyGrantEvent(createGrantRecord({ grantId, client: CLIENT, now }), {
    type: 'authorization.begin',
    now,
    pending: {
      stateHash: `state-${grantId}`,
      deadline: now + 180_000,
      scope: minted.scope.split(' '),
      redirectUri: 'http://127.0.0.1:9/callback',
      codeVerifier: null,
      serverState: null,
    },
  });
  const done = applyGrantEvent(begun!, {
    type: 'authorization.complete',
    now,
    receivedAt: now,
    stateHash: `state-${grantId}`,
    order: begun!.version,
    tokens: {
      accessToken: new Secret(minted.accessToken),
      tokenType: 'Bearer',
      expiresAt: now + minted.expiresIn * 1000,
      refreshToken: new Secret(minted.refreshToken),
      scope: minted.scope.split(' '),
      idToken: null,
    },
  });
  return { ...done!, version: 1 };
}

/** Every event of the given names a vault emits, in order. */
export function recordEvents<K extends VaultEventName>(vault: Vault, names: readonly K[]): Array<{ name: K; payload: VaultEventMap[K] }> {
  const out: Array<{ name: K; payload: VaultEventMap[K] }> = [];
  for (const name of names) vault.on(name, (payload) => out.push({ name, payload }));
  return out;
}

/** Payloads of one event name. */
export function payloads<K extends VaultEventName>(events: ReadonlyArray<{ name: VaultEventName; payload: unknown }>, name: K): Array<VaultEventMap[K]> {
  return events.filter((e) => e.name === name).map((e) => e.payload as VaultEventMap[K]);
}

/** What one request looked like when it left for the network. */
export interface SentRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  /** The body when it was text or bytes (decoded as UTF-8); undefined for none or a stream. */
  readonly body: string | undefined;
}

/**
 * The global fetch, recording what each request carried; the request still goes over real HTTP. It
 * reads only `(url, init)` as the executor calls fetch, never the body stream (that would consume it).
 */
export function recordingFetch(): { fetch: typeof fetch; sent: SentRequest[] } {
  const sent: SentRequest[] = [];
  const recording: typeof fetch = (input, init) => {
    const body = init?.body;
    sent.push({
      url: input instanceof Request ? input.url : String(input),
      method: init?.method ?? 'GET',
      headers: new Headers(init?.headers),
      body: typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : undefined,
    });
    return fetch(input, init);
  };
  return { fetch: recording, sent };
}

/** A logger that keeps every line (object and message), at every level. */
export function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const write = (level: string) => (obj: object, msg?: string) => {
    lines.push(`${level} ${JSON.stringify(obj)} ${msg ?? ''}`);
  };
  return { logger: { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }, lines };
}

/** Settles `promise` and returns what it rejected with (fails the test if it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject');
}

/** Resolves when `predicate` holds, checking after each macrotask (no wall-clock assertion). */
export async function until(predicate: () => boolean, what: string, maxTurns = 5_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`gave up waiting until ${what}`);
}
