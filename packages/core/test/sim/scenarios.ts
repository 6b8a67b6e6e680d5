import fc from 'fast-check';
import type { Engine } from './engine';
import { parseCommands } from './sim-commands';
import type { InvariantName } from './sim-config';
import { InvariantViolation, simulate } from './simulate';
import type { GrantSpec, VaultSpec, WorldSpec } from './sim-world';

/**
 * A fixed world and command list (a shrunk counterexample, kept as a regression test), checked over
 * many interleavings: fast-check's scheduler picks the order, from a fixed seed, so a failure
 * reproduces exactly and a fix is tested against the same schedules.
 */
export interface Scenario {
  readonly name: string;
  readonly invariant: InvariantName;
  readonly spec: WorldSpec;
  /** As fast-check prints commands: `getAccessToken(v0, g0),jump(60000ms)`. */
  readonly commands: string;
}

const plainVault: VaultSpec = { offsetMs: 0, cache: false, retries: 0 };

export function world(partial: Partial<WorldSpec> & { grants: readonly GrantSpec[] }): WorldSpec {
  return {
    vaults: [plainVault, plainVault],
    reuse: 'revokeChain',
    keepRefreshTokenEvery: 0,
    tokenFaults: [],
    storeFaults: [],
    ...partial,
  };
}

/** A grant whose access token expired long ago: the first call refreshes. */
export const expiredGrant: GrantSpec = { authorized: true, expiresInS: 60, ageMs: 120_000 };
export const freshGrant: GrantSpec = { authorized: true, expiresInS: 900, ageMs: 0 };
export const noGrant: GrantSpec = { authorized: false, expiresInS: 900, ageMs: 0 };

/** Runs the scenario under `runs` schedules; resolves to the fast-check result (failed or not). */
export async function checkScenario(scenario: Scenario, options: { runs?: number; seed?: number; engine?: Engine } = {}) {
  const property = fc.asyncProperty(fc.scheduler(), async (scheduler) => {
    const result = await simulate(scheduler, scenario.spec, parseCommands(scenario.commands), options.engine ? { engine: options.engine } : {});
    const found = result.violations[scenario.invariant];
    if (found.length > 0) throw new InvariantViolation(scenario.invariant, found, result.trace);
  });
  return fc.check(property, { numRuns: options.runs ?? 300, seed: options.seed ?? 6, endOnFailure: true });
}
