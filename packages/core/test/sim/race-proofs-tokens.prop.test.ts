import fc from 'fast-check';
import { describe, it } from 'vitest';
import { invariantProperty } from './simulate';
import { SIM_RUNS, SIM_SEED, SIM_TIMEOUT_MS } from './sim-runs';

/*
 * Issue 6, the token side: many vaults (processes) sharing one memory store, a provider with rotating
 * refresh tokens and reuse detection, virtual time, crashes and faults, interleaved by fast-check's
 * scheduler. docs/race-proofs.md says what each property checks and how it was shown to fail.
 * A failure prints the shrunk world, the commands and a trace of the run.
 */
describe('race and expiry proofs on the memory store: tokens', () => {
  it('inv1: a refresh token is presented only under a live lease, and never again after rotation (unless its answer was lost or its lease ran out)', async () => {
    await fc.assert(invariantProperty('inv1-refresh-token-presented-once'), { numRuns: SIM_RUNS, seed: SIM_SEED });
  }, SIM_TIMEOUT_MS);

  it('inv4: a grant needs re-authorization only when the provider really refused its refresh token (or revoked its access token)', async () => {
    await fc.assert(invariantProperty('inv4-no-mistaken-reauth'), { numRuns: SIM_RUNS, seed: SIM_SEED });
  }, SIM_TIMEOUT_MS);

  it('inv5: the newest refresh token a live vault received is the one stored, and a grant that ends authorized can still refresh', async () => {
    await fc.assert(invariantProperty('inv5-newest-refresh-token-kept'), { numRuns: SIM_RUNS, seed: SIM_SEED });
  }, SIM_TIMEOUT_MS);

  it('inv7: failed writes and malformed answers change nothing: stored tokens come only from well-formed answers, events only from real writes', async () => {
    await fc.assert(invariantProperty('inv7-failures-leave-record-unchanged'), { numRuns: SIM_RUNS, seed: SIM_SEED });
  }, SIM_TIMEOUT_MS);
});
