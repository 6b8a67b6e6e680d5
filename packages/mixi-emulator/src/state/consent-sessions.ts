import { constantTimeEqual } from '../constant-time-equal';
import { ExpiringMap } from '../expiring-map';
import { TOKEN_BYTES, type TokenGenerator } from '../token-generator';
import type { VirtualClock } from '../virtual-clock';
import type { ServiceRecord } from './service-registry';
import type { UserRecord } from './user-directory';

/** Which authorization page served the request: PC/smartphone, or feature phone (`/m/`). */
export type AuthorizationChannel = 'pc' | 'feature-phone';

/** The `display` values the PC/smartphone page honours. */
export type Display = 'pc' | 'touch' | 'smartphone' | 'ios';

/** A logged-in test user's browser session on the emulated mixi.jp. */
export interface LoginSession {
  readonly sessionId: string;
  readonly user: UserRecord;
  /** The consent form's hidden anti-CSRF value: a POST without it is refused. */
  readonly csrfToken: string;
  readonly expiresAt: number;
}

/** A validated authorization request waiting on the user's Allow or Deny. */
export interface ConsentRequest {
  readonly requestId: string;
  readonly sessionId: string;
  readonly channel: AuthorizationChannel;
  readonly display: Display;
  readonly service: ServiceRecord;
  readonly scopes: readonly string[];
  /** The registered redirect URL, as registered (codes are bound to this string). */
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly serverState: string | undefined;
  readonly nonce: string | undefined;
  readonly expiresAt: number;
}

const SESSION_LIFETIME_MS = 12 * 60 * 60_000;
const CONSENT_LIFETIME_MS = 10 * 60_000;

/** Login sessions and the consent requests shown to them. */
export class ConsentSessions {
  readonly #sessions: ExpiringMap<LoginSession>;
  readonly #requests: ExpiringMap<ConsentRequest>;
  readonly #clock: VirtualClock;
  readonly #tokens: TokenGenerator;

  constructor(clock: VirtualClock, tokens: TokenGenerator) {
    this.#clock = clock;
    this.#tokens = tokens;
    this.#sessions = new ExpiringMap(clock, { retainMs: 0 });
    this.#requests = new ExpiringMap(clock, { retainMs: 0 });
  }

  /** Logs a user in: a new session with its own CSRF token. */
  start(user: UserRecord): LoginSession {
    const session: LoginSession = {
      sessionId: this.#tokens.unique(TOKEN_BYTES.session, (v) => this.#sessions.has(v)),
      user,
      csrfToken: this.#tokens.hex(TOKEN_BYTES.csrf),
      expiresAt: this.#clock.now() + SESSION_LIFETIME_MS,
    };
    this.#sessions.set(session.sessionId, session);
    return session;
  }

  /** The live session with this id, if any. */
  session(sessionId: string | undefined): LoginSession | undefined {
    if (sessionId === undefined) return undefined;
    const session = this.#sessions.get(sessionId);
    return session && this.#clock.now() < session.expiresAt ? session : undefined;
  }

  /** Records a request the consent page is about to show. */
  open(session: LoginSession, request: Omit<ConsentRequest, 'requestId' | 'sessionId' | 'expiresAt'>): ConsentRequest {
    const consent: ConsentRequest = {
      ...request,
      requestId: this.#tokens.unique(TOKEN_BYTES.consentRequest, (v) => this.#requests.has(v)),
      sessionId: session.sessionId,
      expiresAt: this.#clock.now() + CONSENT_LIFETIME_MS,
    };
    this.#requests.set(consent.requestId, consent);
    return consent;
  }

  /** Takes (single use) the pending request of this session, if it is live. */
  take(session: LoginSession, requestId: string): ConsentRequest | undefined {
    const request = this.#requests.get(requestId);
    if (!request || request.sessionId !== session.sessionId || this.#clock.now() >= request.expiresAt) return undefined;
    this.#requests.delete(requestId);
    return request;
  }
}

/** Compares a submitted CSRF token with the session's without leaking where they differ. */
export function csrfMatches(session: LoginSession, submitted: string | undefined): boolean {
  return submitted !== undefined && constantTimeEqual(submitted, session.csrfToken);
}
