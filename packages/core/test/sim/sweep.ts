import fc from 'fast-check';
import { INVARIANTS, type InvariantName } from './sim-config';
import { defaultShape, invariantProperty, type SimOptions, type SimStats, simCaseArbitrary, simulate, type WorldShape } from './simulate';

/**
 * One pass of many simulated worlds that checks all seven invariants on each (seven times cheaper than
 * seven properties), for the long run and the "can each property fail" experiments.
 */
export interface SweepResult {
  readonly runs: number;
  readonly ms: number;
  /** Per invariant: the first failing run (0-based) and when it was found, or undefined. */
  readonly firstFailure: Record<InvariantName, { run: number; ms: number; violation: string } | undefined>;
  /** Runs in which each counter was non-zero (coverage). */
  readonly coverage: Record<keyof SimStats, number>;
}

export interface SweepOptions extends SimOptions {
  readonly runs: number;
  readonly seed: number;
  readonly shape?: WorldShape;
  /** Stop once every invariant has failed (for the experiments). */
  readonly stopWhenAllFailed?: boolean;
  readonly onProgress?: (done: number) => void;
}

export async function sweep(options: SweepOptions): Promise<SweepResult> {
  const started = Date.now();
  const firstFailure = Object.fromEntries(INVARIANTS.map((n) => [n, undefined])) as SweepResult['firstFailure'];
  const coverage = {} as Record<keyof SimStats, number>;
  let runs = 0;
  const allFailed = () => INVARIANTS.every((n) => firstFailure[n] !== undefined);
  await fc.check(
    fc.asyncProperty(simCaseArbitrary(options.shape ?? defaultShape), async ({ scheduler, spec, commands }) => {
      if (options.stopWhenAllFailed && allFailed()) return;
      const run = runs++;
      const result = await simulate(scheduler, spec, commands, options);
      for (const [k, v] of Object.entries(result.stats) as [keyof SimStats, number][]) coverage[k] = (coverage[k] ?? 0) + (v > 0 ? 1 : 0);
      for (const name of INVARIANTS) {
        const found = result.violations[name];
        if (found.length > 0 && firstFailure[name] === undefined) firstFailure[name] = { run, ms: Date.now() - started, violation: found[0] as string };
      }
      if (run % 1000 === 999) options.onProgress?.(run + 1);
    }),
    { numRuns: options.runs, seed: options.seed },
  );
  return { runs, ms: Date.now() - started, firstFailure, coverage };
}

/**
 * Replays run `run` of a sweep with the same seed as a single-invariant property and lets fast-check
 * shrink it: the minimal world and command list, ready to be kept as a regression scenario.
 */
export async function shrinkFailure(name: InvariantName, seed: number, run: number, options: SimOptions & { shape?: WorldShape } = {}) {
  const out = await fc.check(invariantProperty(name, options.shape ?? defaultShape, options), { seed, path: String(run), numRuns: run + 1 });
  if (!out.failed) return undefined;
  const example = out.counterexample?.[0];
  return {
    spec: example?.spec,
    commands: String(example?.commands ?? '').replace(/\s*\/\*.*\*\/\s*$/, ''),
    message: (out.errorInstance as Error | undefined)?.message ?? '',
    shrinks: out.numShrinks,
  };
}
