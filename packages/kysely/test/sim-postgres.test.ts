import fc from 'fast-check';
import { it } from 'vitest';
import { INVARIANTS } from '../../core/test/sim/sim-config';
import { SIM_SEED } from '../../core/test/sim/sim-runs';
import { invariantProperty } from '../../core/test/sim/simulate';
import { kyselyStoreFactory } from './sim-store-factories';
import { describePostgres } from './support/postgres-harness';

/*
 * The race and expiry proofs of packages/core/test/sim (issue 6) on PostgreSQL: a fresh schema per
 * simulated world (created, migrated, dropped), so few runs: TOKENVAULT_SIM_SQL_RUNS (default 5) per
 * invariant. Skipped, loudly, without TOKENVAULT_TEST_POSTGRES_URL. docs/race-proofs.md.
 */
const RUNS = Number(process.env.TOKENVAULT_SIM_SQL_RUNS ?? 5);

describePostgres('race and expiry proofs on PostgreSQL', () => {
  for (const name of INVARIANTS) {
    it(name, async () => {
      await fc.assert(invariantProperty(name, undefined, { storeFactory: kyselyStoreFactory('postgres') }), { numRuns: RUNS, seed: SIM_SEED });
    }, 600_000);
  }
});
