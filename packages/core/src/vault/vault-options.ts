import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { InvalidArgumentError } from '../errors/errors';
import { type ExecutorOptions, type ExecutorSettings, resolveExecutorOptions } from '../executor/executor-options';
import { HttpConnections } from '../protocol/http-connections';
import type { ClientCredentials, FetchLike, ProviderProfile } from '../protocol/types';
import type { GrantStore } from '../store/grant-store';
import { type Clock, systemClock } from '../util/clock';
import { type Logger, silentLogger } from '../util/logger';
import { type RetryPolicy, resolveRetryPolicy } from '../util/retry';
import { Secret } from '../util/secret';
import { SessionStateBinder } from '../security/session-state';

/** A registered service at a provider: the Partner Dashboard's consumer key and secret. */
export interface ClientConfig {
  /** Your name for it, used in `beginAuthorization({ client })` and stored on each grant. */
  readonly id: string;
  /** `providers.mixi()`, `providers.oauth2({...})`. */
  readonly provider: ProviderProfile;
  /** Consumer key. */
  readonly clientId: string;
  /** Consumer secret. Wrapped in a `Secret` on the way in. */
  readonly clientSecret: string | Secret;
  /** The redirect URL registered with the provider. */
  readonly redirectUri: string;
  /**
   * Where `vault.fetch` puts the access token: the `Authorization: Bearer` header (default, and
   * mixi's advice) or the `access_token` query parameter (the seed's fallback). Never both.
   */
  readonly tokenPlacement?: 'header' | 'query' | undefined;
}

/** Options of {@link createVault}. Only `store` and `clients` are required. */
export interface VaultOptions {
  /** Where grants live: `memoryStore()`, `sqliteStore({...})`, `postgresStore({...})`, or your own. */
  readonly store: GrantStore;
  /** The services this vault holds grants for. */
  readonly clients: readonly ClientConfig[];
  /**
   * The `fetch` for token requests and API calls: a proxy-aware one, an instrumented one, a test double.
   * Default: token requests go over keep-alive `node:http`/`node:https` connections of the vault's own
   * (a quarter of `fetch`'s CPU per request on Node 20, which is what bounds a large sweep), and
   * `vault.fetch` uses the global `fetch`. Give `fetch: globalThis.fetch` to route token requests
   * through the global `fetch` too (for example, when a global dispatcher sets a proxy).
   */
  readonly fetch?: FetchLike | undefined;
  /**
   * The connections token requests go over, when you need to set them up: trusted CAs, a client
   * certificate, a cap on connections (`new HttpConnections({...})`). When given, token requests use
   * them even if `fetch` is given too (which then serves `vault.fetch` only). You close them, after
   * `vault.close()`. Default: connections of the vault's own, closed with it.
   */
  readonly connections?: HttpConnections | undefined;
  /** Where time comes from. Default: the system clock. */
  readonly clock?: Clock | undefined;
  /**
   * Refresh this long before the access token's expiry, ms. Default 60,000. It absorbs clock skew
   * between this machine and the provider and the time a request spends in flight.
   */
  readonly refreshSkewMs?: number | undefined;
  /**
   * How long a refresh lease lasts, ms. Default 30,000. Another process may take over a lease past
   * its deadline, so a refresh (with its retries) is bounded to finish well within it.
   */
  readonly leaseMs?: number | undefined;
  /**
   * How far apart the clocks of processes sharing the store may be, ms. Default 5,000. A lease is
   * taken over only this long after its deadline, so a process whose clock runs ahead cannot take a
   * lease its owner still holds.
   */
  readonly clockToleranceMs?: number | undefined;
  /** Timeout of one token-endpoint request, ms. Default 10,000. */
  readonly requestTimeoutMs?: number | undefined;
  /** Largest token-endpoint answer read, bytes. Default 64 KiB. */
  readonly maxResponseBytes?: number | undefined;
  /** Retries of transient token-endpoint failures. */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /** How often a process waiting for another's refresh re-reads the store, ms. Default 25 → 250. */
  readonly pollIntervalMs?: { readonly min: number; readonly max: number } | undefined;
  /**
   * The most re-reads per second that all of this vault's waits for other processes' refreshes make
   * together. Default 500. When thousands of grants expire at once and another process holds their
   * leases, each wait polls less often instead of flooding the store (and the owner's writes queue
   * behind the polls): a wait's interval is at least `waiters / leasePollsPerSecond` seconds.
   */
  readonly leasePollsPerSecond?: number | undefined;
  /**
   * The most refreshes this vault runs at once (each: the lease, the token request, storing the
   * answer). Default 128. Others wait their turn before taking a lease, so a storm of expiries is
   * worked through in order instead of all at once: all at once, answers wait behind each other's
   * processing until request timers and leases run out, and a refresh timed out after the provider
   * rotated the token cannot be retried safely. `refreshDue`'s `concurrency` above it only queues.
   */
  readonly maxConcurrentRefreshes?: number | undefined;
  /** pino-compatible logger. Default: silent. */
  readonly logger?: Logger | undefined;
  /** This vault's lease owner id. Default: `hostname:pid:random`. Must be unique per vault instance. */
  readonly owner?: string | undefined;
  /** Source of randomness for states and PKCE. Default: `crypto.randomBytes`. */
  readonly random?: ((size: number) => Uint8Array) | undefined;
  /**
   * Keep fresh access tokens in this process so `getAccessToken` skips the store (default: on, at most
   * 10,000 grants). Safe with other processes refreshing the same grants: a cached token is handed
   * out only while it is valid at the provider (until `expiresAt - refreshSkewMs`), and `vault.fetch`
   * bypasses the cache when an API refuses a token. Set `false` to read the store on every call.
   */
  readonly cache?: boolean | { readonly maxEntries: number } | undefined;
  /** How `vault.fetch` calls APIs: retries, timeouts, body replay. */
  readonly executor?: ExecutorSettings | undefined;
  /**
   * HMAC key (at least 32 bytes) that binds authorization states to the caller's session: with it,
   * `beginAuthorization({ sessionId })` issues `random.HMAC(stateKey, random ‖ sessionId)` and
   * `completeAuthorization(callback, { sessionId })` refuses a state issued for any other session
   * before touching the store. Default: none (states are 128 random bits, bound to nothing but the
   * store). See docs/security.md.
   */
  readonly stateKey?: string | Secret | Uint8Array | undefined;
}

/** A client as the vault keeps it: the secret wrapped, the credentials assembled once. */
export interface ResolvedClient {
  readonly id: string;
  readonly provider: ProviderProfile;
  readonly credentials: ClientCredentials;
  readonly tokenPlacement: 'header' | 'query';
}

export interface ResolvedVaultOptions {
  readonly store: GrantStore;
  /** For API calls (`vault.fetch`): the given fetch or the global one. */
  readonly fetch: FetchLike;
  /** For token requests: the given fetch, unless `connections` were given; undefined: over connections. */
  readonly tokenFetch: FetchLike | undefined;
  /** The caller's connections for token requests, or undefined for the vault's own. */
  readonly connections: HttpConnections | undefined;
  readonly clock: Clock;
  readonly refreshSkewMs: number;
  readonly leaseMs: number;
  readonly clockToleranceMs: number;
  readonly requestTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly retry: RetryPolicy;
  readonly pollIntervalMs: { readonly min: number; readonly max: number };
  readonly leasePollsPerSecond: number;
  readonly maxConcurrentRefreshes: number;
  readonly logger: Logger;
  readonly owner: string;
  readonly random: (size: number) => Uint8Array;
  /** 0 when the cache is off. */
  readonly cacheMaxEntries: number;
  readonly executor: ExecutorOptions;
  /** Set when the `stateKey` option is. */
  readonly stateBinder: SessionStateBinder | undefined;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`vault option "${name}" must be a non-negative number`);
  }
  return value;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`vault option "${name}" must be a positive integer`);
  return value;
}

/** Validates one client and wraps its secret. */
export function resolveClient(config: ClientConfig): ResolvedClient {
  if (typeof config.id !== 'string' || config.id.length === 0) {
    throw new InvalidArgumentError('client "id" must be a non-empty string');
  }
  if (!config.provider || typeof config.provider.tokenEndpoint !== 'string') {
    throw new InvalidArgumentError(`client "${config.id}" needs a "provider" (providers.mixi(), providers.oauth2({...}))`);
  }
  if (typeof config.clientId !== 'string' || config.clientId.length === 0) {
    throw new InvalidArgumentError(`client "${config.id}": "clientId" must be a non-empty string`);
  }
  const secret = config.clientSecret instanceof Secret ? config.clientSecret : undefined;
  if (!secret && (typeof config.clientSecret !== 'string' || config.clientSecret.length === 0)) {
    throw new InvalidArgumentError(`client "${config.id}": "clientSecret" must be a non-empty string`);
  }
  if (!URL.canParse(config.redirectUri)) {
    throw new InvalidArgumentError(`client "${config.id}": "redirectUri" must be an absolute URL`);
  }
  const tokenPlacement = config.tokenPlacement ?? 'header';
  if (tokenPlacement !== 'header' && tokenPlacement !== 'query') {
    throw new InvalidArgumentError(`client "${config.id}": "tokenPlacement" must be "header" or "query"`);
  }
  return {
    id: config.id,
    provider: config.provider,
    tokenPlacement,
    credentials: {
      clientId: config.clientId,
      clientSecret: secret ?? new Secret(config.clientSecret as string),
      redirectUri: config.redirectUri,
    },
  };
}

/** Fills in defaults and checks every option, so mistakes surface at `createVault`, not mid-refresh. */
export function resolveVaultOptions(options: VaultOptions): ResolvedVaultOptions {
  if (!options || typeof options !== 'object') throw new InvalidArgumentError('createVault needs an options object');
  if (!options.store || typeof options.store.get !== 'function') {
    throw new InvalidArgumentError('vault option "store" must be a GrantStore (memoryStore(), sqliteStore(), …)');
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new InvalidArgumentError('vault option "fetch" must be a function');
  }
  if (options.connections !== undefined && !(options.connections instanceof HttpConnections)) {
    throw new InvalidArgumentError('vault option "connections" must be an HttpConnections');
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new InvalidArgumentError('vault option "fetch" must be a function');
  const requestTimeoutMs = nonNegative('requestTimeoutMs', options.requestTimeoutMs, 10_000);
  const leaseMs = nonNegative('leaseMs', options.leaseMs, 30_000);
  if (leaseMs < 2 * requestTimeoutMs) {
    // A live owner must finish (or give up) well before its lease can be taken over.
    throw new InvalidArgumentError('vault option "leaseMs" must be at least twice "requestTimeoutMs"');
  }
  const poll = options.pollIntervalMs ?? { min: 25, max: 250 };
  const random = options.random ?? ((size: number) => randomBytes(size));
  return {
    store: options.store,
    fetch: fetchImpl,
    tokenFetch: options.connections === undefined ? options.fetch : undefined,
    connections: options.connections,
    clock: options.clock ?? systemClock,
    refreshSkewMs: nonNegative('refreshSkewMs', options.refreshSkewMs, 60_000),
    leaseMs,
    clockToleranceMs: nonNegative('clockToleranceMs', options.clockToleranceMs, 5_000),
    requestTimeoutMs,
    maxResponseBytes: nonNegative('maxResponseBytes', options.maxResponseBytes, 64 * 1024),
    retry: resolveRetryPolicy(options.retry),
    pollIntervalMs: {
      min: nonNegative('pollIntervalMs.min', poll.min, 25),
      max: nonNegative('pollIntervalMs.max', poll.max, 250),
    },
    leasePollsPerSecond: positiveInteger('leasePollsPerSecond', options.leasePollsPerSecond, 500),
    maxConcurrentRefreshes: positiveInteger('maxConcurrentRefreshes', options.maxConcurrentRefreshes, 128),
    logger: options.logger ?? silentLogger,
    owner: options.owner ?? `${hostname()}:${process.pid}:${Buffer.from(random(6)).toString('base64url')}`,
    random,
    executor: resolveExecutorOptions(options.executor),
    stateBinder: options.stateKey === undefined ? undefined : new SessionStateBinder(options.stateKey),
    cacheMaxEntries:
      options.cache === false ? 0 : options.cache === undefined || options.cache === true ? 10_000 : nonNegative('cache.maxEntries', options.cache.maxEntries, 10_000),
  };
}
