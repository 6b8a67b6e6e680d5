import { EmulatorError } from '../emulator-error';
import type { ResolvedEmulatorOptions } from '../emulator-options';
import { ExpiringMap } from '../expiring-map';
import { signIdToken } from '../id-token';
import { TOKEN_BYTES, type TokenGenerator } from '../token-generator';
import type { VirtualClock } from '../virtual-clock';
import type { Counters } from './counters';
import type { ServiceRecord } from './service-registry';
import type { UserRecord } from './user-directory';

/** Why a grant stopped working. */
export type RevocationReason = 'revoked' | 'refresh_token_reuse' | 'code_reuse' | 'service_deleted';

/** How a grant came to be. */
export type GrantOrigin = 'authorization_code' | 'minted';

/** One user × client authorization chain: every token a code exchange (or a mint) led to. */
export interface GrantRecord {
  readonly grantId: string;
  readonly user: UserRecord;
  readonly service: ServiceRecord;
  readonly scopes: readonly string[];
  readonly origin: GrantOrigin;
  readonly createdAt: number;
  readonly nonce: string | undefined;
  revokedReason: RevocationReason | undefined;
  refreshCount: number;
  /** The generation of the refresh token now in force; older ones are rotated. */
  refreshGeneration: number;
  /** The generation of the newest access token (older ones die when `revokeAccessTokenOnRefresh`). */
  accessGeneration: number;
  currentRefreshToken: string;
  currentAccessToken: string;
}

interface RefreshTokenRecord {
  readonly grant: GrantRecord;
  readonly generation: number;
  expiresAt: number | undefined;
}

interface AccessTokenRecord {
  readonly grant: GrantRecord;
  readonly generation: number;
  readonly scopes: readonly string[];
  expiresAt: number;
}

interface CodeRecord {
  readonly service: ServiceRecord;
  readonly user: UserRecord;
  readonly scopes: readonly string[];
  readonly redirectUri: string;
  readonly serverState: string | undefined;
  readonly nonce: string | undefined;
  readonly expiresAt: number;
  /** Set once exchanged; a second exchange revokes this grant. */
  grant: GrantRecord | undefined;
}

interface ServerStateRecord {
  readonly service: ServiceRecord;
  readonly expiresAt: number;
}

/** The token endpoint's success body, in the seed's field order. */
export interface TokenResponseBody {
  readonly refresh_token?: string;
  readonly expires_in: number;
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly scope: string;
  readonly id_token?: string;
}

/** OAuth errors the ledger answers. */
export type LedgerError = 'invalid_grant' | 'invalid_scope' | 'invalid_request';

/** The outcome of a grant at the token endpoint: a body to send, or an OAuth error with its status. */
export type TokenOutcome =
  | { readonly ok: true; readonly grant: GrantRecord; readonly body: TokenResponseBody }
  | { readonly ok: false; readonly status: 400 | 401; readonly error: LedgerError; readonly description: string };

/** What an access token is good for, or why it is not. */
export type AccessCheck =
  | { readonly ok: true; readonly grant: GrantRecord; readonly scopes: readonly string[] }
  | { readonly ok: false; readonly reason: 'expired' | 'revoked' | 'unknown' };

/** The JSON view of a grant (no tokens). */
export interface GrantInfo {
  readonly grantId: string;
  readonly userId: string;
  readonly username: string;
  readonly serviceId: string;
  readonly clientId: string;
  readonly scope: string;
  readonly origin: GrantOrigin;
  readonly status: 'active' | 'revoked';
  readonly revokedReason: RevocationReason | null;
  /** Successful refreshes over the grant's whole life (counters can be reset; this cannot). */
  readonly refreshCount: number;
  readonly createdAt: number;
}

/** A grant issued without the consent page, with its first token pair. */
export interface MintedGrant {
  readonly grantId: string;
  readonly userId: string;
  readonly clientId: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly tokenType: 'Bearer';
  readonly scope: string;
  readonly idToken?: string;
}

/** Finds a grant by one of its tokens (current or past). */
export type TokenLookup = { readonly accessToken: string } | { readonly refreshToken: string };

/**
 * Every credential the authorization server hands out, and the rules that govern them: `server_state`,
 * authorization codes (3 minutes, single use, bound to client, redirect URL and `server_state`),
 * access tokens, rotating refresh tokens with reuse detection, and revocation.
 *
 * All lookups are Map hits; nothing here scans, so a refresh costs the same with a million grants.
 * Rotated tokens are kept (that is what makes reuse detectable), so memory grows with tokens issued.
 */
export class GrantLedger {
  readonly #grants = new Map<string, GrantRecord>();
  readonly #accessTokens = new Map<string, AccessTokenRecord>();
  readonly #refreshTokens = new Map<string, RefreshTokenRecord>();
  readonly #codes: ExpiringMap<CodeRecord>;
  readonly #serverStates: ExpiringMap<ServerStateRecord>;
  readonly #clock: VirtualClock;
  readonly #tokens: TokenGenerator;
  readonly #options: ResolvedEmulatorOptions;
  readonly #counters: Counters;
  #grantSeq = 0;

  constructor(clock: VirtualClock, tokens: TokenGenerator, options: ResolvedEmulatorOptions, counters: Counters) {
    this.#clock = clock;
    this.#tokens = tokens;
    this.#options = options;
    this.#counters = counters;
    // A used code is remembered past its expiry so a late replay is still recognised as a replay.
    this.#codes = new ExpiringMap(clock, { retainMs: 10 * 60_000 });
    this.#serverStates = new ExpiringMap(clock, { retainMs: 10 * 60_000 });
  }

  /** `grant_type=server_state`: a fresh anti-CSRF value for this client. */
  issueServerState(service: ServiceRecord): { readonly server_state: string; readonly expires_in: number } {
    const value = this.#tokens.unique(TOKEN_BYTES.serverState, (v) => this.#serverStates.has(v));
    this.#serverStates.set(value, { service, expiresAt: this.#clock.now() + this.#options.serverStateLifetimeMs });
    return { server_state: value, expires_in: Math.floor(this.#options.serverStateLifetimeMs / 1000) };
  }

  /** Why this `server_state` cannot be used by this client, or undefined when it can. */
  checkServerState(service: ServiceRecord, value: string): string | undefined {
    const record = this.#serverStates.get(value);
    if (!record || record.service !== service) return 'server_state is unknown';
    if (this.#clock.now() >= record.expiresAt) return 'server_state expired';
    return undefined;
  }

  /** Issues an authorization code after consent; a `server_state` it carries is used up here. */
  issueCode(input: {
    service: ServiceRecord;
    user: UserRecord;
    scopes: readonly string[];
    redirectUri: string;
    serverState: string | undefined;
    nonce: string | undefined;
  }): string {
    if (input.serverState !== undefined) this.#serverStates.delete(input.serverState);
    const code = this.#tokens.unique(TOKEN_BYTES.code, (v) => this.#codes.has(v));
    this.#codes.set(code, { ...input, expiresAt: this.#clock.now() + this.#options.codeLifetimeMs, grant: undefined });
    return code;
  }

  /** `grant_type=authorization_code`, for an already authenticated client. */
  exchangeCode(service: ServiceRecord, code: string, redirectUri: string | undefined, serverState: string | undefined): TokenOutcome {
    const record = this.#codes.get(code);
    // A code issued to another client is answered like an unknown one: its existence is not theirs to learn.
    if (!record || record.service !== service) return dead('the authorization code is unknown');
    if (record.grant) {
      this.#counters.codeReuseDetected();
      // RFC 6749 §4.1.2: a replayed code should revoke what it was exchanged for.
      this.#revoke(record.grant, 'code_reuse');
      return dead('the authorization code was already used; the grant it produced is revoked');
    }
    if (this.#clock.now() >= record.expiresAt) return dead('the authorization code expired');
    if (redirectUri !== undefined && redirectUri !== record.redirectUri) {
      return mismatch('redirect_uri does not match the registered redirect URL');
    }
    if (serverState !== record.serverState) {
      return mismatch(
        record.serverState === undefined
          ? 'server_state was not part of the authorization request'
          : 'server_state does not match the one sent with the authorization request',
      );
    }
    const grant = this.#createGrant(service, record.user, record.scopes, 'authorization_code', record.nonce);
    record.grant = grant;
    return { ok: true, grant, body: this.#tokenBody(grant, true) };
  }

  /** `grant_type=refresh_token`, for an already authenticated client. */
  refresh(service: ServiceRecord, refreshToken: string, scope: readonly string[] | undefined): TokenOutcome {
    const record = this.#refreshTokens.get(refreshToken);
    if (!record || record.grant.service !== service) return dead('the refresh token is unknown');
    const grant = record.grant;
    if (grant.revokedReason !== undefined) return dead('the refresh token was revoked');
    if (record.generation !== grant.refreshGeneration) {
      this.#counters.reuseDetected();
      if (this.#options.reuseDetection === 'revoke-grant') {
        this.#revoke(grant, 'refresh_token_reuse');
        return dead('the refresh token was already used (reuse detected); the grant is revoked');
      }
      return dead('the refresh token was already used (reuse detected)');
    }
    if (record.expiresAt !== undefined && this.#clock.now() >= record.expiresAt) return dead('the refresh token expired');
    if (scope !== undefined && !scope.every((s) => grant.scopes.includes(s))) {
      return { ok: false, status: 400, error: 'invalid_scope', description: 'scope exceeds the scope granted' };
    }
    const rotate = this.#options.rotateRefreshTokens && !this.#options.omitRefreshTokenOnRefresh;
    if (rotate) this.#issueRefreshToken(grant);
    this.#issueAccessToken(grant, scope ?? grant.scopes);
    grant.refreshCount++;
    this.#counters.refresh(grant.grantId);
    return { ok: true, grant, body: this.#tokenBody(grant, !this.#options.omitRefreshTokenOnRefresh, scope) };
  }

  /**
   * Issues a grant and its first token pair without the consent page (tests, benchmarks, demos).
   * The grant is indistinguishable from one made by a code exchange, except for `origin`.
   */
  mint(service: ServiceRecord, user: UserRecord, scopes: readonly string[]): MintedGrant {
    const grant = this.#createGrant(service, user, scopes, 'minted', undefined);
    const body = this.#tokenBody(grant, true);
    return {
      grantId: grant.grantId,
      userId: user.userId,
      clientId: service.clientId,
      accessToken: body.access_token,
      refreshToken: grant.currentRefreshToken,
      expiresIn: body.expires_in,
      tokenType: 'Bearer',
      scope: body.scope,
      ...(body.id_token === undefined ? {} : { idToken: body.id_token }),
    };
  }

  /** What an access token presented to the Graph API is good for. */
  checkAccessToken(token: string): AccessCheck {
    const record = this.#accessTokens.get(token);
    if (!record) return { ok: false, reason: 'unknown' };
    const grant = record.grant;
    // Revocation is checked before expiry: refreshing cannot revive a revoked grant, so "expired" would mislead.
    if (grant.revokedReason !== undefined || grant.service.deleted) return { ok: false, reason: 'revoked' };
    if (this.#options.revokeAccessTokenOnRefresh && record.generation !== grant.accessGeneration) return { ok: false, reason: 'revoked' };
    if (this.#clock.now() >= record.expiresAt) return { ok: false, reason: 'expired' };
    return { ok: true, grant, scopes: record.scopes };
  }

  /** The grant, or an `unknown_grant` error. */
  get(grantId: string): GrantRecord {
    const grant = this.#grants.get(grantId);
    if (!grant) throw new EmulatorError('unknown_grant', 'no such grant', { field: 'grantId' });
    return grant;
  }

  /** The grant an access or refresh token (current or past) belongs to. */
  find(lookup: TokenLookup): GrantRecord | undefined {
    return 'accessToken' in lookup ? this.#accessTokens.get(lookup.accessToken)?.grant : this.#refreshTokens.get(lookup.refreshToken)?.grant;
  }

  /** Revokes one grant: its access and refresh tokens stop working. Idempotent. */
  revoke(grantId: string): GrantRecord {
    const grant = this.get(grantId);
    this.#revoke(grant, 'revoked');
    return grant;
  }

  /** Revokes every live grant of a user (optionally only those of one client); returns how many. */
  revokeUser(user: UserRecord, service?: ServiceRecord): number {
    let n = 0;
    for (const grant of this.#grants.values()) {
      if (grant.user === user && (!service || grant.service === service) && grant.revokedReason === undefined) {
        this.#revoke(grant, 'revoked');
        n++;
      }
    }
    return n;
  }

  /** Makes the grant's current refresh token expired now (the next refresh gets 401). */
  expireRefreshToken(grantId: string): GrantRecord {
    const grant = this.get(grantId);
    const record = this.#refreshTokens.get(grant.currentRefreshToken);
    if (record) record.expiresAt = this.#clock.now();
    return grant;
  }

  /** Makes the grant's newest access token expired now (the API answers "The access token expired"). */
  expireAccessToken(grantId: string): GrantRecord {
    const grant = this.get(grantId);
    const record = this.#accessTokens.get(grant.currentAccessToken);
    if (record) record.expiresAt = this.#clock.now();
    return grant;
  }

  #revoke(grant: GrantRecord, reason: RevocationReason): void {
    grant.revokedReason ??= reason;
  }

  #createGrant(
    service: ServiceRecord,
    user: UserRecord,
    scopes: readonly string[],
    origin: GrantOrigin,
    nonce: string | undefined,
  ): GrantRecord {
    const grant: GrantRecord = {
      grantId: `grant-${++this.#grantSeq}`,
      user,
      service,
      scopes: [...scopes],
      origin,
      createdAt: this.#clock.now(),
      nonce,
      revokedReason: undefined,
      refreshCount: 0,
      refreshGeneration: 0,
      accessGeneration: 0,
      currentRefreshToken: '',
      currentAccessToken: '',
    };
    this.#grants.set(grant.grantId, grant);
    this.#issueRefreshToken(grant);
    this.#issueAccessToken(grant, grant.scopes);
    return grant;
  }

  #issueRefreshToken(grant: GrantRecord): void {
    const token = this.#tokens.unique(TOKEN_BYTES.refreshToken, (v) => this.#refreshTokens.has(v));
    const generation = ++grant.refreshGeneration;
    const lifetime = this.#options.refreshTokenLifetimeMs;
    this.#refreshTokens.set(token, { grant, generation, expiresAt: lifetime === undefined ? undefined : this.#clock.now() + lifetime });
    grant.currentRefreshToken = token;
  }

  #issueAccessToken(grant: GrantRecord, scopes: readonly string[]): void {
    const token = this.#tokens.unique(TOKEN_BYTES.accessToken, (v) => this.#accessTokens.has(v));
    const generation = ++grant.accessGeneration;
    this.#accessTokens.set(token, { grant, generation, scopes, expiresAt: this.#clock.now() + this.#options.accessTokenLifetimeSec * 1000 });
    grant.currentAccessToken = token;
  }

  #tokenBody(grant: GrantRecord, withRefreshToken: boolean, scope?: readonly string[]): TokenResponseBody {
    const expiresIn = this.#options.accessTokenLifetimeSec;
    const scopeText = (scope ?? grant.scopes).join(' ');
    // Plain literals with a fixed shape (no spreads): this runs on every refresh and is serialised at once.
    const body: TokenResponseBody = withRefreshToken
      ? { refresh_token: grant.currentRefreshToken, expires_in: expiresIn, access_token: grant.currentAccessToken, token_type: 'Bearer', scope: scopeText }
      : { expires_in: expiresIn, access_token: grant.currentAccessToken, token_type: 'Bearer', scope: scopeText };
    return grant.scopes.includes('openid') ? { ...body, id_token: this.#idToken(grant, expiresIn) } : body;
  }

  #idToken(grant: GrantRecord, expiresIn: number): string {
    const iat = Math.floor(this.#clock.now() / 1000);
    return signIdToken(
      {
        iss: this.#options.issuer,
        sub: grant.user.userId,
        aud: grant.service.clientId,
        iat,
        exp: iat + expiresIn,
        ...(grant.nonce === undefined ? {} : { nonce: grant.nonce }),
      },
      grant.service.clientSecret,
    );
  }
}

/** The JSON view of a grant. */
export function viewGrant(grant: GrantRecord): GrantInfo {
  const revokedReason = grant.revokedReason ?? (grant.service.deleted ? 'service_deleted' : undefined);
  return {
    grantId: grant.grantId,
    userId: grant.user.userId,
    username: grant.user.username,
    serviceId: grant.service.serviceId,
    clientId: grant.service.clientId,
    scope: grant.scopes.join(' '),
    origin: grant.origin,
    status: revokedReason === undefined ? 'active' : 'revoked',
    revokedReason: revokedReason ?? null,
    refreshCount: grant.refreshCount,
    createdAt: grant.createdAt,
  };
}

/** A credential that is dead for good: 401, so a client can tell "authorize again" from "fix your request". */
function dead(description: string): TokenOutcome {
  return { ok: false, status: 401, error: 'invalid_grant', description };
}

/** A credential that exists but does not match the request: 400, as RFC 6749 §5.2 has it. */
function mismatch(description: string): TokenOutcome {
  return { ok: false, status: 400, error: 'invalid_grant', description };
}
