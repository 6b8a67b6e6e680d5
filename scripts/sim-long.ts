/**
 * The long run of the race and expiry proofs (issue 6), for use before a release:
 *
 *   node scripts/run-source.mjs scripts/sim-long.ts --runs 100000 --seed 42
 *   node scripts/run-source.mjs scripts/sim-long.ts --runs 20000 --store sqlite
 *   TOKENVAULT_TEST_POSTGRES_URL=postgres://… node scripts/run-source.mjs scripts/sim-long.ts --runs 2000 --store postgres
 *   node scripts/run-source.mjs scripts/sim-long.ts --engine fixed        # the engine with the candidate fixes
 *   node scripts/run-source.mjs scripts/sim-long.ts --mutants --runs 3000 # which property catches which break
 *
 * Every world is checked against all seven invariants. A failing run is replayed and shrunk, and printed
 * as a scenario to paste into packages/core/test/sim/known-bugs.test.ts. Exit code 1 when an invariant
 * failed (except in --mutants mode, where failing is the point). docs/race-proofs.md explains the output.
 */
import { parseArgs } from 'node:util';
import { type Engine, memoryStoreFactory, realEngine, type StoreFactory } from '../packages/core/test/sim/engine';
import { FIXES, loadEngineWith, MUTANTS } from '../packages/core/test/sim/mutants';
import { INVARIANTS } from '../packages/core/test/sim/sim-config';
import { defaultWeights } from '../packages/core/test/sim/sim-commands';
import { baselineShape, defaultShape, type WorldShape } from '../packages/core/test/sim/simulate';
import { shrinkFailure, sweep } from '../packages/core/test/sim/sweep';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    store: { type: 'string', default: 'memory' },
    engine: { type: 'string', default: 'real' },
    mutants: { type: 'boolean', default: false },
    mutant: { type: 'string' },
    baseline: { type: 'boolean', default: false },
  },
});

const runs = Number(values.runs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed)) {
  console.error('usage: sim-long.ts [--runs N] [--seed S] [--store memory|sqlite|postgres] [--engine real|fixed] [--baseline] [--mutants | --mutant NAME]');
  process.exit(2);
}

async function storeFactory(name: string): Promise<StoreFactory> {
  if (name === 'memory') return memoryStoreFactory;
  const { kyselyStoreFactory } = await import('../packages/kysely/test/sim-store-factories');
  return kyselyStoreFactory(name as 'sqlite' | 'postgres');
}

async function main(): Promise<number> {
  const factory = await storeFactory(values.store);
  if (values.mutants || values.mutant !== undefined) return mutantMatrix(factory);
  const fixed = values.engine === 'fixed' ? await loadEngineWith([], FIXES) : undefined;
  if (fixed) console.log(`candidate fixes still applying: ${fixed.applied.join(', ') || 'none'}`);
  const engine: Engine = fixed?.engine ?? realEngine;
  const shape: WorldShape = values.baseline ? baselineShape : defaultShape;
  console.log(`tokenvault race proofs: ${runs} worlds, seed ${seed}, ${values.store} store, ${values.engine} engine${values.baseline ? ', baseline world' : ''}`);
  const result = await sweep({
    runs,
    seed,
    engine,
    storeFactory: factory,
    shape,
    onProgress: (n) => process.stdout.write(`  … ${n} worlds\n`),
  });
  console.log(`\n${result.runs} worlds in ${(result.ms / 1000).toFixed(1)} s (${((result.ms / result.runs) || 0).toFixed(1)} ms each)\n`);
  let failed = 0;
  for (const name of INVARIANTS) {
    const f = result.firstFailure[name];
    if (!f) {
      console.log(`  ✓ ${name}`);
      continue;
    }
    failed++;
    console.log(`  ✗ ${name}: first failed in world ${f.run} (after ${(f.ms / 1000).toFixed(1)} s)\n      ${f.violation}`);
    const shrunk = await shrinkFailure(name, seed, f.run, { engine, storeFactory: factory, shape });
    if (shrunk) {
      console.log(`      shrunk (${shrunk.shrinks} steps) — keep it as a regression scenario:`);
      console.log(`      { name: '…', invariant: '${name}', spec: ${JSON.stringify(shrunk.spec)}, commands: '${shrunk.commands}' },`);
      console.log(`      ${shrunk.message.split('\n').slice(1, 3).join('\n      ')}`);
    }
  }
  console.log('\ncoverage (worlds in which it happened at least once):');
  for (const [k, v] of Object.entries(result.coverage)) console.log(`  ${k.padEnd(24)} ${v}`);
  fixed?.dispose();
  return failed > 0 ? 1 : 0;
}

/** Every break, applied on top of the engine with all candidate fixes, in the baseline world. */
async function mutantMatrix(factory: StoreFactory): Promise<number> {
  const chosen = values.mutant === undefined ? MUTANTS : MUTANTS.filter((m) => m.name === values.mutant);
  console.log(`which property catches which break: up to ${runs} worlds each, seed ${seed}, ${values.store} store, baseline world`);
  console.log(`baseline = real engine + the candidate fixes it does not have yet; commands: ${Object.entries(baselineShape.weights ?? defaultWeights).filter(([, w]) => w === 0).map(([k]) => k).join(', ')} off\n`);
  const columns = INVARIANTS.map((n) => n.split('-')[0] as string);
  console.log(`${'break'.padEnd(28)}${columns.map((c) => c.padStart(16)).join('')}`);
  for (const mutant of [{ name: '(none: baseline)', description: '', edits: [] }, ...chosen]) {
    const loaded = await loadEngineWith([mutant], FIXES);
    if (mutant.edits.length === 0) console.log(`(fixes applied: ${loaded.applied.join(', ') || 'none'})`);
    const result = await sweep({ runs, seed, engine: loaded.engine, storeFactory: factory, shape: baselineShape, stopWhenAllFailed: true });
    const cells = INVARIANTS.map((n) => {
      const f = result.firstFailure[n];
      return (f ? `#${f.run} ${(f.ms / 1000).toFixed(1)}s` : '—').padStart(16);
    });
    console.log(`${mutant.name.padEnd(28)}${cells.join('')}`);
    loaded.dispose();
  }
  console.log('\n#N = caught in world N (0-based) of the sweep; time = wall time until then; — = not caught.');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
