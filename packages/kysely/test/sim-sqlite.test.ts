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

const OPEN_BUG_INVARIANTS = new Set<string>(['inv3-no-backwards-handout']);

describe('race and expiry proofs on SQLite', () => {
  for (const name of INVARIANTS) {
    // inv3 waits on open bug G′ (docs/race-proofs.md); the memory-store suite keeps it running as an
    // expected failure under its fixed seed.
    (OPEN_BUG_INVARIANTS.has(name) ? it.skip : it)(name, async () => {
      await fc.assert(invariantProperty(name, undefined, { storeFactory: kyselyStoreFactory('sqlite') }), { numRuns: RUNS, seed: SIM_SEED });
    }, 300_000);
  }
});
