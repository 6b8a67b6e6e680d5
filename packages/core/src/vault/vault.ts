import {
  AccessDeniedError,
  AuthorizationExpiredError,
  ClientRejectedError,
  ConflictError,
  CorruptRecordError,
  InvalidArgumentError,
  InvalidResponseError,
  NotAuthorizedError,
  OAuthError,
  ProviderUnavailableError,
  ReauthRequiredError,
  RedirectUriMismatchError,
  StateMismatchError,
  StoreError,
  TokenVaultError,
  UnknownClientError,
  UnknownGrantError,
} from '../errors/errors';
import { applyGrantEvent, createGrantRecord, type FailureInfo, type GrantEvent } from '../machine/grant-machine';
import {
  authorizationCodeGrantRequest,
  buildAuthorizationUrl,
  createPkcePair,
  effectiveScope,
  processServerStateResponse,
  validateScope,
  processTokenResponse,
  randomState,
  refreshTokenGrantRequest,
  HttpConnections,
  sendRequest,
  serverStateRequest,
} from '../protocol/index';
import type { HttpRequest, TokenSet } from '../protocol/types';
import { grantRecordsEqual } from '../store/grant-record';
import type { DueGrant, GrantFilter, GrantRecord, Page, PageRequest, PendingAuthorization } from '../store/grant-store';
import { withRetry } from '../util/retry';
import { Semaphore } from '../util/semaphore';
import { type CallbackInput, parseCallback, redirectMatches } from '../security/redirect-match';
import { SessionStateBinder } from '../security/session-state';
import { Secret, safeEqual, sha256base64url } from '../util/secret';
import { type ExecutorHost, executeFetch, type VaultFetchInit } from '../executor/executor';
import { type GrantInfo, toGrantInfo } from './grant-info';
import { VaultEmitter, type VaultEventName, type VaultListener } from './vault-events';
import {
  type ClientConfig,
  type ResolvedClient,
  type ResolvedVaultOptions,
  resolveClient,
  resolveVaultOptions,
  type VaultOptions,
} from './vault-options';

/** Arguments of {@link Vault.beginAuthorization}. */
export interface BeginAuthorizationOptions {
  /** Your id for this grant (a user id, say). Created on first use. */
  readonly grantId: string;
  /** The configured client's `id`. */
  readonly client: string;
  /** Scopes to ask for (`['r_profile', 'r_voice']`). */
  readonly scope: readonly string[];
  /**
   * The `state` to send. Default: 128 random bits. Pass your own to bind the authorization to a
   * session (mixi's advice: a hash of the session id); it is stored only as a SHA-256 hash. Prefer
   * `sessionId` with the vault option `stateKey`, which binds without making the state guessable.
   */
  readonly state?: string | undefined;
  /**
   * Binds the state to this session (needs the vault option `stateKey`): the state becomes
   * `random.HMAC(stateKey, random ‖ sessionId)`, and `completeAuthorization` must be given the same
   * `sessionId`. Never stored or logged.
   */
  readonly sessionId?: string | undefined;
  /** mixi `display`: `pc`, `touch`, `smartphone`, `ios`. */
  readonly display?: string | undefined;
  /** mixi feature-phone consent page instead of the PC/smartphone one. */
  readonly device?: 'pc' | 'featurePhone' | undefined;
  /** Docomo feature phones need `guid=ON`. */
  readonly docomo?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface BeginAuthorizationResult {
  /** Send the user here. */
  readonly url: string;
  /** The `state` sent (yours, or the generated one). Keep it out of logs. */
  readonly state: string;
  /** After this (epoch ms) the callback is refused: the code lifetime (3 minutes at mixi). */
  readonly deadline: number;
}

/** Arguments of {@link Vault.importGrant}. */
export interface ImportGrantInput {
  readonly grantId: string;
  readonly client: string;
  readonly accessToken: string | Secret;
  readonly refreshToken?: string | Secret | null | undefined;
  /** When the access token expires, epoch ms; null if unknown. */
  readonly expiresAt: number | null;
  readonly scope: readonly string[];
  readonly tokenType?: string | undefined;
  readonly idToken?: string | Secret | null | undefined;
}

export type { CallbackInput };

export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link Vault.completeAuthorization}. */
export interface CompleteAuthorizationOptions extends CallOptions {
  /**
   * The session the authorization was begun in (`beginAuthorization({ sessionId })`): a state bound
   * to any other session is refused with `StateMismatchError` before the store is read.
   */
  readonly sessionId?: string | undefined;
}

export interface RefreshOptions extends CallOptions {
  /** Refresh even if the access token is still fresh. */
  readonly force?: boolean | undefined;
}

export interface RefreshDueOptions extends CallOptions {
  /** Refresh grants whose access token expires within this many ms. Default 120,000. */
  readonly withinMs?: number | undefined;
  /** Refreshes in flight at once. Default 8. */
  readonly concurrency?: number | undefined;
  /** Grants read per store page. Default 500. */
  readonly pageSize?: number | undefined;
  /** Called after each grant with the running totals. */
  readonly onProgress?: ((summary: RefreshDueSummary) => void) | undefined;
}

/** What a sweep did. */
export interface RefreshDueSummary {
  /** Grants looked at. */
  readonly seen: number;
  /** Refreshed by this sweep. */
  readonly refreshed: number;
  /** Already fresh when reached (another process got there first). */
  readonly alreadyFresh: number;
  /**
   * Being refreshed by another process when reached (within its lease), and left to it: sweeps running in
   * several processes at once share the work instead of waiting on each other.
   */
  readonly refreshingElsewhere: number;
  /** Now need a new authorization. */
  readonly reauthRequired: number;
  /** Skipped because their client is rejected. */
  readonly clientRejected: number;
  /** Failed transiently (left usable, error recorded on the grant). */
  readonly failed: number;
  /** Rows the store could not read back (corrupt or foreign); skipped and logged. */
  readonly unreadable: number;
}

/** When a refresh is due: the conditions a caller needs the stored token to meet. */
interface Freshness {
  /** Refresh unless the access token is valid until at least this time. */
  readonly validUntil: number;
  /** Refresh if the stored access token is still this one (an API just rejected it). */
  readonly staleAccessToken?: string | undefined;
  /** Refresh regardless (once). */
  readonly force?: boolean | undefined;
  /**
   * A sweep's need: a grant another process is refreshing (its lease live) is left to it, not waited
   * for (outcome `elsewhere`).
   */
  readonly leaveToOthers?: boolean | undefined;
}

type RefreshOutcome = 'refreshed' | 'fresh' | 'failed' | 'elsewhere';

const MAX_CAS_ATTEMPTS = 16;
/** Largest backoff between retries of a write that must not be lost (20 ms doubling: 7 tries to reach it). */
const DURABLE_WRITE_MAX_BACKOFF_MS = 1_000;
const MAX_STATE_LENGTH = 1024;
const MAX_CODE_LENGTH = 4096;

/**
 * The token vault: keeps many users' grants, moves each through the lifecycle machine, persists every
 * step, and refreshes each grant exactly once however many callers and processes ask at the same time.
 * Create one with {@link createVault}.
 */
export class Vault {
  readonly #o: ResolvedVaultOptions;
  readonly #clients = new Map<string, ResolvedClient>();
  /** Clients whose credentials the provider rejected, with when. Cleared by `updateClientSecret`. */
  readonly #rejectedClients = new Map<string, number>();
  /** Turns among this vault's refreshes (`maxConcurrentRefreshes`). */
  readonly #refreshTurns: Semaphore;
  /** Waits for other processes' refreshes in progress (they share `leasePollsPerSecond`). */
  #leaseWaits = 0;
  /** One in-flight refresh per grant in this process. */
  readonly #inflight = new Map<string, Promise<GrantRecord>>();
  /** `getAccessToken`'s store reads in flight, by grant id (see `#readShared`). */
  readonly #reads = new Map<string, Promise<GrantRecord | undefined>>();
  /** Fresh authorized records by grant id (see the `cache` option); oldest first for eviction. */
  readonly #cache = new Map<string, GrantRecord>();
  /** Records this vault obtained by refreshing (tells "refreshed" from "already fresh" in sweeps). */
  readonly #refreshed = new WeakSet<GrantRecord>();
  /** Records handed back after a failed refresh because their old token is still valid, with the failure. */
  readonly #failed = new WeakMap<GrantRecord, unknown>();
  readonly #emitter: VaultEmitter;
  /** Connections for token requests: the caller's, or our own unless they go through a `fetch`. */
  readonly #connections: HttpConnections | undefined;
  #closed = false;

  constructor(options: VaultOptions) {
    this.#o = resolveVaultOptions(options);
    this.#refreshTurns = new Semaphore(this.#o.maxConcurrentRefreshes);
    this.#connections = this.#o.connections ?? (this.#o.tokenFetch === undefined ? new HttpConnections() : undefined);
    if (!Array.isArray(options.clients) || options.clients.length === 0) {
      throw new InvalidArgumentError('vault option "clients" must list at least one client');
    }
    for (const config of options.clients) {
      const client = resolveClient(config);
      if (this.#clients.has(client.id)) throw new InvalidArgumentError(`client "${client.id}" is configured twice`);
      this.#clients.set(client.id, client);
    }
    this.#emitter = new VaultEmitter((error, event) =>
      this.#o.logger.error({ err: describeError(error), event }, 'tokenvault: an event listener threw'),
    );
  }

  /** This vault's lease owner id (unique per instance). */
  get owner(): string {
    return this.#o.owner;
  }

  /** The clock this vault reads. */
  get clock() {
    return this.#o.clock;
  }

  /** The store this vault writes to. */
  get store() {
    return this.#o.store;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends VaultEventName>(event: K, listener: VaultListener<K>): () => void {
    return this.#emitter.on(event, listener);
  }

  off<K extends VaultEventName>(event: K, listener: VaultListener<K>): void {
    this.#emitter.off(event, listener);
  }

  // ────────────────────────────────────────────────────────────────────────── authorization

  /**
   * Starts an authorization: records the pending authorization (hashed state, deadline, PKCE
   * verifier, server_state) on the grant, creating the grant if needed, and returns the URL to send
   * the user to.
   *
   * @example
   * const { url } = await vault.beginAuthorization({ grantId: 'alice', client: 'mixi', scope: ['r_profile'] });
   * res.redirect(url);
   */
  async beginAuthorization(options: BeginAuthorizationOptions): Promise<BeginAuthorizationResult> {
    this.#assertOpen();
    const grantId = checkGrantId(options.grantId);
    const client = this.#client(options.client);
    if (options.state !== undefined && (typeof options.state !== 'string' || options.state.length < 16 || options.state.length > MAX_STATE_LENGTH)) {
      throw new InvalidArgumentError(`"state" must be a string of 16 to ${MAX_STATE_LENGTH} characters`);
    }
    const binder = this.#stateBinderFor(options.sessionId);
    if (binder !== undefined && options.state !== undefined) throw new InvalidArgumentError('pass "state" or "sessionId", not both');
    const { provider, credentials } = client;
    const scope = effectiveScope(provider, options.scope);
    const random = randomState(this.#o.random);
    const state = options.state ?? (binder === undefined ? random : binder.bind(random, options.sessionId as string));
    const pkce = provider.pkce ? createPkcePair(this.#o.random) : undefined;
    let serverState: Secret | undefined;
    if (provider.serverState) {
      const answer = await this.#tokenEndpoint(
        () => serverStateRequest(provider, credentials),
        (res) => processServerStateResponse(res, this.#o.clock.now()),
        client,
        options.signal,
      );
      serverState = answer.serverState;
    }
    const url = buildAuthorizationUrl(provider, credentials, {
      scope,
      state,
      ...(options.display !== undefined && { display: options.display }),
      ...(options.device !== undefined && { device: options.device }),
      ...(options.docomo !== undefined && { docomo: options.docomo }),
      ...(serverState && { serverState: serverState.reveal() }),
      ...(pkce && { codeChallenge: pkce.challenge }),
    });
    const now = this.#o.clock.now();
    const pending: PendingAuthorization = {
      stateHash: sha256base64url(state),
      deadline: now + provider.codeLifetimeMs,
      scope,
      redirectUri: credentials.redirectUri,
      codeVerifier: pkce ? new Secret(pkce.verifier) : null,
      serverState: serverState ?? null,
    };
    await this.#update(grantId, client.id, options.signal, (record) => {
      if (record.client !== client.id) {
        throw new InvalidArgumentError(`grant "${grantId}" belongs to client "${record.client}", not "${client.id}"`);
      }
      return { type: 'authorization.begin', now: this.#o.clock.now(), pending };
    });
    return { url: url.toString(), state, deadline: pending.deadline };
  }

  /**
   * Finishes an authorization from the callback (the redirected URL, its path as `req.url` gives it,
   * or its query parameters): verifies the state (constant time, single use, within its deadline,
   * bound to `sessionId` when it was begun with one) and, when a URL or path is given, that it arrived
   * at the client's redirect URI; then exchanges the code and stores the tokens — unless a later
   * authorization of the grant completed while the code was being exchanged: then the grant is
   * returned as it is, with the newer tokens. Throws `StateMismatchError` for an unknown, forged,
   * replayed or cross-session state (or a grant forgotten during the exchange),
   * `RedirectUriMismatchError` for a callback at another URL, `AuthorizationExpiredError` past the
   * deadline, `AccessDeniedError` when the user said no.
   *
   * @example
   * const grant = await vault.completeAuthorization(req.url, { sessionId: req.session.id }); // '/callback?code=…&state=…'
   */
  async completeAuthorization(callback: CallbackInput, options: CompleteAuthorizationOptions = {}): Promise<GrantInfo> {
    this.#assertOpen();
    const { params, location } = parseCallback(callback);
    const state = params.get('state');
    // Validate everything the callback says before touching the store.
    if (state === null || state.length === 0 || state.length > MAX_STATE_LENGTH) throw new StateMismatchError();
    const code = params.get('code');
    const error = params.get('error');
    if (error === null && (code === null || code.length === 0 || code.length > MAX_CODE_LENGTH)) {
      throw new StateMismatchError('the authorization callback carries neither a code nor an error');
    }
    this.#checkStateSession(state, options.sessionId);
    if (location !== undefined && ![...this.#clients.values()].some((c) => redirectMatches(location, params, c.credentials.redirectUri, c.provider))) {
      throw new RedirectUriMismatchError();
    }
    const stateHash = sha256base64url(state);
    const record = await this.#o.store.findByStateHash(stateHash);
    if (!record || !record.pending || !safeEqual(record.pending.stateHash, stateHash)) throw new StateMismatchError();
    const pending = record.pending;
    const client = this.#client(record.client);
    // The redirect URI this very authorization was begun with, not merely some client's.
    if (location !== undefined && !redirectMatches(location, params, pending.redirectUri, client.provider)) throw new RedirectUriMismatchError();
    const now = this.#o.clock.now();

    const failWith = async (failure: FailureInfo, thrown: Error): Promise<never> => {
      await this.#update(record.grantId, record.client, options.signal, (current) =>
        current.pending?.stateHash === stateHash ? { type: 'authorization.fail', now: this.#o.clock.now(), error: failure } : null,
      );
      throw thrown;
    };

    if (now > pending.deadline) {
      return failWith(
        { code: 'authorization_expired', message: 'the callback arrived after the authorization deadline' },
        new AuthorizationExpiredError(record.grantId),
      );
    }
    if (error !== null) {
      const description = params.get('error_description') ?? undefined;
      return error === 'access_denied'
        ? failWith({ code: 'access_denied', message: 'the user denied the authorization' }, new AccessDeniedError(record.grantId, description))
        : failWith({ code: error, message: `the provider answered the authorization with "${error}"` }, new OAuthError(error, 302, description));
    }

    let tokens: TokenSet;
    try {
      tokens = await this.#tokenEndpoint(
        () =>
          authorizationCodeGrantRequest(client.provider, client.credentials, {
            code: new Secret(code as string),
            redirectUri: pending.redirectUri,
            ...(pending.serverState && { serverState: pending.serverState.reveal() }),
            ...(pending.codeVerifier && { codeVerifier: pending.codeVerifier.reveal() }),
          }),
        (res) => processTokenResponse(res, { now: this.#o.clock.now() }),
        client,
        options.signal,
      );
    } catch (e) {
      if (e instanceof OAuthError) {
        if (e.error === 'invalid_client') this.#markClientRejected(client.id);
        return failWith({ code: e.error, message: e.message }, e.error === 'invalid_client' ? new ClientRejectedError(client.id, { cause: e }) : e);
      }
      throw e;
    }
    return this.#storeCompletion(record, stateHash, now, { ...tokens, scope: tokens.scope ?? pending.scope }, options.signal);
  }

  /**
   * Stores the tokens of an authorization whose code was exchanged, if they are still the newest the
   * user consented to. Another authorization of the grant may have been begun meanwhile, and its code
   * exchanged first: then the one whose callback was accepted later wins, whichever finishes last.
   * The order is the grant's version when the callback was accepted (`accepted.version`): a later
   * authorization can only be begun after this callback was accepted (it replaces the pending state
   * this callback matched), so its callback is accepted at a higher version. The machine keeps the
   * order of the tokens it holds (`authorizationOrder`) and refuses an older completion; see
   * docs/race-proofs.md, bug G′.
   */
  async #storeCompletion(accepted: GrantRecord, stateHash: string, receivedAt: number, tokens: TokenSet, signal: AbortSignal | undefined): Promise<GrantInfo> {
    const grantId = accepted.grantId;
    let superseded = false as boolean;
    let completed: GrantRecord;
    try {
      completed = await this.#update(grantId, undefined, signal, (current) => {
        superseded = false;
        // The grant was forgotten (and maybe created again) since the callback was accepted: its tokens
        // belong to the grant the application deleted, not to the one there now.
        if (!sameLife(current, accepted)) throw forgottenDuringExchange(grantId);
        const event: GrantEvent = { type: 'authorization.complete', now: this.#o.clock.now(), receivedAt, tokens, stateHash, order: accepted.version };
        if (applyGrantEvent(current, event) !== undefined) return event;
        // A later authorization has completed meanwhile: its tokens stay; this exchange's are dropped.
        superseded = true;
        return null;
      });
    } catch (e) {
      if (e instanceof UnknownGrantError) throw forgottenDuringExchange(grantId);
      throw e;
    }
    if (superseded) {
      this.#o.logger.info({ grantId }, 'tokenvault: a later authorization of this grant completed first; the tokens of this older one are not stored');
    }
    return toGrantInfo(completed);
  }

  /**
   * Adopts tokens obtained elsewhere (a migration from another OAuth client, say) as an authorized
   * grant, creating it if needed. The next refresh rotates them like any others.
   *
   * @example
   * await vault.importGrant({ grantId: 'alice', client: 'mixi', accessToken, refreshToken, expiresAt, scope: ['r_profile'] });
   */
  async importGrant(input: ImportGrantInput): Promise<GrantInfo> {
    this.#assertOpen();
    const grantId = checkGrantId(input.grantId);
    const client = this.#client(input.client);
    if (input.expiresAt !== null && (typeof input.expiresAt !== 'number' || !Number.isFinite(input.expiresAt))) {
      throw new InvalidArgumentError('"expiresAt" must be an epoch-ms number or null');
    }
    const tokens: TokenSet = {
      accessToken: Secret.from(input.accessToken),
      tokenType: input.tokenType ?? 'Bearer',
      expiresAt: input.expiresAt,
      refreshToken: input.refreshToken == null ? null : Secret.from(input.refreshToken),
      scope: validateScope(input.scope, 'scope'),
      idToken: input.idToken == null ? null : Secret.from(input.idToken),
    };
    const record = await this.#update(grantId, client.id, undefined, (current) => {
      if (current.client !== client.id) {
        throw new InvalidArgumentError(`grant "${grantId}" belongs to client "${current.client}", not "${client.id}"`);
      }
      return { type: 'tokens.import', now: this.#o.clock.now(), tokens };
    });
    return toGrantInfo(record);
  }

  // ────────────────────────────────────────────────────────────────────────── API calls

  /**
   * `fetch` for a grant's APIs: attaches the access token, and on a `401` reads `WWW-Authenticate`,
   * refreshes (once, shared with every other caller) and retries; backs off on transient failures.
   * A relative URL resolves against the provider's API base (`https://api.mixi-platform.com/2/`).
   *
   * @example
   * const res = await vault.fetch('alice', 'people/@me/@self');
   * const me = await res.json();
   */
  fetch(grantId: string, input: string | URL | Request, init?: VaultFetchInit): Promise<Response> {
    this.#assertOpen();
    return executeFetch(this.#executorHost, grantId, input, init);
  }

  readonly #executorHost: ExecutorHost = {
    freshRecord: (grantId) => {
      const record = this.#cache.get(grantId);
      return record !== undefined && this.#isFresh(record) ? { record, client: this.#client(record.client) } : undefined;
    },
    options: () => this.#o.executor,
    clock: () => this.#o.clock,
    fetch: () => this.#o.fetch,
    logger: () => this.#o.logger,
    emit: (event, payload) => this.#emitter.emit(event, payload),
    listens: (event) => this.#emitter.listens(event),
    grantClient: async (grantId) => {
      const cached = this.#cache.get(grantId) ?? (await this.#load(grantId));
      return this.#client(cached.client);
    },
    usableRecord: (grantId, options) => this.usableRecord(grantId, options),
    rejectAccessToken: (grantId, token, signal) => this.rejectAccessToken(grantId, token, signal),
  };

  // ────────────────────────────────────────────────────────────────────────── tokens

  /**
   * A valid access token for the grant, refreshing first when it expires within `refreshSkewMs`.
   * However many callers ask at once, in however many processes, one refresh happens.
   *
   * @example
   * const token = await vault.getAccessToken('alice');
   * await fetch(url, { headers: { authorization: `Bearer ${token}` } });
   */
  async getAccessToken(grantId: string, options?: CallOptions): Promise<string> {
    // The hot path: a fresh token is one map (or store) read and two comparisons away.
    const cached = this.#cache.get(grantId);
    if (cached !== undefined && this.#isFresh(cached)) return (cached.accessToken as Secret).reveal();
    const record = await (this.#o.cacheMaxEntries > 0 ? this.#readShared(grantId) : this.#o.store.get(grantId));
    if (record !== undefined && this.#isFresh(record)) {
      this.#remember(record);
      return (record.accessToken as Secret).reveal();
    }
    const fresh = await this.#ensureFresh(grantId, { validUntil: this.#o.clock.now() + this.#o.refreshSkewMs }, options?.signal);
    return (fresh.accessToken as Secret).reveal();
  }

  /**
   * The stored record, read once for all the callers of a grant whose read is in flight: a storm of
   * callers on one expired grant costs one store read per process, not one per caller, so the store's
   * queue (a pool, SQLite's one connection) stays short and the refresh's own writes are not stuck
   * behind it. Only with the cache on: a caller may then get a record read a moment before it asked,
   * which is what the cache does anyway (see the `cache` option); with the cache off, every call
   * reads the store itself.
   */
  #readShared(grantId: string): Promise<GrantRecord | undefined> {
    const inFlight = this.#reads.get(grantId);
    if (inFlight !== undefined) return inFlight;
    const read = this.#o.store.get(grantId);
    this.#reads.set(grantId, read);
    const done = () => {
      if (this.#reads.get(grantId) === read) this.#reads.delete(grantId);
    };
    read.then(done, done);
    return read;
  }

  /** Authorized with an access token that stays valid past the refresh skew. */
  #isFresh(record: GrantRecord): boolean {
    return (
      record.state === 'authorized' &&
      record.accessToken !== null &&
      (record.accessTokenExpiresAt === null || record.accessTokenExpiresAt - this.#o.refreshSkewMs > this.#o.clock.now())
    );
  }

  #remember(record: GrantRecord): void {
    const max = this.#o.cacheMaxEntries;
    if (max === 0) return;
    if (this.#cache.size >= max && !this.#cache.has(record.grantId)) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(record.grantId, record);
  }

  /**
   * The authorized record with a usable access token (for the executor): refreshed when due, or when
   * the stored token is still `staleAccessToken` (an API just refused it as expired).
   * @internal
   */
  async usableRecord(grantId: string, options: { staleAccessToken?: string | undefined; signal?: AbortSignal | undefined } = {}): Promise<GrantRecord> {
    if (options.staleAccessToken === undefined) {
      const cached = this.#cache.get(grantId);
      if (cached !== undefined && this.#isFresh(cached)) return cached;
    }
    return this.#ensureFresh(
      grantId,
      { validUntil: this.#o.clock.now() + this.#o.refreshSkewMs, staleAccessToken: options.staleAccessToken },
      options.signal,
    );
  }

  /**
   * Records that an API refused `rejectedAccessToken` as invalid (revoked): the grant goes to
   * `reauthRequired`, unless its stored token has changed meanwhile (then the new one is returned).
   * @internal
   */
  async rejectAccessToken(grantId: string, rejectedAccessToken: string, signal?: AbortSignal): Promise<GrantRecord | undefined> {
    let changed: GrantRecord | undefined;
    await this.#update(grantId, undefined, signal, (record) => {
      if (record.state !== 'authorized' || !record.accessToken?.equals(rejectedAccessToken)) {
        changed = record;
        return null;
      }
      return { type: 'token.reject', now: this.#o.clock.now(), reason: 'token_revoked' };
    });
    return changed;
  }

  /**
   * Refreshes the grant now if its token is due (or always, with `force`), and returns its state.
   *
   * @example
   * await vault.refresh('alice', { force: true });
   */
  async refresh(grantId: string, options: RefreshOptions = {}): Promise<GrantInfo> {
    const record = await this.#ensureFresh(
      grantId,
      { validUntil: this.#o.clock.now() + this.#o.refreshSkewMs, force: options.force === true },
      options.signal,
    );
    return toGrantInfo(record);
  }

  /**
   * Refreshes every grant whose access token expires within `withinMs` (and recovers grants whose
   * refresh lease was abandoned by a crashed process), `concurrency` at a time, reading the store a
   * page at a time so memory stays flat however many grants there are.
   *
   * @example
   * const summary = await vault.refreshDue({ withinMs: 120_000, concurrency: 16 });
   */
  async refreshDue(options: RefreshDueOptions = {}): Promise<RefreshDueSummary> {
    this.#assertOpen();
    const withinMs = options.withinMs ?? 120_000;
    const concurrency = options.concurrency ?? 8;
    const pageSize = options.pageSize ?? 500;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) {
      throw new InvalidArgumentError('"concurrency" must be an integer from 1 to 1024');
    }
    if (!Number.isFinite(withinMs) || withinMs < 0) throw new InvalidArgumentError('"withinMs" must be a non-negative number');
    const started = this.#o.clock.now();
    const before = started + withinMs;
    const totals = { seen: 0, refreshed: 0, alreadyFresh: 0, refreshingElsewhere: 0, reauthRequired: 0, clientRejected: 0, failed: 0, unreadable: 0 };
    const signal = options.signal;

    const visit = async (due: DueGrant) => {
      totals.seen++;
      try {
        const outcome = await this.#refreshOutcome(
          due.grantId,
          { validUntil: Math.max(before, this.#o.clock.now() + this.#o.refreshSkewMs), leaveToOthers: true },
          signal,
        );
        if (outcome === 'refreshed') totals.refreshed++;
        else if (outcome === 'failed') totals.failed++;
        else if (outcome === 'elsewhere') totals.refreshingElsewhere++;
        else totals.alreadyFresh++;
      } catch (e) {
        if (signal?.aborted) throw e;
        if (e instanceof ReauthRequiredError) totals.reauthRequired++;
        else if (e instanceof ClientRejectedError) totals.clientRejected++;
        else if (e instanceof UnknownGrantError || e instanceof NotAuthorizedError) totals.alreadyFresh++;
        else if (e instanceof CorruptRecordError) {
          totals.unreadable++;
          this.#o.logger.error({ grantId: due.grantId, err: describeError(e) }, 'tokenvault: a stored grant could not be read; skipped');
        } else totals.failed++;
      }
      options.onProgress?.({ ...totals });
    };

    const pages = [
      // The machine lets a lease be taken over at `now >= until`; the store lists `until < before`.
      (page: PageRequest) => this.#o.store.listExpiredLeases(started + 1, page),
      (page: PageRequest) => this.#o.store.listDue(before, page),
    ];
    for (const list of pages) {
      let cursor: string | undefined;
      let last = false;
      const nextPage = async (): Promise<readonly DueGrant[] | undefined> => {
        while (!last) {
          signal?.throwIfAborted();
          const page: Page<DueGrant> = await list({ limit: pageSize, cursor });
          for (const problem of page.unreadable ?? []) {
            totals.unreadable++;
            this.#o.logger.error({ grantId: problem.key, err: describeError(problem) }, 'tokenvault: a stored grant could not be read; skipped');
          }
          cursor = page.cursor;
          last = cursor === undefined;
          // Each page is walked from a random place, round to where it began: sweeps in several
          // processes that read the same page at once start apart instead of racing for the same grants.
          if (page.items.length > 0) return rotate(page.items, Math.floor(unitInterval(this.#o.random(4)) * page.items.length));
        }
        return undefined;
      };
      // One list after the other: a grant on both (its lease expired, and due) is visited once at a time.
      await runPagedPool(nextPage, concurrency, visit, signal);
    }
    return { ...totals };
  }

  /** The grant without its secrets, or undefined. */
  async inspect(grantId: string): Promise<GrantInfo | undefined> {
    this.#assertOpen();
    const record = await this.#o.store.get(grantId);
    return record && toGrantInfo(record);
  }

  /** Grants without their secrets, a page at a time. */
  async list(filter: GrantFilter = {}, page: PageRequest = { limit: 100 }): Promise<Page<GrantInfo>> {
    this.#assertOpen();
    const result = await this.#o.store.list(filter, page);
    return {
      items: result.items.map(toGrantInfo),
      cursor: result.cursor,
      ...(result.unreadable !== undefined && { unreadable: result.unreadable }),
    };
  }

  /** Deletes the grant and its tokens from the store. True if there was one. */
  async forget(grantId: string): Promise<boolean> {
    this.#assertOpen();
    this.#cache.delete(grantId);
    return this.#o.store.delete(grantId);
  }

  /**
   * Replaces a client's secret (after the provider re-issued it) and lifts its rejection, so its
   * grants refresh again.
   *
   * @example
   * await vault.updateClientSecret('mixi', process.env.MIXI_CONSUMER_SECRET!);
   */
  updateClientSecret(clientId: string, clientSecret: string | Secret): void {
    const client = this.#client(clientId);
    const config: ClientConfig = {
      id: client.id,
      provider: client.provider,
      clientId: client.credentials.clientId,
      clientSecret,
      redirectUri: client.credentials.redirectUri,
      tokenPlacement: client.tokenPlacement,
    };
    this.#clients.set(clientId, resolveClient(config));
    this.#rejectedClients.delete(clientId);
    this.#o.logger.info({ client: clientId }, 'tokenvault: client secret updated');
  }

  /** Whether the provider rejected this client's credentials (until `updateClientSecret`). */
  isClientRejected(clientId: string): boolean {
    return this.#rejectedClients.has(clientId);
  }

  /** The configured client ids. */
  get clients(): readonly string[] {
    return [...this.#clients.keys()];
  }

  /** The resolved client (provider profile and credentials). @internal */
  client(clientId: string): ResolvedClient {
    return this.#client(clientId);
  }

  /** Waits for in-flight refreshes, then closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inflight.values()]);
    if (this.#connections !== this.#o.connections) this.#connections?.close(); // ours, not the caller's
    await this.#o.store.close();
  }

  // ────────────────────────────────────────────────────────────────────────── refresh engine

  async #ensureFresh(grantId: string, need: Freshness, signal: AbortSignal | undefined): Promise<GrantRecord> {
    this.#cache.delete(grantId);
    const { record } = await this.#refreshWithOutcome(grantId, need, signal);
    if (this.#isFresh(record)) this.#remember(record);
    return record;
  }

  async #refreshOutcome(grantId: string, need: Freshness, signal: AbortSignal | undefined): Promise<RefreshOutcome> {
    return (await this.#refreshWithOutcome(grantId, need, signal)).outcome;
  }

  /**
   * Single-flight in this process: callers of one grant share one refresh. A caller whose need the
   * shared result does not meet (it was started for a weaker need) goes round again.
   */
  async #refreshWithOutcome(
    grantId: string,
    need: Freshness,
    signal: AbortSignal | undefined,
  ): Promise<{ record: GrantRecord; outcome: RefreshOutcome }> {
    this.#assertOpen();
    signal?.throwIfAborted();
    let lastFailure: unknown;
    for (let round = 0; round < 3; round++) {
      const joined = this.#inflight.get(grantId);
      const flight = joined ?? this.#startFlight(grantId, need);
      const record = await abortable(flight, signal);
      const outcome: RefreshOutcome = this.#refreshed.has(record) ? 'refreshed' : this.#failed.has(record) ? 'failed' : 'fresh';
      // A sweep's flight hands back a grant still in another process's hands only when it left it to them.
      if (need.leaveToOthers && outcome === 'fresh' && record.state === 'refreshing') return { record, outcome: 'elsewhere' };
      const now = this.#o.clock.now();
      if (meets(record, need, now, this.#o.refreshSkewMs)) return { record, outcome };
      if (outcome === 'failed') {
        // The refresh failed. The old token still serves a caller who did not see it refused, while it
        // stays comfortably valid; otherwise the failure is the answer.
        if (usableWithMargin(record, need, now, this.#o.refreshSkewMs / 4)) return { record, outcome };
        lastFailure = this.#failed.get(record);
        if (!joined) break;
        continue;
      }
      // Short of the full need, a comfortably valid token will do (a provider whose tokens live less
      // than the need asks for, a flight another caller started): only a caller that needs a token
      // other than the one found — it expired while being stored, an API refused it, or a forced
      // refresh joined a flight that did not refresh — goes round with a flight of its own.
      if (usableWithMargin(record, need, now, this.#o.refreshSkewMs / 4) && (!joined || !need.force)) return { record, outcome };
    }
    if (lastFailure !== undefined) throw toTokenVaultError(lastFailure);
    throw new ConflictError(`grant "${grantId}" could not be given a usable token; try again`);
  }

  #startFlight(grantId: string, need: Freshness): Promise<GrantRecord> {
    const flight: Promise<GrantRecord> = this.#refreshFlight(grantId, need).finally(() => {
      if (this.#inflight.get(grantId) === flight) this.#inflight.delete(grantId);
    });
    this.#inflight.set(grantId, flight);
    return flight;
  }

  /**
   * One refresh attempt chain for a grant, run at most once at a time per grant in this process.
   * Whatever happens elsewhere meanwhile (a lost race, a takeover, a rejection), it goes back to the
   * top and decides again from what the store holds, so it only ever returns an authorized record
   * (or, during another process's refresh, one whose token is still comfortably valid).
   */
  async #refreshFlight(grantId: string, need: Freshness): Promise<GrantRecord> {
    // A turn among this vault's refreshes (see `maxConcurrentRefreshes`), asked for when a lease is
    // about to be taken and held until the flight ends, except while it waits for another process.
    let turn: (() => void) | undefined;
    try {
      return await this.#refreshFlightTurns(grantId, need, {
        takeNow: () => (turn ??= this.#refreshTurns.tryAcquire()) !== undefined,
        take: async () => {
          turn = await this.#refreshTurns.acquire();
        },
        giveBack: () => {
          turn?.();
          turn = undefined;
        },
      });
    } finally {
      turn?.();
    }
  }

  async #refreshFlightTurns(
    grantId: string,
    need: Freshness,
    turn: { takeNow(): boolean; take(): Promise<void>; giveBack(): void },
  ): Promise<GrantRecord> {
    let forced = need.force === true;
    let seenAccessToken: Secret | null | undefined;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const record = await this.#load(grantId);
      if (seenAccessToken === undefined) seenAccessToken = record.accessToken;
      else if (record.accessToken !== seenAccessToken && record.state === 'authorized') forced = false; // someone refreshed: that satisfies force
      const now = this.#o.clock.now();
      switch (record.state) {
        case 'authorized': {
          const due = forced || !meets(record, need, now, this.#o.refreshSkewMs);
          if (!due) return record;
          const stillValid = record.accessTokenExpiresAt === null || record.accessTokenExpiresAt > now;
          if (record.refreshToken === null) {
            if (stillValid && record.accessToken !== null && !forced && need.staleAccessToken === undefined) return record;
            const dead = await this.#transition(record, { type: 'token.reject', now, reason: 'no_refresh_token' });
            if (!dead) continue;
            throw new ReauthRequiredError(grantId, 'no_refresh_token');
          }
          const client = this.#client(record.client);
          if (this.#rejectedClients.has(client.id)) {
            if (stillValid && !forced && need.staleAccessToken === undefined) return record;
            throw new ClientRejectedError(client.id);
          }
          // After a recent transient failure, keep serving a still-valid token instead of hammering.
          if (
            !forced &&
            need.staleAccessToken === undefined &&
            record.lastError?.retryAt != null &&
            record.lastError.retryAt > now &&
            usableWithMargin(record, need, now, this.#o.refreshSkewMs / 4)
          ) {
            return record;
          }
          if (!turn.takeNow()) {
            // Wait for a turn, then look again: meanwhile another process may have refreshed it.
            await turn.take();
            attempt--;
            continue;
          }
          const leased = await this.#transition(record, this.#leaseEvent(now));
          if (!leased) continue; // another writer got there first: look again
          const result = await this.#performRefresh(leased, client);
          if (result === 'again') continue;
          return result;
        }
        case 'refreshing': {
          const lease = record.lease;
          if (lease !== null && now >= lease.until + this.#o.clockToleranceMs) {
            if (!turn.takeNow()) {
              await turn.take();
              attempt--;
              continue;
            }
            // The owner crashed or stalled past its deadline: take over.
            this.#o.logger.warn({ grantId, previousOwner: lease.owner }, 'tokenvault: taking over an expired refresh lease');
            const leased = await this.#transition(record, this.#leaseEvent(now));
            if (!leased) continue;
            const result = await this.#performRefresh(leased, this.#client(record.client));
            if (result === 'again') continue;
            return result;
          }
          // While another process refreshes, a token that stays valid for a while yet is good to hand
          // out (it is the newest persisted one); only a caller who needs a newer one waits.
          if (!forced && usableWithMargin(record, need, now, this.#o.refreshSkewMs / 2)) return record;
          // A sweep leaves the grant to a lease holder within its deadline; past it (the owner is late or
          // gone), it waits out the clock tolerance like everyone else and then takes over.
          if (need.leaveToOthers && lease !== null && now < lease.until) return record;
          turn.giveBack(); // waiting for another process is not refreshing: let ours go meanwhile
          await this.#waitWhileRefreshing(record);
          forced = false; // whoever held the lease has refreshed (or given up) meanwhile
          attempt--; // waiting is not a lost race
          continue;
        }
        case 'reauthRequired':
          throw new ReauthRequiredError(grantId, record.reauthReason ?? 'refresh_token_rejected');
        default:
          throw new NotAuthorizedError(grantId, record.state);
      }
    }
    throw new ConflictError(`grant "${grantId}" kept changing while it was being refreshed`);
  }

  #leaseEvent(now: number): GrantEvent {
    return { type: 'refresh.start', now, owner: this.#o.owner, leaseUntil: now + this.#o.leaseMs, leaseGraceMs: this.#o.clockToleranceMs };
  }

  /**
   * Polls the store until the grant leaves `refreshing` under this lease, or the lease (and grace)
   * runs out. All the vault's waits share one budget of re-reads per second (`leasePollsPerSecond`):
   * with thousands of them at once, each polls less often rather than flooding the store.
   */
  async #waitWhileRefreshing(record: GrantRecord): Promise<void> {
    const { min, max } = this.#o.pollIntervalMs;
    let interval = min;
    const until = (record.lease?.until ?? this.#o.clock.now()) + this.#o.clockToleranceMs;
    this.#leaseWaits++;
    try {
      for (;;) {
        const remaining = until - this.#o.clock.now();
        const shared = (this.#leaseWaits * 1000) / this.#o.leasePollsPerSecond;
        await this.#o.clock.sleep(Math.max(0, Math.min(Math.max(interval, shared), remaining + 1)));
        const current = await this.#o.store.get(record.grantId);
        if (!current || current.version !== record.version) return;
        if (this.#o.clock.now() >= until) return;
        interval = Math.min(max, Math.ceil(interval * 1.5));
      }
    } finally {
      this.#leaseWaits--;
    }
  }

  /**
   * Holds the lease in `leased`: asks the provider for new tokens, persists them, and only then
   * returns them. Every outcome is written back (lease released) before this returns or throws;
   * `'again'` means the grant changed under us and the caller should decide afresh.
   */
  async #performRefresh(leased: GrantRecord, client: ResolvedClient): Promise<GrantRecord | 'again'> {
    const grantId = leased.grantId;
    const refreshToken = leased.refreshToken as Secret;
    const lease = leased.lease as { owner: string; until: number };
    // Finish (retries included) well before the lease can be taken over by someone else. The budget
    // is on this vault's clock, checked before every attempt.
    const deadline = lease.until - this.#o.requestTimeoutMs;
    let tokens: TokenSet;
    try {
      tokens = await this.#tokenEndpoint(
        () => refreshTokenGrantRequest(client.provider, client.credentials, refreshToken),
        (res) => processTokenResponse(res, { now: this.#o.clock.now() }),
        client,
        undefined,
        deadline,
      );
    } catch (error) {
      return this.#refreshFailed(leased, client, error);
    }
    const succeeded = await this.#transitionDurably(leased, {
      type: 'refresh.succeed',
      now: this.#o.clock.now(),
      owner: this.#o.owner,
      tokens,
    });
    if (succeeded) {
      this.#refreshed.add(succeeded);
      return succeeded;
    }
    return this.#adoptAfterLostLease(leased, refreshToken, tokens);
  }

  /**
   * We outlived our lease: someone else took it over while we were refreshing, so our write was
   * refused. The tokens we hold may still be the newest the provider issued (the other refresh
   * presented the same old refresh token and was refused, or has not finished): keep them unless the
   * grant moved on to tokens of its own — a later rotation, or a new authorization. A grant the
   * refused presentation killed has none (it may be awaiting a new consent by now, or have been
   * refused one): ours are then the only working tokens, and are kept. A grant forgotten meanwhile
   * gets nothing, even if it was created again.
   */
  async #adoptAfterLostLease(leased: GrantRecord, presented: Secret, tokens: TokenSet): Promise<'again'> {
    const grantId = leased.grantId;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.#o.store.get(grantId);
      if (!current) return 'again';
      if (current.state === 'refreshing') {
        await this.#waitWhileRefreshing(current);
        continue;
      }
      const ours = current.refreshToken === null || current.refreshToken.equals(presented.reveal());
      if (!sameLife(current, leased) || !ours) {
        this.#o.logger.warn({ grantId }, 'tokenvault: lost the refresh lease; the grant has newer tokens, ours are dropped');
        return 'again';
      }
      // Durably: these may be the only working tokens there are (the provider rotated ours away).
      const adopted = await this.#transitionDurably(current, {
        type: 'tokens.import',
        now: this.#o.clock.now(),
        tokens: { ...tokens, refreshToken: tokens.refreshToken ?? presented, scope: tokens.scope ?? current.scope },
      });
      if (adopted) {
        this.#o.logger.warn({ grantId }, 'tokenvault: lost the refresh lease; kept the tokens this refresh obtained');
        return 'again';
      }
    }
    return 'again';
  }

  /** Writes the outcome of a failed refresh and throws (or returns a record to decide from again). */
  async #refreshFailed(leased: GrantRecord, client: ResolvedClient, error: unknown): Promise<GrantRecord | 'again'> {
    const grantId = leased.grantId;
    const now = this.#o.clock.now();
    if (error instanceof OAuthError && error.error === 'invalid_grant') {
      // Someone else may have won a race and rotated the token: re-read before declaring the grant dead.
      const current = await this.#o.store.get(grantId);
      if (current && current.version !== leased.version) {
        this.#o.logger.info({ grantId }, 'tokenvault: refresh token refused, but the grant changed meanwhile; deciding again');
        return 'again';
      }
      const dead = await this.#transitionDurably(leased, {
        type: 'refresh.reject',
        now,
        owner: this.#o.owner,
        error: { code: 'invalid_grant', message: error.message },
      });
      if (!dead) return 'again';
      throw new ReauthRequiredError(grantId, 'refresh_token_rejected', { cause: error });
    }
    if (error instanceof OAuthError && error.error === 'invalid_client') {
      this.#markClientRejected(client.id);
      await this.#transitionDurably(leased, {
        type: 'refresh.clientReject',
        now,
        owner: this.#o.owner,
        error: { code: 'invalid_client', message: error.message },
      });
      throw new ClientRejectedError(client.id, { cause: error });
    }
    // Transient, malformed or unexpected: the grant stays usable; remember the failure.
    const retryAt = error instanceof ProviderUnavailableError ? (error.retryAt ?? null) : null;
    const released = await this.#transitionDurably(leased, {
      type: 'refresh.fail',
      now,
      owner: this.#o.owner,
      error: describeError(error),
      retryAt: retryAt ?? now + this.#o.retry.minTimeoutMs,
    });
    this.#o.logger.warn({ grantId, err: describeError(error) }, 'tokenvault: refresh failed; the grant keeps its tokens');
    if (!released) return 'again';
    if (released.accessToken !== null && (released.accessTokenExpiresAt === null || released.accessTokenExpiresAt > this.#o.clock.now())) {
      this.#failed.set(released, error);
      return released; // the caller decides whether the old token will do
    }
    throw toTokenVaultError(error);
  }

  // ────────────────────────────────────────────────────────────────────────── plumbing

  /** Sends a token-endpoint request with the retry policy and processes the answer. */
  async #tokenEndpoint<T>(
    build: () => HttpRequest,
    process: (res: Awaited<ReturnType<typeof sendRequest>>) => T,
    client: ResolvedClient,
    signal: AbortSignal | undefined,
    deadline?: number,
  ): Promise<T> {
    return withRetry(
      async () => {
        const res = await sendRequest(build(), {
          fetch: this.#o.tokenFetch,
          connections: this.#connections,
          timeoutMs: this.#o.requestTimeoutMs,
          maxBytes: this.#o.maxResponseBytes,
          ...(signal && { signal }),
        });
        return process(res);
      },
      this.#o.retry,
      {
        clock: this.#o.clock,
        signal,
        deadline,
        // Backoff, Retry-After waits and the retry budget on the vault's clock, the one its leases are
        // on: a retry never leaves after the lease it was made under ran out by that clock.
        waitOn: 'clock',
        random: () => unitInterval(this.#o.random(4)),
        isRetryable: (e) => e instanceof ProviderUnavailableError,
        onRetry: (e, attempt) =>
          this.#o.logger.debug({ client: client.id, attempt, err: describeError(e) }, 'tokenvault: retrying the token endpoint'),
      },
    );
  }

  /**
   * Applies `event` and writes the result with compare-and-set. Returns the new record, or undefined
   * when the event does not apply or another writer changed the grant first.
   */
  async #transition(record: GrantRecord, event: GrantEvent): Promise<GrantRecord | undefined> {
    const next = applyGrantEvent(record, event);
    if (!next) return undefined;
    if (!(await this.#o.store.compareAndSet(next, record.version))) return undefined;
    this.#announce(record, next, event);
    return next;
  }

  /**
   * Like {@link #transition}, for writes that must not be lost (new tokens, a released lease): a
   * failing store is retried with backoff — past the lease, too: until someone else writes the grant
   * (then compare-and-set says so) or a further lease length has gone by, and in any case a few times
   * (up to a 1 s backoff). Giving up earlier would throw away a refresh token the provider has already
   * rotated. The few tries are owed whatever the clock says: a process that was paused (or whose write
   * sat in a queue) wakes up long past the deadline with the rotated token in hand, and one failed
   * write must not lose it; only a store that keeps failing ends it.
   */
  async #transitionDurably(record: GrantRecord, event: GrantEvent): Promise<GrantRecord | undefined> {
    const deadline = (record.lease?.until ?? this.#o.clock.now()) + this.#o.leaseMs;
    let delay = 20;
    for (;;) {
      try {
        return await this.#transition(record, event);
      } catch (error) {
        const outOfTime = this.#o.clock.now() + delay >= deadline && delay >= DURABLE_WRITE_MAX_BACKOFF_MS;
        if (!(error instanceof StoreError) || outOfTime) throw error;
        this.#o.logger.warn({ grantId: record.grantId, err: describeError(error) }, 'tokenvault: store write failed; retrying');
        await this.#o.clock.sleep(delay);
        delay = Math.min(delay * 2, DURABLE_WRITE_MAX_BACKOFF_MS);
      }
    }
  }

  /**
   * Read-modify-write with compare-and-set, retried on conflicts. `decide` returns the event to apply,
   * or null to leave the grant as it is. Creates the grant (unauthorized) when `client` is given and
   * none exists.
   */
  async #update(
    grantId: string,
    client: string | undefined,
    signal: AbortSignal | undefined,
    decide: (record: GrantRecord) => GrantEvent | null,
  ): Promise<GrantRecord> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      signal?.throwIfAborted();
      const existing = await this.#o.store.get(grantId);
      if (!existing) {
        if (client === undefined) throw new UnknownGrantError(grantId);
        const fresh = createGrantRecord({ grantId, client, now: this.#o.clock.now() });
        const event = decide(fresh);
        if (event === null) return fresh;
        const next = applyGrantEvent(fresh, event);
        if (!next) throw new ConflictError(`event "${event.type}" does not apply to a new grant`);
        // A first version no earlier life of this grant id can have had (see assertFirstVersion), so that
        // a compare-and-set from before a `forget` cannot land on the new life (ABA), and a code exchange
        // from before it is told apart (sameLife). Random rather than the creation time in ms: a grant
        // can be created again in the very millisecond its previous life was (a create that waited on a
        // slow store computed its time before that life began), and lives must not share versions then.
        const created = { ...next, version: firstVersion(this.#o.random(7)) };
        if (await this.#o.store.create(created)) {
          this.#announce(null, created, event);
          return created;
        }
        continue;
      }
      if (existing.state === 'refreshing' && existing.lease) {
        if (this.#o.clock.now() < existing.lease.until + this.#o.clockToleranceMs) {
          // Let the refresh finish first; the machine does not take other events mid-refresh.
          await abortable(this.#waitWhileRefreshing(existing), signal);
          attempt--;
          continue;
        }
        // Its owner is gone: release the lease, then decide on the grant as it is.
        await this.#writeRetrying(existing, { type: 'refresh.abandon', now: this.#o.clock.now(), leaseGraceMs: this.#o.clockToleranceMs });
        continue;
      }
      const event = decide(existing);
      if (event === null) return existing;
      const next = await this.#writeRetrying(existing, event);
      if (next) return next;
    }
    throw new ConflictError(`grant "${grantId}" kept changing; gave up after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  /**
   * {@link #transition} for `#update`: an event that does not apply is a conflict, and a failing store
   * is retried a few times (an authorization's new tokens must not be lost to one failed write).
   */
  async #writeRetrying(record: GrantRecord, event: GrantEvent): Promise<GrantRecord | undefined> {
    const next = applyGrantEvent(record, event);
    if (!next) throw new ConflictError(`event "${event.type}" does not apply to grant "${record.grantId}" in state "${record.state}"`);
    for (let delay = 20; ; delay *= 2) {
      try {
        if (!(await this.#o.store.compareAndSet(next, record.version))) return undefined;
        this.#announce(record, next, event);
        return next;
      } catch (error) {
        if (!(error instanceof StoreError) || delay > 2_000) throw error;
        this.#o.logger.warn({ grantId: record.grantId, err: describeError(error) }, 'tokenvault: store write failed; retrying');
        await this.#o.clock.sleep(delay);
      }
    }
  }

  /** Emits the events a persisted change implies. Runs only after the write succeeded. */
  #announce(previous: GrantRecord | null, next: GrantRecord, event: GrantEvent): void {
    const at = event.now;
    this.#cache.delete(next.grantId);
    this.#emitter.emit('transition', {
      grantId: next.grantId,
      client: next.client,
      from: previous?.state ?? null,
      to: next.state,
      event: previous ? event.type : 'grant.create',
      version: next.version,
      at,
    });
    if (event.type === 'refresh.succeed') {
      this.#emitter.emit('refreshed', { grantId: next.grantId, client: next.client, expiresAt: next.accessTokenExpiresAt, at });
    } else if (event.type === 'authorization.complete') {
      this.#emitter.emit('authorized', { grantId: next.grantId, client: next.client, scope: next.scope, at });
    }
    if (next.state === 'reauthRequired' && previous?.state !== 'reauthRequired' && next.reauthReason) {
      this.#emitter.emit('reauthRequired', { grantId: next.grantId, client: next.client, reason: next.reauthReason, at });
    }
  }

  #markClientRejected(clientId: string): void {
    if (this.#rejectedClients.has(clientId)) return;
    const at = this.#o.clock.now();
    this.#rejectedClients.set(clientId, at);
    this.#o.logger.error({ client: clientId }, 'tokenvault: the provider rejected the client credentials (invalid_client)');
    this.#emitter.emit('clientRejected', { client: clientId, at });
  }

  async #load(grantId: string): Promise<GrantRecord> {
    const record = await this.#o.store.get(grantId);
    if (!record) throw new UnknownGrantError(grantId);
    return record;
  }

  #client(id: string): ResolvedClient {
    const client = this.#clients.get(id);
    if (!client) throw new UnknownClientError(id);
    return client;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError('the vault is closed');
  }

  /** The binder for a `sessionId` given to `beginAuthorization` (none without one). */
  #stateBinderFor(sessionId: string | undefined): SessionStateBinder | undefined {
    if (sessionId === undefined) return undefined;
    if (this.#o.stateBinder === undefined) throw new InvalidArgumentError('"sessionId" needs the vault option "stateKey"');
    return this.#o.stateBinder;
  }

  /**
   * A state begun with a `sessionId` must come back with the same one; one begun without must not
   * claim a session. Runs before the store is read: a cross-session state costs one HMAC.
   */
  #checkStateSession(state: string, sessionId: string | undefined): void {
    if (sessionId !== undefined) {
      const binder = this.#stateBinderFor(sessionId) as SessionStateBinder;
      if (!binder.verify(state, sessionId)) throw new StateMismatchError('the authorization callback carries a state issued for another session (or none)');
    } else if (this.#o.stateBinder !== undefined && SessionStateBinder.isBound(state)) {
      throw new StateMismatchError('the authorization was begun with a sessionId: pass the same { sessionId } to completeAuthorization');
    }
  }
}

/**
 * Creates a vault.
 *
 * @example
 * const vault = createVault({
 *   store: memoryStore(),
 *   clients: [{ id: 'mixi', provider: providers.mixi(), clientId, clientSecret, redirectUri }],
 * });
 */
export function createVault(options: VaultOptions): Vault {
  return new Vault(options);
}

/**
 * The record's token satisfies the need, as of `now`: it was not just refused, and it stays valid past
 * the need's horizon and `skewMs` from now — not just from when the call began: a call that was paused
 * (or waited long on the store) must not settle for a token that has become due meanwhile, which by a
 * clock a little behind the provider's may already be expired there.
 */
/** Where the versions of a life created by the vault start: a random point in [2^52, 2^52 + 2^51). */
function firstVersion(bytes: Uint8Array): number {
  let r = 0;
  for (const b of bytes.subarray(0, 7)) r = r * 256 + b;
  return 2 ** 52 + (r % 2 ** 51);
}

/** More writes than any grant makes between reading a record and acting on what it read. */
const MAX_WRITES_SINCE_READ = 2 ** 24;

/**
 * Whether `current` is the same life of the grant as `earlier` (read before it), or the grant was
 * deleted (`forget`) and maybe created again since. Within one life the creation time stays, the
 * version only grows (and not by millions meanwhile), and one version names one record; a new life
 * starts at a random version (see `firstVersion`), so it lands on the earlier one's few versions only
 * with negligible probability.
 */
function sameLife(current: GrantRecord, earlier: GrantRecord): boolean {
  if (current.createdAt !== earlier.createdAt) return false;
  const writes = current.version - earlier.version;
  if (writes === 0) return grantRecordsEqual(current, earlier);
  return writes > 0 && writes < MAX_WRITES_SINCE_READ;
}

function meets(record: GrantRecord, need: Freshness, now: number, skewMs: number): boolean {
  if (record.state !== 'authorized' || record.accessToken === null) return false;
  if (need.staleAccessToken !== undefined && record.accessToken.equals(need.staleAccessToken)) return false;
  if (record.accessTokenExpiresAt === null) return true;
  return record.accessTokenExpiresAt > Math.max(need.validUntil, now + skewMs);
}

/**
 * The record's token will do for a caller who cannot have a fresher one right now: it was not just
 * refused, and it stays valid for at least `marginMs` (headroom for clock drift and time in flight).
 */
function usableWithMargin(record: GrantRecord, need: Freshness, now: number, marginMs: number): boolean {
  if (record.accessToken === null) return false;
  if (need.staleAccessToken !== undefined && record.accessToken.equals(need.staleAccessToken)) return false;
  return record.accessTokenExpiresAt === null || record.accessTokenExpiresAt > now + marginMs;
}

/** `items` from index `start` on, then the ones before it. */
function rotate<T>(items: readonly T[], start: number): readonly T[] {
  return start <= 0 || start >= items.length ? items : [...items.slice(start), ...items.slice(0, start)];
}

/** A number in [0, 1) from four random bytes (the vault's `random` source: backoff jitter, sweep order). */
function unitInterval(bytes: Uint8Array): number {
  return ((bytes[0] ?? 0) * 2 ** 24 + (bytes[1] ?? 0) * 2 ** 16 + (bytes[2] ?? 0) * 2 ** 8 + (bytes[3] ?? 0)) / 2 ** 32;
}

function forgottenDuringExchange(grantId: string): StateMismatchError {
  return new StateMismatchError(`grant "${grantId}" was forgotten while the authorization code was being exchanged; its tokens are not stored`);
}

function toTokenVaultError(error: unknown): Error {
  return error instanceof TokenVaultError
    ? error
    : new ProviderUnavailableError('the token endpoint could not be reached', {}, { cause: error });
}

function checkGrantId(grantId: unknown): string {
  if (typeof grantId !== 'string' || grantId.length === 0 || grantId.length > 512) {
    throw new InvalidArgumentError('"grantId" must be a string of 1 to 512 characters');
  }
  return grantId;
}

/** A redacted, loggable description of any error. */
export function describeError(error: unknown): FailureInfo {
  if (error instanceof OAuthError) return { code: error.error, message: error.message };
  if (error instanceof TokenVaultError) return { code: error.code, message: error.message };
  if (error instanceof InvalidResponseError) return { code: 'invalid_response', message: error.message };
  if (error instanceof Error) return { code: error.name, message: error.message };
  return { code: 'unknown', message: 'a non-error value was thrown' };
}

/** Awaits `promise`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Runs `work` over the items of every page `nextPage` gives (undefined: no more), `concurrency` at a
 * time, without a pause between pages: the next page is read while the last `concurrency` items of the
 * current one run, so the pool never drains at a page boundary. One page read at a time; a failed read
 * fails the pool.
 */
async function runPagedPool<T>(
  nextPage: () => Promise<readonly T[] | undefined>,
  concurrency: number,
  work: (item: T) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  let items: readonly T[] = [];
  let index = 0;
  let done = false;
  let reading: Promise<readonly T[] | undefined> | undefined;
  const read = () => {
    const pending = nextPage();
    pending.catch(() => undefined); // observed by whichever worker waits for it
    reading = pending;
  };
  const take = async (): Promise<T | undefined> => {
    for (;;) {
      signal?.throwIfAborted();
      if (index < items.length) {
        const item = items[index++] as T;
        if (!done && reading === undefined && items.length - index < concurrency) read();
        return item;
      }
      if (done) return undefined;
      if (reading === undefined) read();
      const pending = reading!;
      const page = await pending;
      if (reading !== pending) continue; // another worker took this page in already
      reading = undefined;
      if (page === undefined) done = true;
      else {
        items = page;
        index = 0;
      }
    }
  };
  const worker = async () => {
    for (let item = await take(); item !== undefined; item = await take()) await work(item);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
