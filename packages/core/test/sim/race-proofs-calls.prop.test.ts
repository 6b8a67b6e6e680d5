import fc from 'fast-check';
import { describe, it } from 'vitest';
import { invariantProperty } from './simulate';
import { SIM_RUNS, SIM_SEED, SIM_TIMEOUT_MS } from './sim-runs';

/*
 * Issue 6, the caller side: what `getAccessToken` and `vault.fetch` hand out, and whether every call
 * ends. Same simulated world as race-proofs-tokens.prop.test.ts (see docs/race-proofs.md).
 */
describe('race and expiry proofs on the memory store: calls', () => {
  it('inv2: no caller is handed an access token already expired at the provider (skew 30 s, clock drift up to 2 s)', async () => {
    await fc.assert(invariantProperty('inv2-no-expired-handout'), { numRuns: SIM_RUNS, seed: SIM_SEED });
  }, SIM_TIMEOUT_MS);

  it('inv3: tokens never go backwards: handed out only once stored, never older than the one stored when the call began', async () => {
    await fc.assert(invariantProperty('inv3-no-backwards-handout'), { numRuns: SIM_RUNS, seed: SIM_SEED });
  }, SIM_TIMEOUT_MS);

  it('inv6: every call settles within bounded virtual time with a value or a coded error, and no grant stays refreshing', async () => {
    await fc.assert(invariantProperty('inv6-bounded-settlement'), { numRuns: SIM_RUNS, seed: SIM_SEED });
  }, SIM_TIMEOUT_MS);
});
