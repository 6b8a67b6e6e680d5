import fc from 'fast-check';
import { describe, it } from 'vitest';
import { INVARIANTS } from '../../core/test/sim/sim-config';
import { SIM_SEED } from '../../core/test/sim/sim-runs';
import { invariantProperty } from '../../core/test/sim/simulate';
import { kyselyStoreFactory } from './sim-store-factories';

/*
 * The race and expiry proofs of packages/core/test/sim (issue 6), through the same code, on SQLite
 * (a fresh in-memory database per simulated world). Fewer runs than on the memory store:
 * TOKENVAULT_SIM_SQL_RUNS (default 100) per invariant. docs/race-proofs.md.
 */
const RUNS = Number(process.env.TOKENVAULT_SIM_SQL_RUNS ?? 100);

describe('race and expiry proofs on SQLite', () => {
  for (const name of INVARIANTS) {
    it(name, async () => {
      await fc.assert(invariantProperty(name, undefined, { storeFactory: kyselyStoreFactory('sqlite') }), { numRuns: RUNS, seed: SIM_SEED });
    }, 300_000);
  }
});
