import { describe, it } from 'vitest';
import { checkScenario, expiredGrant, freshGrant, noGrant, type Scenario, world } from './scenarios';

/*
 * Engine bugs the race proofs found (docs/race-proofs.md, "Bugs found"), each as the smallest world
 * and command list that shows it, checked over a fixed set of interleavings. Every one is fixed; each
 * stays here as a regression test (it fails on an engine with the bug back in). The letters match the
 * report.
 */
const BUGS: readonly (Scenario & { readonly runs?: number })[] = [
  {
    name: 'A: a refresh that loses a race returns the grant as it found it: getAccessToken crashes on a dead grant (TypeError)',
    invariant: 'inv6-bounded-settlement',
    spec: world({ grants: [expiredGrant] }),
    commands: 'userRevokes(g0),getAccessToken(v0, g0),jump(25000ms),getAccessToken(v1, g0)',
  },
  {
    name: 'A: … or hands out the expired token of a grant another vault is refreshing',
    invariant: 'inv2-no-expired-handout',
    spec: world({ grants: [expiredGrant], vaults: [{ offsetMs: 0, cache: false, retries: 1 }, { offsetMs: 0, cache: false, retries: 0 }] }),
    commands: 'getAccessToken(v0, g0),jump(25000ms),getAccessToken(v1, g0)',
  },
  {
    name: 'B: a refresh token is sent after the lease ran out on the vault\'s own clock (a pause before the first attempt)',
    invariant: 'inv1-refresh-token-presented-once',
    spec: world({ grants: [expiredGrant] }),
    commands: 'getAccessToken(v0, g0),jump(60000ms)',
  },
  {
    name: 'B: … or in a retry after a timed-out attempt (the retry budget runs on performance.now, not the vault\'s clock)',
    invariant: 'inv1-refresh-token-presented-once',
    spec: world({ grants: [expiredGrant], vaults: [{ offsetMs: 0, cache: false, retries: 1 }, { offsetMs: 0, cache: false, retries: 0 }], tokenFaults: ['hang'] }),
    commands: 'getAccessToken(v0, g0),jump(60000ms),getAccessToken(v1, g0)',
  },
  {
    name: 'B: … or in a retry after waiting out a Retry-After (no deadline check after the wait)',
    invariant: 'inv1-refresh-token-presented-once',
    spec: world({ grants: [expiredGrant], vaults: [{ offsetMs: 0, cache: false, retries: 1 }, { offsetMs: 0, cache: false, retries: 0 }], tokenFaults: ['http503'] }),
    commands: 'getAccessToken(v0, g0),jump(21000ms)',
  },
  {
    name: 'C: a token that expired while its refresh was being stored (a pause) is handed out',
    invariant: 'inv2-no-expired-handout',
    spec: world({ grants: [expiredGrant] }),
    commands: 'getAccessToken(v0, g0),jump(252772ms)',
  },
  {
    name: 'D: beginAuthorization on a grant whose refresh lease was abandoned (crashed owner) fails with conflict',
    invariant: 'inv6-bounded-settlement',
    spec: world({ grants: [expiredGrant] }),
    commands: 'getAccessToken(v1, g0),crash(v1),jump(25000ms),authorize(v0, g0, allow, v0)',
  },
  {
    name: 'E: versions restart at 1 after forget: a stale refresh overwrites the re-created grant (ABA)',
    invariant: 'inv4-no-mistaken-reauth',
    spec: world({ grants: [expiredGrant] }),
    commands: 'userRevokes(g0),refresh(v1, g0, force),forget(v0, g0),authorize(v0, g0, abandon, v0),authorize(v0, g0, abandon, v0)',
  },
  {
    name: 'F: after a transient failure the old token is served to its last millisecond: with clock drift it is already expired',
    invariant: 'inv2-no-expired-handout',
    spec: world({
      grants: [{ authorized: true, expiresInS: 60, ageMs: 58_261 }],
      vaults: [{ offsetMs: 0, cache: false, retries: 0 }, { offsetMs: -900, cache: false, retries: 0 }],
      tokenFaults: ['malformed', 'http503'],
    }),
    commands: 'getAccessToken(v1, g0),getAccessToken(v0, g0),getAccessToken(v1, g0),getAccessToken(v1, g0)',
  },
  {
    name: 'G: a second beginAuthorization during a code exchange makes completeAuthorization drop the tokens it obtained',
    invariant: 'inv5-newest-refresh-token-kept',
    spec: world({ grants: [freshGrant] }),
    commands: 'authorize(v0, g0, abandon, v0),authorize(v0, g0, allow, v0)',
  },
  {
    name: 'G′: two authorizations completing out of order: the older one overwrites the newer one (the store goes back to an older grant)',
    invariant: 'inv5-newest-refresh-token-kept',
    spec: world({ grants: [freshGrant] }),
    commands: 'authorize(v0, g0, allow, v0),authorize(v1, g0, allow, v1)',
  },
  {
    name: 'H: one failed store write after the code exchange loses the new grant (completeAuthorization does not retry)',
    invariant: 'inv5-newest-refresh-token-kept',
    spec: world({ grants: [noGrant], storeFaults: [1] }),
    commands: 'authorize(v0, g0, allow, v0)',
  },
  {
    name: 'I: a refresh whose write failed gives up at its lease deadline and discards the rotated refresh token',
    invariant: 'inv5-newest-refresh-token-kept',
    spec: world({ grants: [expiredGrant], storeFaults: [1] }),
    commands: 'getAccessToken(v0, g0),jump(25000ms)',
  },
  {
    name: 'I′: a refresh whose write failed after a pause past lease and grace gives up on the first failure and discards the rotated refresh token',
    invariant: 'inv5-newest-refresh-token-kept',
    spec: world({ grants: [expiredGrant], storeFaults: [1] }),
    commands: 'getAccessToken(v0, g0),jump(45000ms)',
  },
  {
    name: 'J: a refresh rejection wipes the pending re-authorization; the consent the user just gave is refused',
    invariant: 'inv5-newest-refresh-token-kept',
    spec: world({ grants: [expiredGrant] }),
    commands: 'authorize(v1, g0, allow, v0),userRevokes(g0),getAccessToken(v0, g0)',
  },
  {
    name: 'K: the code deadline is checked again when storing: a pause after the exchange loses the tokens',
    invariant: 'inv5-newest-refresh-token-kept',
    spec: world({ grants: [freshGrant] }),
    commands: 'authorize(v0, g0, allow, v0),jump(200000ms)',
  },
  {
    name: 'L: a vault whose clock runs 4 s ahead takes over a lease its owner still holds',
    invariant: 'inv1-refresh-token-presented-once',
    spec: world({ grants: [expiredGrant], vaults: [{ offsetMs: 2000, cache: false, retries: 0 }, { offsetMs: -2000, cache: false, retries: 0 }] }),
    commands: 'getAccessToken(v1, g0),jump(17000ms),getAccessToken(v0, g0)',
  },
  {
    name: 'M: a refresher that outlived its lease drops the only working refresh token (provider without chain revocation)',
    invariant: 'inv5-newest-refresh-token-kept',
    spec: world({ grants: [expiredGrant], reuse: 'rejectOnly' }),
    commands: 'getAccessToken(v0, g0),jump(25000ms),getAccessToken(v1, g0)',
    runs: 1_500,
  },
  {
    name: 'M′: a refresher that outlived its lease drops the only working tokens when the grant the stale presentation killed is awaiting a new consent',
    invariant: 'inv5-newest-refresh-token-kept',
    spec: world({ grants: [expiredGrant], reuse: 'rejectOnly' }),
    commands: 'getAccessToken(v0, g0),jump(25000ms),getAccessToken(v1, g0),authorize(v1, g0, abandon, v1)',
    runs: 1_500,
  },
  {
    name: 'N: callers that joined a refresh flight give up with conflict after a crashed owner\'s lease is taken over (a still-valid token was there)',
    invariant: 'inv6-bounded-settlement',
    spec: world({ grants: [{ authorized: true, expiresInS: 900, ageMs: 457_232 }] }),
    commands: 'refresh(v0, g0, force),getAccessToken(v1, g0),crash(v0),getAccessToken(v1, g0),getAccessToken(v1, g0),jump(143ms),getAccessToken(v1, g0),jump(20726ms)',
  },
  {
    name: 'P: a call held up long (a pause) settles for a token that became due meanwhile: by a clock half a second behind, it has already expired at the provider',
    invariant: 'inv2-no-expired-handout',
    spec: world({
      grants: [{ authorized: true, expiresInS: 900, ageMs: 25_089 }],
      vaults: [{ offsetMs: -520, cache: false, retries: 0 }, { offsetMs: 0, cache: false, retries: 0 }],
    }),
    commands: 'api(v0, g0),jump(875000ms)',
  },
  {
    name: 'Q: a grant forgotten and created again in the same millisecond shares its versions with its previous life: a code exchange of the forgotten life passes for the new one and beats a later consent',
    invariant: 'inv5-newest-refresh-token-kept',
    spec: world({ grants: [noGrant] }),
    commands: 'restart(v1),authorize(v1, g0, allow, v3),authorize(v0, g1, allow, v2),authorize(v0, g0, allow, v3),api(v3, g2),forget(v0, g0),authorize(v0, g0, deny, v1),refresh(v0, g2, force)',
    runs: 500,
  },
];

describe('known engine bugs (regression scenarios from shrunk counterexamples)', () => {
  for (const bug of BUGS) {
    it(bug.name, async () => {
      const result = await checkScenario(bug, { runs: bug.runs ?? 200 });
      if (result.failed) throw result.errorInstance;
    }, 120_000);
  }
});
