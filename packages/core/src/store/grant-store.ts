import type { CorruptRecordError, ReauthReason } from '../errors/errors';
import type { Secret } from '../util/secret';

/**
 * The lifecycle states of a grant (one user's authorization of one client).
 *
 * ```
 * unauthorized ──begin──▶ awaitingCode ──code exchanged──▶ authorized ◀──refresh ok── refreshing
 *                                                          │ token rejected        │ refresh token rejected
 *                                                          ▼                       ▼
 *                                                   reauthRequired ◀───────────────┘
 * ```
 */
export type GrantState = 'unauthorized' | 'awaitingCode' | 'authorized' | 'refreshing' | 'reauthRequired';

export const GRANT_STATES: readonly GrantState[] = [
  'unauthorized',
  'awaitingCode',
  'authorized',
  'refreshing',
  'reauthRequired',
];

/** An authorization that was begun and whose callback has not arrived yet. */
export interface PendingAuthorization {
  /** SHA-256 (base64url) of the `state` parameter. The state itself is never stored. */
  readonly stateHash: string;
  /** Epoch ms after which the callback is refused (3 minutes for mixi: the code's lifetime). */
  readonly deadline: number;
  /** The scope asked for. */
  readonly scope: readonly string[];
  /** The redirect URI sent with the request; the code exchange must repeat it exactly. */
  readonly redirectUri: string;
  /** PKCE code verifier, when the provider profile uses PKCE. */
  readonly codeVerifier: Secret | null;
  /** mixi's `server_state`, when the profile uses it; sent again on the code exchange. */
  readonly serverState: Secret | null;
}

/** Who is refreshing a grant, and until when. Past `until`, another owner may take over. */
export interface Lease {
  readonly owner: string;
  /** Epoch ms. */
  readonly until: number;
}

/** The last failure seen on a grant that did not end it (a transient provider failure, say). */
export interface GrantError {
  /** A tokenvault error code or an OAuth error code. */
  readonly code: string;
  /** A redacted, human-readable message. */
  readonly message: string;
  /** Epoch ms. */
  readonly at: number;
  /** When it is sensible to try again (from `Retry-After` or backoff), epoch ms; null if now. */
  readonly retryAt: number | null;
}

/**
 * One grant as stored. Immutable: every change is a new record with `version + 1`, written with
 * {@link GrantStore.compareAndSet}. All times are absolute epoch milliseconds.
 */
export interface GrantRecord {
  readonly grantId: string;
  /** The id of the configured client (service registration) this grant belongs to. */
  readonly client: string;
  readonly state: GrantState;
  /** Starts at 1; every successful write increments it by exactly one. */
  readonly version: number;
  /** The scope granted (the one asked for until the provider says otherwise). Empty before authorization. */
  readonly scope: readonly string[];
  readonly accessToken: Secret | null;
  /** When the access token expires, or null when the provider did not say. */
  readonly accessTokenExpiresAt: number | null;
  readonly refreshToken: Secret | null;
  readonly idToken: Secret | null;
  /** `token_type` as the provider sent it (`Bearer`). */
  readonly tokenType: string | null;
  /** When the current access token was obtained. */
  readonly tokensIssuedAt: number | null;
  /**
   * Where the authorization behind the current tokens stands among the grant's authorizations: the
   * grant's `version` when that authorization's callback was accepted (null: none completed yet). A
   * later authorization's callback is always accepted at a higher version, so a code exchange of an
   * earlier one that finishes last is recognised as older and never stored over these tokens.
   * Refreshes keep it; so does `importGrant`.
   */
  readonly authorizationOrder: number | null;
  readonly pending: PendingAuthorization | null;
  /** Present exactly when `state` is `refreshing`. */
  readonly lease: Lease | null;
  /** Present exactly when `state` is `reauthRequired`. */
  readonly reauthReason: ReauthReason | null;
  readonly lastError: GrantError | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A registered service (consumer key and secret) kept in the store, as the CLI does. */
export interface ClientRecord {
  /** Local id, e.g. `mixi`. */
  readonly id: string;
  /** Provider profile name (`mixi`, `oauth2`). */
  readonly provider: string;
  /** JSON-serialisable provider settings (endpoints for a generic OAuth 2.0 provider, say). */
  readonly providerOptions: Readonly<Record<string, unknown>>;
  /** Consumer key. */
  readonly clientId: string;
  /** Consumer secret. */
  readonly clientSecret: Secret;
  readonly redirectUri: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A page request: at most `limit` items after the opaque `cursor` of the previous page. */
export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** A page of results; `cursor` is set when there may be more. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly cursor: string | undefined;
  /**
   * Rows in this page's key range that could not be read back as records (corrupt, foreign, or
   * undecryptable), left out of `items` so that a sweep can page past them. Report them; absent when
   * there were none.
   */
  readonly unreadable?: readonly CorruptRecordError[];
}

/**
 * A grant a sweep listing found: its key and the time it is listed by (the access token's expiry for
 * `listDue`, the lease's end for `listExpiredLeases`). Keys rather than records: whoever acts on a due
 * grant reads it again under compare-and-set anyway, so a listing that decoded (and decrypted) whole
 * records would do that work twice. A store can then answer a page from a narrow index alone.
 */
export interface DueGrant {
  readonly grantId: string;
  /** Epoch ms. */
  readonly at: number;
}

export interface GrantFilter {
  readonly state?: GrantState | readonly GrantState[] | undefined;
  readonly client?: string | undefined;
}

/**
 * Where grants live. Every adapter (memory, SQLite, PostgreSQL, your own) passes the same
 * conformance suite, `@tokenvault/store-conformance`.
 *
 * Rules every adapter keeps:
 * - Records are values: what `get` returns is frozen and never changed by a later write.
 * - `compareAndSet` is atomic across processes and machines sharing the store: of many writers
 *   holding the same version, exactly one succeeds.
 * - A failed write throws a {@link StoreError} and leaves the previous record intact. A row that
 *   cannot be read back as a record makes `get`/`findByStateHash` throw a `CorruptRecordError` naming
 *   its key; listings leave it out and report it in {@link Page.unreadable}.
 * - Bad arguments (a malformed record, a broken version rule, a bad page request) are
 *   `InvalidArgumentError`s; grant ids are at most 1,024 UTF-8 bytes, without NUL or lone surrogates.
 * - Text keys sort by Unicode code point (UTF-8 byte order) in every listing.
 * - No two grants hold a pending authorization with the same state hash: such a write is a StoreError.
 * - After `close()`, every call rejects with a StoreError.
 */
export interface GrantStore {
  /** The grant, or undefined. */
  get(grantId: string): Promise<GrantRecord | undefined>;
  /**
   * Stores a new grant, at any positive integer `version` (the vault starts at the creation time in
   * ms, so a re-created grant never repeats a version of its previous life). False if one exists.
   */
  create(record: GrantRecord): Promise<boolean>;
  /**
   * Replaces the grant if its stored version is `expectedVersion`; `next.version` must be
   * `expectedVersion + 1`. False when the stored version differs or the grant is gone.
   */
  compareAndSet(next: GrantRecord, expectedVersion: number): Promise<boolean>;
  /** Deletes the grant (only at `expectedVersion`, when given). False if nothing was deleted. */
  delete(grantId: string, expectedVersion?: number): Promise<boolean>;
  /** The grant whose pending authorization has this state hash. */
  findByStateHash(stateHash: string): Promise<GrantRecord | undefined>;
  /**
   * `authorized` grants whose access token expires strictly before `beforeMs` (an integer), by
   * (expiry, grantId), as keys: `at` is the expiry. Grants without an expiry are never due.
   * Keyset-paged, so rows refreshed meanwhile neither repeat nor shift the pages.
   */
  listDue(beforeMs: number, page: PageRequest): Promise<Page<DueGrant>>;
  /**
   * `refreshing` grants whose lease ended before `nowMs` (their owner probably crashed), by
   * (lease end, grantId), as keys: `at` is the lease end.
   */
  listExpiredLeases(nowMs: number, page: PageRequest): Promise<Page<DueGrant>>;
  /** Grants matching `filter`, by grantId. */
  list(filter: GrantFilter, page: PageRequest): Promise<Page<GrantRecord>>;
  /** How many grants match `filter`. */
  count(filter: GrantFilter): Promise<number>;

  getClient(id: string): Promise<ClientRecord | undefined>;
  /** Inserts or replaces the client with this id. */
  putClient(record: ClientRecord): Promise<void>;
  deleteClient(id: string): Promise<boolean>;
  listClients(): Promise<readonly ClientRecord[]>;

  /** Releases connections and file handles. Further calls reject with a StoreError. */
  close(): Promise<void>;
}
