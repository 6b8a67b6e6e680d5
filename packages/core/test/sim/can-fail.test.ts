import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, StoreFactory } from './engine';
import { FIXES, type LoadedEngine, loadEngineWith, mutantNamed } from './mutants';
import { checkScenario, world } from './scenarios';
import { INVARIANTS, type InvariantName } from './sim-config';
import { baselineShape, invariantProperty } from './simulate';
import { sweep } from './sweep';

/*
 * Every property can fail: each is run against a deliberately broken engine (one break applied on top
 * of the engine with all candidate fixes, which passes them all) and must catch the break. The full
 * matrix (every break × every property, with timings) is `scripts/sim-long.ts --mutants`; its result
 * is in docs/race-proofs.md.
 */
const loaded: LoadedEngine[] = [];
async function engineWith(...breaks: string[]): Promise<Engine> {
  const l = await loadEngineWith(breaks.map(mutantNamed), FIXES);
  loaded.push(l);
  return l.engine;
}
afterAll(() => {
  for (const l of loaded) l.dispose();
});

/** The property fails within `runs` worlds (first failure only: no shrinking here). */
async function caught(name: InvariantName, engine: Engine, runs: number, storeFactory?: StoreFactory) {
  const out = await fc.check(invariantProperty(name, baselineShape, { engine, ...(storeFactory ? { storeFactory } : {}) }), { numRuns: runs, seed: 7, endOnFailure: true });
  expect(out.failed, `${name} did not catch the break in ${runs} worlds`).toBe(true);
  return out;
}

describe('the baseline: the engine with the candidate fixes passes every property', () => {
  let fixed: Engine;
  beforeAll(async () => {
    fixed = await engineWith();
  });
  it('in 300 worlds of the baseline shape, checked against all seven invariants', async () => {
    const result = await sweep({ runs: 300, seed: 11, engine: fixed, shape: baselineShape });
    for (const name of INVARIANTS) expect(result.firstFailure[name]?.violation, name).toBeUndefined();
    // Not vacuous: the worlds did refresh, rotate, lose answers, crash and take leases over.
    expect(result.coverage.refreshesRotated).toBeGreaterThan(150);
    expect(result.coverage.lostAnswers).toBeGreaterThan(50);
    expect(result.coverage.crashes).toBeGreaterThan(30);
    expect(result.coverage.leaseTakeovers).toBeGreaterThan(5);
    expect(result.coverage.reusePresentations).toBeGreaterThan(5);
  }, 120_000);
});

describe('each property catches a break of the engine', () => {
  it('inv1 catches a refresh without the lease (no compare-and-set on refresh.start)', async () => {
    await caught('inv1-refresh-token-presented-once', await engineWith('no-lease'), 1_000);
  }, 120_000);

  it('inv2 catches an engine that ignores refreshSkewMs (fresh until the last millisecond)', async () => {
    // A vault 900 ms behind the provider asks 2 s after the provider let the token expire at 1.7 s.
    const scenario = {
      name: 'no skew',
      invariant: 'inv2-no-expired-handout' as const,
      spec: world({ grants: [{ authorized: true, expiresInS: 60, ageMs: 58_261 }], vaults: [{ offsetMs: 0, cache: false, retries: 0 }, { offsetMs: -900, cache: false, retries: 0 }] }),
      commands: 'jump(2000ms),getAccessToken(v1, g0)',
    };
    expect((await checkScenario(scenario, { engine: await engineWith() })).failed).toBe(false);
    expect((await checkScenario(scenario, { engine: await engineWith('no-skew') })).failed).toBe(true);
  }, 120_000);

  it('inv3 catches new tokens handed out before they are stored', async () => {
    await caught('inv3-no-backwards-handout', await engineWith('handout-before-persist'), 200);
  }, 120_000);

  it('inv4 catches a transient failure treated as a rejected refresh token', async () => {
    await caught('inv4-no-mistaken-reauth', await engineWith('transient-is-fatal'), 500);
  }, 120_000);

  it('inv5 catches a refresh answer without refresh_token wiping the stored one', async () => {
    await caught('inv5-newest-refresh-token-kept', await engineWith('drop-missing-refresh-token'), 500);
  }, 120_000);

  it('inv6 catches a waiter that never gives up on an abandoned lease', async () => {
    await caught('inv6-bounded-settlement', await engineWith('wait-forever'), 500);
  }, 120_000);

  it('inv7 catches transitions announced before (or without) their write', async () => {
    await caught('inv7-failures-leave-record-unchanged', await engineWith('announce-before-write'), 200);
  }, 120_000);

  it('inv2, inv3, inv5 and inv7 catch a malformed answer taken for a valid one', async () => {
    const engine = await engineWith('trust-malformed-answer');
    for (const name of ['inv2-no-expired-handout', 'inv3-no-backwards-handout', 'inv5-newest-refresh-token-kept', 'inv7-failures-leave-record-unchanged'] as const) {
      await caught(name, engine, 1_000);
    }
  }, 120_000);
});

describe('breaks from outside the engine', () => {
  /** A store whose compare-and-set ignores the version: the last writer wins, so leases exclude nobody. */
  const versionBlindStore: StoreFactory = (engine) => {
    const inner = engine.memoryStore();
    const store = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'compareAndSet') {
          return async (next: Parameters<typeof inner.compareAndSet>[0]) => {
            const current = await target.get(next.grantId);
            return current !== undefined && target.compareAndSet({ ...next, version: current.version + 1 }, current.version);
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return { store, dispose: () => inner.close() };
  };

  it('inv1 catches a store without atomic compare-and-set', async () => {
    await caught('inv1-refresh-token-presented-once', await engineWith(), 1_000, versionBlindStore);
  }, 120_000);
});
