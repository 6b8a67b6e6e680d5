import { SIM } from './sim-config';

/**
 * An in-process model of the mixi token endpoint, consent page and one Graph API endpoint. It keeps
 * the provider's truth (which refresh token is current in which chain, which access token expires
 * when, which chain was revoked and why) and logs every refresh token presented to it: the oracle for
 * invariants 1, 2, 4 and 5. It answers in the wire format MIXI.md describes, so the engine's real
 * protocol code parses every answer.
 *
 * Time is the world's (the provider's clock is the reference; vault clocks drift from it).
 */

/** What the provider does when a rotated-away refresh token comes back. */
export type ReusePolicy = 'revokeChain' | 'rejectOnly';

/**
 * A fault for one token-endpoint request:
 * - `http500`, `http503` (with Retry-After), `malformed` (200 with an unusable body): not processed;
 * - `hang`: never reaches the provider; the client times out;
 * - `lostAfterRotate`: processed (a refresh rotates), then the connection drops;
 * - `hangAfterRotate`: processed, then the answer never comes; the client times out.
 */
export type TokenFault = 'http500' | 'http503' | 'hang' | 'lostAfterRotate' | 'hangAfterRotate' | 'malformed';

export interface ProviderOptions {
  readonly reuse: ReusePolicy;
  /** Every n-th successful refresh answers without `refresh_token` and keeps the old one valid (0: never). */
  readonly keepRefreshTokenEvery: number;
  /** `expires_in` of access tokens per grant, seconds. */
  readonly expiresInS: (grantId: string) => number;
}

export interface Chain {
  readonly id: number;
  readonly grantId: string;
  /**
   * Orders authorizations: the serial of the code the user's consent produced (a seeded chain: its own,
   * at seeding). A later consent is a newer authorization, whenever its code is exchanged: the client
   * sees when a callback arrives, never in which order the provider processes two exchanges.
   */
  readonly serial: number;
  /** Global order of the consent (code issue) that created it; a seeded chain's, of its seeding. */
  readonly createdOrder: number;
  revokedAt: number | null;
  revokedOrder: number | null;
  revokedBecause: 'reuse' | 'user' | null;
}

export interface RefreshTokenInfo {
  readonly value: string;
  readonly serial: number;
  readonly chainId: number;
  readonly grantId: string;
  readonly issuedAt: number;
  readonly exchangeId: number;
  /** Replaced by a successor (rotated away) at this time. */
  rotatedAt: number | null;
  rotatedOrder: number | null;
  successor: string | null;
}

export interface AccessTokenInfo {
  readonly value: string;
  readonly serial: number;
  readonly chainId: number;
  readonly grantId: string;
  readonly issuedAt: number;
  /** World time at which the provider stops accepting it. */
  readonly expiresAt: number;
  readonly expiresInS: number;
  readonly exchangeId: number;
}

export type ExchangeKind = 'refresh' | 'code' | 'serverState' | 'api';
export type Delivery = 'pending' | 'delivered' | 'lost' | 'timeout';

/** One HTTP exchange with the provider, from the client's side. */
export interface Exchange {
  readonly id: number;
  readonly vault: string;
  readonly kind: ExchangeKind;
  readonly sentAt: number;
  readonly sentOrder: number;
  fault: TokenFault | null;
  processedAt: number | null;
  processedOrder: number | null;
  /** Tokens issued by this exchange (also when the answer was then lost). */
  issuedAccessToken: string | null;
  issuedRefreshToken: string | null;
  /** True when the answer delivered (if delivered) is a valid token answer. */
  wellFormed: boolean;
  delivery: Delivery;
  deliveredAt: number | null;
  deliveredOrder: number | null;
}

export type PresentationOutcome = 'rotated' | 'renewed' | 'reuse' | 'revoked' | 'unknown';

/** A refresh token the provider processed. */
export interface Presentation {
  readonly seq: number;
  /** Global order (shared with store writes and hand-outs). */
  readonly order: number;
  readonly at: number;
  readonly refreshToken: string;
  readonly vault: string;
  readonly exchangeId: number;
  readonly outcome: PresentationOutcome;
}

export interface ProviderAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

interface CodeInfo {
  readonly grantId: string;
  /** Issue serial and global order of the consent: they order the chain the code's exchange creates. */
  readonly serial: number;
  readonly consentOrder: number;
  readonly expiresAt: number;
  readonly serverState: string | null;
  readonly scope: string;
  used: boolean;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export class ProviderModel {
  readonly chains = new Map<number, Chain>();
  readonly refreshTokens = new Map<string, RefreshTokenInfo>();
  readonly accessTokens = new Map<string, AccessTokenInfo>();
  readonly exchanges: Exchange[] = [];
  readonly presentations: Presentation[] = [];
  /** Garbage tokens put in malformed answers: none may ever be stored or handed out. */
  readonly garbage = new Set<string>();
  readonly #codes = new Map<string, CodeInfo>();
  readonly #serverStates = new Set<string>();
  readonly #options: ProviderOptions;
  readonly #now: () => number;
  readonly #order: () => number;
  #serial = 0;
  #refreshes = 0;
  #malformed = 0;

  constructor(options: ProviderOptions, now: () => number, order: () => number) {
    this.#options = options;
    this.#now = now;
    this.#order = order;
  }

  // ──────────────────────────────────────────────────────────── truth

  isRefreshTokenAlive(value: string): boolean {
    const rt = this.refreshTokens.get(value);
    if (!rt || rt.rotatedAt !== null) return false;
    return this.chains.get(rt.chainId)?.revokedAt === null;
  }

  /** Whether the refresh token still worked just before the event of global order `order`. */
  wasRefreshTokenAliveAt(value: string, order: number): boolean {
    const rt = this.refreshTokens.get(value);
    if (!rt || (rt.rotatedOrder !== null && rt.rotatedOrder < order)) return false;
    const chain = this.chains.get(rt.chainId);
    return chain !== undefined && (chain.revokedOrder === null || chain.revokedOrder > order);
  }

  /** Whether the access token's chain had been revoked before the event of global order `order`. */
  wasAccessTokenRevokedAt(value: string, order: number): boolean {
    const at = this.accessTokens.get(value);
    if (!at) return true;
    const chain = this.chains.get(at.chainId);
    return chain !== undefined && chain.revokedOrder !== null && chain.revokedOrder < order;
  }

  isAccessTokenRevoked(value: string): boolean {
    const at = this.accessTokens.get(value);
    return !at || this.chains.get(at.chainId)?.revokedAt !== null;
  }

  exchange(id: number): Exchange {
    const e = this.exchanges[id];
    if (!e) throw new Error(`no exchange ${id}`);
    return e;
  }

  // ──────────────────────────────────────────────────────────── set-up and user actions

  /** Tokens of an authorization that happened before the world began (no exchange). */
  seedChain(grantId: string, issuedAt: number): { accessToken: AccessTokenInfo; refreshToken: RefreshTokenInfo } {
    const chain = this.#newChain(grantId);
    const exchange = this.beginExchange('seed', 'code', issuedAt);
    exchange.processedAt = issuedAt;
    exchange.processedOrder = exchange.sentOrder;
    exchange.delivery = 'delivered';
    exchange.deliveredAt = issuedAt;
    exchange.deliveredOrder = exchange.sentOrder;
    exchange.wellFormed = true;
    const refreshToken = this.#issueRefreshToken(chain, exchange, issuedAt);
    const accessToken = this.#issueAccessToken(chain, exchange, issuedAt);
    return { accessToken, refreshToken };
  }

  /** The user allows (or denies) the authorization whose URL the engine built. Returns the callback URL. */
  consent(authorizationUrl: string, grantId: string, allow: boolean): string {
    const url = new URL(authorizationUrl);
    const state = url.searchParams.get('state') ?? '';
    const callback = new URL(SIM.redirectUri);
    if (!allow) {
      callback.searchParams.set('error', 'access_denied');
      callback.searchParams.set('state', state);
      return callback.toString();
    }
    const serial = ++this.#serial;
    const code = `code-${serial}`;
    this.#codes.set(code, {
      grantId,
      serial,
      consentOrder: this.#order(),
      expiresAt: this.#now() + SIM.codeLifetimeMs,
      serverState: url.searchParams.get('server_state'),
      scope: url.searchParams.get('scope') ?? '',
      used: false,
    });
    callback.searchParams.set('code', code);
    callback.searchParams.set('state', state);
    return callback.toString();
  }

  /** The user removes the app at mixi: every chain of the grant dies. */
  revokeGrant(grantId: string): void {
    for (const chain of this.chains.values()) {
      if (chain.grantId === grantId && chain.revokedAt === null) {
        chain.revokedAt = this.#now();
        chain.revokedOrder = this.#order();
        chain.revokedBecause = 'user';
      }
    }
  }

  // ──────────────────────────────────────────────────────────── the wire

  beginExchange(vault: string, kind: ExchangeKind, sentAt: number): Exchange {
    const exchange: Exchange = {
      id: this.exchanges.length,
      vault,
      kind,
      sentAt,
      sentOrder: this.#order(),
      fault: null,
      processedAt: null,
      processedOrder: null,
      issuedAccessToken: null,
      issuedRefreshToken: null,
      wellFormed: false,
      delivery: 'pending',
      deliveredAt: null,
      deliveredOrder: null,
    };
    this.exchanges.push(exchange);
    return exchange;
  }

  /**
   * The token endpoint receives a request (at the current world time). `fault` decides whether it is
   * processed and what comes back; the answer for `lostAfterRotate`/`hangAfterRotate` is never
   * delivered (the caller turns it into a network error or a timeout). A `hang` never gets here.
   */
  tokenEndpoint(exchange: Exchange, form: URLSearchParams, fault: Exclude<TokenFault, 'hang'> | null): ProviderAnswer {
    exchange.fault = fault;
    const now = this.#now();
    if (fault === 'http500') return { status: 500, headers: { 'content-type': 'text/html' }, body: '<html><body>Internal Server Error</body></html>' };
    if (fault === 'http503') {
      return { status: 503, headers: { 'content-type': 'text/html', 'retry-after': String(SIM.retryAfterS) }, body: '<html>Service Unavailable</html>' };
    }
    if (fault === 'malformed') return this.#malformedAnswer();

    if (form.get('client_id') !== SIM.clientId) return oauthError(401, 'invalid_client');
    const grantType = form.get('grant_type');
    if (grantType === 'server_state') {
      exchange.processedAt = now;
      exchange.processedOrder = this.#order();
      const value = `ss-${++this.#serial}`;
      this.#serverStates.add(value);
      exchange.wellFormed = true;
      return { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ server_state: value, expires_in: 1800 }) };
    }
    if (form.get('client_secret') !== SIM.clientSecret) return oauthError(401, 'invalid_client');
    exchange.processedAt = now;
    exchange.processedOrder = this.#order();
    if (grantType === 'authorization_code') return this.#exchangeCode(exchange, form, now);
    if (grantType === 'refresh_token') return this.#refresh(exchange, form.get('refresh_token') ?? '', now);
    return oauthError(400, 'unsupported_grant_type');
  }

  /** GET on the Graph API with a bearer token. */
  api(authorization: string | null): ProviderAnswer {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    const at = token === undefined ? undefined : this.accessTokens.get(token);
    const challenge = (description: string) => ({
      status: 401,
      headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${description}"` },
      body: '',
    });
    if (!at) return challenge('The access token is invalid');
    if (this.chains.get(at.chainId)?.revokedAt !== null) return challenge('The access token was revoked');
    if (this.#now() >= at.expiresAt) return challenge('The access token expired');
    return { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ entry: { id: at.grantId, displayName: at.grantId } }) };
  }

  // ──────────────────────────────────────────────────────────── token logic

  #exchangeCode(exchange: Exchange, form: URLSearchParams, now: number): ProviderAnswer {
    const code = this.#codes.get(form.get('code') ?? '');
    if (!code || code.used || now > code.expiresAt || form.get('redirect_uri') !== SIM.redirectUri) {
      return oauthError(400, 'invalid_grant');
    }
    if (code.serverState !== null && form.get('server_state') !== code.serverState) return oauthError(400, 'invalid_grant');
    code.used = true;
    const chain = this.#newChain(code.grantId, code.serial, code.consentOrder);
    const rt = this.#issueRefreshToken(chain, exchange, now);
    const at = this.#issueAccessToken(chain, exchange, now);
    return this.#tokenAnswer(exchange, at, rt.value, code.scope);
  }

  #refresh(exchange: Exchange, token: string, now: number): ProviderAnswer {
    const rt = this.refreshTokens.get(token);
    const present = (outcome: PresentationOutcome) =>
      this.presentations.push({
        seq: this.presentations.length,
        order: this.#order(),
        at: now,
        refreshToken: token,
        vault: exchange.vault,
        exchangeId: exchange.id,
        outcome,
      });
    // mixi answers a dead refresh token with 401 and a JSON body; RFC 6749 servers with 400 invalid_grant.
    const refuse = () => (this.presentations.length % 2 === 0 ? oauthError(401, null) : oauthError(400, 'invalid_grant'));
    if (!rt) {
      present('unknown');
      return refuse();
    }
    const chain = this.chains.get(rt.chainId) as Chain;
    if (chain.revokedAt !== null) {
      present('revoked');
      return refuse();
    }
    if (rt.rotatedAt !== null) {
      present('reuse');
      if (this.#options.reuse === 'revokeChain') {
        chain.revokedAt = now;
        chain.revokedOrder = this.#order();
        chain.revokedBecause = 'reuse';
      }
      return refuse();
    }
    this.#refreshes++;
    const keep = this.#options.keepRefreshTokenEvery > 0 && this.#refreshes % this.#options.keepRefreshTokenEvery === 0;
    const at = this.#issueAccessToken(chain, exchange, now);
    if (keep) {
      present('renewed');
      return this.#tokenAnswer(exchange, at, null, 'r_profile');
    }
    const next = this.#issueRefreshToken(chain, exchange, now);
    present('rotated');
    rt.rotatedAt = now;
    rt.rotatedOrder = this.#order();
    rt.successor = next.value;
    return this.#tokenAnswer(exchange, at, next.value, 'r_profile');
  }

  #tokenAnswer(exchange: Exchange, at: AccessTokenInfo, refreshToken: string | null, scope: string): ProviderAnswer {
    exchange.wellFormed = true;
    const body: Record<string, unknown> = { access_token: at.value, expires_in: at.expiresInS, token_type: 'Bearer', scope };
    if (refreshToken !== null) body.refresh_token = refreshToken;
    return { status: 200, headers: JSON_HEADERS, body: JSON.stringify(body) };
  }

  #malformedAnswer(): ProviderAnswer {
    const n = ++this.#malformed;
    const at = `bad-at-${n}`;
    const rt = `bad-rt-${n}`;
    this.garbage.add(at);
    this.garbage.add(rt);
    const bodies = [
      '<html><body>Welcome to mixi</body></html>',
      JSON.stringify({ access_token: at, token_type: 'mac', refresh_token: rt, expires_in: 900 }),
      JSON.stringify({ token_type: 'Bearer', refresh_token: rt, expires_in: 900 }),
      JSON.stringify({ access_token: at, token_type: 'Bearer', refresh_token: rt, expires_in: -900 }),
      JSON.stringify({ access_token: at, token_type: 'Bearer', refresh_token: '', expires_in: 900 }),
      JSON.stringify([{ access_token: at, refresh_token: rt }]),
    ];
    const body = bodies[n % bodies.length] as string;
    return { status: 200, headers: { 'content-type': body.startsWith('<') ? 'text/html' : 'application/json' }, body };
  }

  #newChain(grantId: string, serial = ++this.#serial, createdOrder = this.#order()): Chain {
    const id = this.chains.size;
    const chain: Chain = { id, grantId, serial, createdOrder, revokedAt: null, revokedOrder: null, revokedBecause: null };
    this.chains.set(id, chain);
    return chain;
  }

  #issueRefreshToken(chain: Chain, exchange: Exchange, now: number): RefreshTokenInfo {
    const serial = ++this.#serial;
    const info: RefreshTokenInfo = {
      value: `rt-${serial}-${chain.grantId}`,
      serial,
      chainId: chain.id,
      grantId: chain.grantId,
      issuedAt: now,
      exchangeId: exchange.id,
      rotatedAt: null,
      rotatedOrder: null,
      successor: null,
    };
    this.refreshTokens.set(info.value, info);
    exchange.issuedRefreshToken = info.value;
    return info;
  }

  #issueAccessToken(chain: Chain, exchange: Exchange, now: number): AccessTokenInfo {
    const serial = ++this.#serial;
    const expiresInS = this.#options.expiresInS(chain.grantId);
    const info: AccessTokenInfo = {
      value: `at-${serial}-${chain.grantId}`,
      serial,
      chainId: chain.id,
      grantId: chain.grantId,
      issuedAt: now,
      expiresAt: now + expiresInS * 1000,
      expiresInS,
      exchangeId: exchange.id,
    };
    this.accessTokens.set(info.value, info);
    exchange.issuedAccessToken = info.value;
    return info;
  }
}

function oauthError(status: number, error: string | null): ProviderAnswer {
  return { status, headers: JSON_HEADERS, body: error === null ? '{}' : JSON.stringify({ error }) };
}
