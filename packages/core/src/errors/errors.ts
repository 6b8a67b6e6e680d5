/**
 * Every error tokenvault throws is a {@link TokenVaultError} (or, for bad arguments, an
 * {@link InvalidArgumentError}, which is a `TypeError`), with a stable string `code` to branch on.
 *
 * None of them ever carries a token, a code, a state or a client secret: messages name fields, never
 * values, and any response body kept for diagnosis is redacted first (see `redactBody`).
 */

/** Stable machine-readable codes. Adding one is a minor change; renaming one is breaking. */
export type TokenVaultErrorCode =
  | 'oauth_error'
  | 'invalid_response'
  | 'provider_unavailable'
  | 'reauth_required'
  | 'insufficient_scope'
  | 'invalid_request'
  | 'state_mismatch'
  | 'authorization_expired'
  | 'access_denied'
  | 'client_rejected'
  | 'unknown_client'
  | 'unknown_grant'
  | 'grant_exists'
  | 'not_authorized'
  | 'body_not_replayable'
  | 'conflict'
  | 'store_error'
  | 'store_corrupt_record'
  | 'decryption_failed'
  | 'unknown_key'
  | 'redirect_uri_mismatch'
  | 'invalid_argument';

export interface TokenVaultErrorOptions {
  cause?: unknown;
}

/** Base class of every tokenvault error. `code` is stable; `message` is for people. */
export class TokenVaultError extends Error {
  readonly code: TokenVaultErrorCode;

  constructor(code: TokenVaultErrorCode, message: string, options?: TokenVaultErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  // `name` is declared per class, never taken from `constructor.name` (minifiers rename classes).
  override readonly name: string = 'TokenVaultError';

  /** A plain, redacted object: safe to log or serialise. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/**
 * The authorization server answered with an OAuth error (`{"error":"invalid_grant"}` and friends),
 * or a bearer challenge named one. `error` is the provider's code, verbatim.
 */
export class OAuthError extends TokenVaultError {
  /** The OAuth `error` value, e.g. `invalid_grant`, `invalid_client`, `unsupported_grant_type`. */
  readonly error: string;
  /** `error_description`, when the provider sent one (never contains our secrets: it is theirs). */
  readonly description: string | undefined;
  /** HTTP status of the answer. */
  readonly status: number;

  constructor(error: string, status: number, description?: string, options?: TokenVaultErrorOptions) {
    super(
      'oauth_error',
      `the provider answered ${status} with OAuth error "${error}"${description ? `: ${description}` : ''}`,
      options,
    );
    this.error = error;
    this.description = description;
    this.status = status;
  }

  override readonly name: string = 'OAuthError';

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), error: this.error, description: this.description, status: this.status };
  }
}

/** An answer that is not what the protocol promises: a missing field, a wrong type, HTML instead of JSON. */
export class InvalidResponseError extends TokenVaultError {
  /** HTTP status of the answer, when there was one. */
  readonly status: number | undefined;

  constructor(message: string, status?: number, options?: TokenVaultErrorOptions) {
    super('invalid_response', message, options);
    this.status = status;
  }

  override readonly name: string = 'InvalidResponseError';

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), status: this.status };
  }
}

/**
 * The provider could not be reached or answered with a transient failure (network error, timeout,
 * 5xx, 503 rate limit, 429) after every retry. The grant is unchanged: nothing was revoked.
 */
export class ProviderUnavailableError extends TokenVaultError {
  readonly status: number | undefined;
  /** When the provider asked us to come back (from `Retry-After`), epoch ms. */
  readonly retryAt: number | undefined;

  constructor(message: string, details: { status?: number; retryAt?: number } = {}, options?: TokenVaultErrorOptions) {
    super('provider_unavailable', message, options);
    this.status = details.status;
    this.retryAt = details.retryAt;
  }

  override readonly name: string = 'ProviderUnavailableError';

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), status: this.status, retryAt: this.retryAt };
  }
}

/** Why a grant needs a new authorization. */
export type ReauthReason =
  /** The provider refused the refresh token (expired, revoked, or reused): it will never work again. */
  | 'refresh_token_rejected'
  /** An API refused the access token as invalid (not merely expired): the grant was revoked. */
  | 'token_revoked'
  /** The access token expired and the provider never issued a refresh token. */
  | 'no_refresh_token';

/** The grant can no longer be used: the user must authorize again (`vault.beginAuthorization`). */
export class ReauthRequiredError extends TokenVaultError {
  readonly grantId: string;
  readonly reason: ReauthReason;

  constructor(grantId: string, reason: ReauthReason, options?: TokenVaultErrorOptions) {
    super('reauth_required', `grant "${grantId}" must be authorized again (${reason})`, options);
    this.grantId = grantId;
    this.reason = reason;
  }

  override readonly name: string = 'ReauthRequiredError';

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), grantId: this.grantId, reason: this.reason };
  }
}

/** The API refused the call for want of a scope. A new authorization with a wider scope fixes it. */
export class InsufficientScopeError extends TokenVaultError {
  readonly grantId: string;
  /** The scopes the resource server asked for (from the challenge's `scope`), possibly empty. */
  readonly requiredScope: readonly string[];

  constructor(grantId: string, requiredScope: readonly string[], description?: string) {
    super(
      'insufficient_scope',
      `grant "${grantId}" lacks the scope this call needs${requiredScope.length ? ` (${requiredScope.join(' ')})` : ''}${description ? `: ${description}` : ''}`,
    );
    this.grantId = grantId;
    this.requiredScope = requiredScope;
  }

  override readonly name: string = 'InsufficientScopeError';

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), grantId: this.grantId, requiredScope: this.requiredScope };
  }
}

/** The resource server called the request malformed (`invalid_request`). Not retried. */
export class InvalidRequestError extends TokenVaultError {
  readonly status: number;
  readonly description: string | undefined;

  constructor(status: number, description?: string) {
    super('invalid_request', `the API refused the request as malformed (${status})${description ? `: ${description}` : ''}`);
    this.status = status;
    this.description = description;
  }

  override readonly name: string = 'InvalidRequestError';
}

/** The callback's `state` is missing, unknown, forged or already used. Nothing was stored. */
export class StateMismatchError extends TokenVaultError {
  constructor(message = 'the authorization callback carries an unknown, forged or already used state') {
    super('state_mismatch', message);
  }

  override readonly name: string = 'StateMismatchError';
}

/** The callback came after the authorization's deadline (the code lives 3 minutes at mixi). */
export class AuthorizationExpiredError extends TokenVaultError {
  readonly grantId: string;

  constructor(grantId: string) {
    super('authorization_expired', `the authorization for grant "${grantId}" expired before its callback arrived`);
    this.grantId = grantId;
  }

  override readonly name: string = 'AuthorizationExpiredError';
}

/** The user refused consent (`error=access_denied` on the callback). */
export class AccessDeniedError extends TokenVaultError {
  readonly grantId: string;
  readonly description: string | undefined;

  constructor(grantId: string, description?: string) {
    super('access_denied', `the user denied the authorization of grant "${grantId}"`);
    this.grantId = grantId;
    this.description = description;
  }

  override readonly name: string = 'AccessDeniedError';
}

/**
 * The provider rejected the client's credentials (`invalid_client`): the consumer secret was probably
 * re-issued. Grants keep their tokens; refreshes for this client fail fast until
 * `vault.updateClientSecret` is called.
 */
export class ClientRejectedError extends TokenVaultError {
  readonly client: string;

  constructor(client: string, options?: TokenVaultErrorOptions) {
    super(
      'client_rejected',
      `the provider rejected the credentials of client "${client}"; update its secret with vault.updateClientSecret()`,
      options,
    );
    this.client = client;
  }

  override readonly name: string = 'ClientRejectedError';
}

/** No client with this id is configured. */
export class UnknownClientError extends TokenVaultError {
  readonly client: string;

  constructor(client: string) {
    super('unknown_client', `no client "${client}" is configured`);
    this.client = client;
  }

  override readonly name: string = 'UnknownClientError';
}

/** No grant with this id is stored. */
export class UnknownGrantError extends TokenVaultError {
  readonly grantId: string;

  constructor(grantId: string) {
    super('unknown_grant', `no grant "${grantId}" is stored`);
    this.grantId = grantId;
  }

  override readonly name: string = 'UnknownGrantError';
}

/** The grant exists but has never been authorized, or its authorization is still pending. */
export class NotAuthorizedError extends TokenVaultError {
  readonly grantId: string;
  readonly state: string;

  constructor(grantId: string, state: string) {
    super('not_authorized', `grant "${grantId}" is not authorized (it is ${state})`);
    this.grantId = grantId;
    this.state = state;
  }

  override readonly name: string = 'NotAuthorizedError';
}

/** A request whose body is a one-shot stream cannot be sent again after a refresh or a transient failure. */
export class BodyNotReplayableError extends TokenVaultError {
  constructor(message: string, options?: TokenVaultErrorOptions) {
    super('body_not_replayable', message, options);
  }

  override readonly name: string = 'BodyNotReplayableError';
}

/** A store operation failed (driver error, lost connection, disk full). The stored record is unchanged. */
export class StoreError extends TokenVaultError {
  constructor(message: string, options?: TokenVaultErrorOptions) {
    super('store_error', message, options);
  }

  override readonly name: string = 'StoreError';
}

/** A stored row could not be read back as a grant (corrupt, foreign or from a newer schema). */
export class CorruptRecordError extends TokenVaultError {
  readonly key: string;

  constructor(key: string, message: string, options?: TokenVaultErrorOptions) {
    super('store_corrupt_record', `stored record "${key}" is unreadable: ${message}`, options);
    this.key = key;
  }

  override readonly name: string = 'CorruptRecordError';
}

/**
 * A stored secret did not decrypt: its bytes were changed, it was copied from another row or column
 * (the location is bound as associated data), or it was written under a key of the same id but other
 * bytes. The message names where it was stored, never what it holds. Stores report the row as a
 * {@link CorruptRecordError}.
 */
export class DecryptionFailedError extends TokenVaultError {
  /** Where the value was read: `grants/access_token/alice`. */
  readonly location: string;

  constructor(location: string, reason: string, options?: TokenVaultErrorOptions) {
    super('decryption_failed', `the secret at ${location} could not be decrypted: ${reason}`, options);
    this.location = location;
  }

  override readonly name: string = 'DecryptionFailedError';

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), location: this.location };
  }
}

/** A stored secret names a key id that is not in the configured key ring (a key removed too early?). */
export class UnknownKeyError extends TokenVaultError {
  /** The key id the value names (ids are labels, not key material). */
  readonly keyId: string;
  readonly location: string;

  constructor(keyId: string, location: string) {
    super('unknown_key', `the secret at ${location} is encrypted under key "${keyId}", which is not configured`);
    this.keyId = keyId;
    this.location = location;
  }

  override readonly name: string = 'UnknownKeyError';

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), keyId: this.keyId, location: this.location };
  }
}

/**
 * The authorization callback arrived at a URL other than the redirect URI registered for the client
 * (origin and path compared exactly). Nothing was read or written.
 */
export class RedirectUriMismatchError extends TokenVaultError {
  constructor(message = 'the authorization callback did not arrive at the registered redirect URI') {
    super('redirect_uri_mismatch', message);
  }

  override readonly name: string = 'RedirectUriMismatchError';
}

/** Another writer changed the grant so many times in a row that this operation gave up. */
export class ConflictError extends TokenVaultError {
  constructor(message: string) {
    super('conflict', message);
  }

  override readonly name: string = 'ConflictError';
}

/** A grant with this id already exists. */
export class GrantExistsError extends TokenVaultError {
  readonly grantId: string;

  constructor(grantId: string) {
    super('grant_exists', `grant "${grantId}" already exists`);
    this.grantId = grantId;
  }

  override readonly name: string = 'GrantExistsError';
}

/** A caller passed a bad argument. A `TypeError`, coded like every other tokenvault error. */
export class InvalidArgumentError extends TypeError {
  readonly code = 'invalid_argument' as const;

  override readonly name: string = 'InvalidArgumentError';

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** True when `e` is a tokenvault error with this code. */
export function isTokenVaultError(e: unknown, code?: TokenVaultErrorCode): e is TokenVaultError {
  return e instanceof TokenVaultError && (code === undefined || e.code === code);
}
