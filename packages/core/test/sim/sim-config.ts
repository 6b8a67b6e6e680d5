/**
 * Fixed numbers of every simulated world, in the proportions of the engine's defaults (skew 60 s,
 * request timeout 10 s, lease 30 s), scaled down. Chosen so that the engine's documented guarantees
 * apply: `refreshSkewMs` covers one request in flight plus the largest clock difference between two
 * vaults several times over (skew > 3 × (requestTimeout + 2 × maxDrift)), and `leaseMs` is at least
 * twice `requestTimeoutMs` (the engine refuses less).
 */
export const SIM = Object.freeze({
  /** World start, epoch ms (any fixed value: 2023-11-14T22:13:20Z). */
  t0: 1_700_000_000_000,
  leaseMs: 20_000,
  requestTimeoutMs: 5_000,
  refreshSkewMs: 30_000,
  /** A vault's clock differs from the provider's by at most this much (either way). */
  maxDriftMs: 2_000,
  pollIntervalMs: { min: 250, max: 2_000 },
  /** Backoff between the vault's token-endpoint retries (on its clock): first wait, largest wait. */
  backoffMs: { min: 200, max: 2_000 },
  /** Retry-After the provider sends with a 503, seconds. */
  retryAfterS: 2,
  maxRetryAfterMs: 5_000,
  /** mixi authorization code lifetime. */
  codeLifetimeMs: 180_000,
  clientId: 'sim-client',
  clientSecret: 'sim-client-secret',
  redirectUri: 'https://app.example/callback',
  apiUrl: 'https://api.mixi-platform.com/2/people/@me/@self',
  /** Scheduler steps one world may take before it is declared livelocked. */
  maxSteps: 20_000,
  /**
   * Longest a call may take, in "natural" virtual time (time the world spent sleeping, polling and
   * waiting for timeouts; explicit clock jumps excluded). Generous: 16 CAS rounds of a lease each.
   */
  maxCallNaturalMs: 16 * 20_000,
});

/** The invariants of issue 6, by the names the properties and reports use. */
export const INVARIANTS = [
  'inv1-refresh-token-presented-once',
  'inv2-no-expired-handout',
  'inv3-no-backwards-handout',
  'inv4-no-mistaken-reauth',
  'inv5-newest-refresh-token-kept',
  'inv6-bounded-settlement',
  'inv7-failures-leave-record-unchanged',
] as const;
export type InvariantName = (typeof INVARIANTS)[number];
