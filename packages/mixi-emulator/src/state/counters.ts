/** Grant types the token endpoint serves; anything else is counted as `other`. */
export type TokenGrantType = 'authorization_code' | 'refresh_token' | 'server_state';

/** A point-in-time copy of the counters; plain JSON, the same in-process and over HTTP. */
export interface CountersSnapshot {
  /** Token endpoint requests received, by `grant_type` (faulted ones included). */
  readonly tokenRequests: {
    readonly authorization_code: number;
    readonly refresh_token: number;
    readonly server_state: number;
    /** Missing or unsupported `grant_type`, or a body that could not be read. */
    readonly other: number;
    readonly total: number;
  };
  /** Token endpoint error answers, by OAuth `error` code. */
  readonly tokenErrors: Readonly<Record<string, number>>;
  /** `invalid_grant` answers (a subset of `tokenErrors`, kept apart because benchmarks watch it). */
  readonly invalidGrant: number;
  /** Successful refreshes (including those whose answer a fault then lost). */
  readonly refreshes: {
    readonly total: number;
    /** How many distinct grants were refreshed. */
    readonly grants: number;
    /** The most refreshes any one grant had (1 when every grant was refreshed exactly once). */
    readonly maxPerGrant: number;
    /** Refreshes per grant id; omitted when the snapshot was asked without it. */
    readonly perGrant?: Readonly<Record<string, number>>;
  };
  /** Rotated refresh tokens presented again. */
  readonly reuseDetections: number;
  /** Authorization codes presented again. */
  readonly codeReuseDetections: number;
  /** Consent decisions. */
  readonly authorizations: { readonly allowed: number; readonly denied: number };
  /** Graph API calls, by answered status (`dropped` when a fault destroyed the connection). */
  readonly apiCalls: { readonly total: number; readonly byStatus: Readonly<Record<string, number>> };
  /** Requests a fault rule acted on. */
  readonly faultsApplied: number;
}

/**
 * The emulator's counters. Everything runs on one event loop, so plain increments are exact; tests
 * and benchmarks read them in-process (`snapshot()`) or over HTTP (`GET /_emulator/counters`).
 */
export class Counters {
  #tokenRequests = { authorization_code: 0, refresh_token: 0, server_state: 0, other: 0 };
  #tokenErrors = new Map<string, number>();
  #refreshesPerGrant = new Map<string, number>();
  #refreshesTotal = 0;
  #maxPerGrant = 0;
  #reuseDetections = 0;
  #codeReuseDetections = 0;
  #authorizations = { allowed: 0, denied: 0 };
  #apiByStatus = new Map<string, number>();
  #apiTotal = 0;
  #faultsApplied = 0;

  tokenRequest(grantType: string | undefined): void {
    if (grantType === 'authorization_code' || grantType === 'refresh_token' || grantType === 'server_state') {
      this.#tokenRequests[grantType]++;
    } else {
      this.#tokenRequests.other++;
    }
  }

  tokenError(error: string): void {
    bump(this.#tokenErrors, error);
  }

  refresh(grantId: string): void {
    this.#refreshesTotal++;
    const n = bump(this.#refreshesPerGrant, grantId);
    if (n > this.#maxPerGrant) this.#maxPerGrant = n;
  }

  reuseDetected(): void {
    this.#reuseDetections++;
  }

  codeReuseDetected(): void {
    this.#codeReuseDetections++;
  }

  authorization(decision: 'allowed' | 'denied'): void {
    this.#authorizations[decision]++;
  }

  apiCall(status: number | 'dropped'): void {
    this.#apiTotal++;
    bump(this.#apiByStatus, String(status));
  }

  faultApplied(): void {
    this.#faultsApplied++;
  }

  /** Refreshes counted for one grant since the last reset. */
  refreshesOf(grantId: string): number {
    return this.#refreshesPerGrant.get(grantId) ?? 0;
  }

  /** A copy of every counter; `perGrant: false` leaves out the per-grant table (it can be large). */
  snapshot(options: { perGrant?: boolean } = {}): CountersSnapshot {
    const t = this.#tokenRequests;
    return {
      tokenRequests: { ...t, total: t.authorization_code + t.refresh_token + t.server_state + t.other },
      tokenErrors: Object.fromEntries(this.#tokenErrors),
      invalidGrant: this.#tokenErrors.get('invalid_grant') ?? 0,
      refreshes: {
        total: this.#refreshesTotal,
        grants: this.#refreshesPerGrant.size,
        maxPerGrant: this.#maxPerGrant,
        ...(options.perGrant === false ? {} : { perGrant: Object.fromEntries(this.#refreshesPerGrant) }),
      },
      reuseDetections: this.#reuseDetections,
      codeReuseDetections: this.#codeReuseDetections,
      authorizations: { ...this.#authorizations },
      apiCalls: { total: this.#apiTotal, byStatus: Object.fromEntries(this.#apiByStatus) },
      faultsApplied: this.#faultsApplied,
    };
  }

  /** Sets every counter back to zero. */
  reset(): void {
    this.#tokenRequests = { authorization_code: 0, refresh_token: 0, server_state: 0, other: 0 };
    this.#tokenErrors = new Map();
    this.#refreshesPerGrant = new Map();
    this.#refreshesTotal = 0;
    this.#maxPerGrant = 0;
    this.#reuseDetections = 0;
    this.#codeReuseDetections = 0;
    this.#authorizations = { allowed: 0, denied: 0 };
    this.#apiByStatus = new Map();
    this.#apiTotal = 0;
    this.#faultsApplied = 0;
  }
}

function bump(map: Map<string, number>, key: string): number {
  const n = (map.get(key) ?? 0) + 1;
  map.set(key, n);
  return n;
}
