import fc from 'fast-check';
import type { GrantRecord } from '../../src/store/grant-store';
import { type Engine, memoryStoreFactory, realEngine, type StoreFactory } from './engine';
import { inv1, inv2, inv3, inv4, inv5, inv5End, inv6, inv7, noViolations, type Quiescence, type Violations } from './invariants';
import type { ReusePolicy, TokenFault } from './provider-model';
import { commandsArbitrary, type CommandWeights, defaultWeights, type SimCommand, startCommands } from './sim-commands';
import { type InvariantName, SIM } from './sim-config';
import { LivelockError, SimWorld, type WorldSpec } from './sim-world';

/** What one simulated run produced. */
export interface SimResult {
  readonly violations: Violations;
  readonly stats: SimStats;
  /** Readable log of the run (commands, requests, crashes, outcomes). */
  readonly trace: readonly string[];
}

/** What happened in a run: used to show the simulation reaches the interesting paths. */
export interface SimStats {
  readonly calls: number;
  readonly handouts: number;
  readonly refreshesRotated: number;
  readonly reusePresentations: number;
  readonly leaseTakeovers: number;
  readonly crashes: number;
  readonly lostAnswers: number;
  readonly storeWriteFailures: number;
  readonly reauthTransitions: number;
  readonly contendedRefreshes: number;
  readonly authorizationsCompleted: number;
  readonly forgets: number;
  readonly apiCalls: number;
  readonly malformedAnswers: number;
  readonly steps: number;
}

export interface SimOptions {
  readonly engine?: Engine;
  readonly storeFactory?: StoreFactory;
}

/**
 * Runs one world: seeds the grants, starts the vaults, plays the commands under the scheduler until
 * every live call has settled, snapshots (quiescence), then lets a fresh vault sweep the store with
 * faults off (recovery), and checks every invariant.
 */
export async function simulate(scheduler: fc.Scheduler, spec: WorldSpec, commands: Iterable<SimCommand>, options: SimOptions = {}): Promise<SimResult> {
  const engine = options.engine ?? realEngine;
  const handle = await (options.storeFactory ?? memoryStoreFactory)(engine);
  try {
    const w = new SimWorld(engine, scheduler, spec, handle.store);
    await w.seedGrants();
    w.startVaults();
    startCommands(w, commands);
    let livelock: string | null = null;
    try {
      await w.drain();
    } catch (e) {
      if (!(e instanceof LivelockError)) throw e;
      livelock = e.message;
    }
    const q: Quiescence = {
      order: w.nextOrder(),
      at: w.now,
      alive: new Set(w.allSlots.filter((s) => !s.crashed).map((s) => s.name)),
      shadow: new Map<string, GrantRecord>(w.observed.shadow),
      livelock,
    };
    const v = noViolations();
    // Invariant 5 speaks of the world as the live vaults left it, before anyone sweeps.
    const inv5AtQuiescence = livelock ? [] : inv5(w, q);
    if (!livelock) await recover(w);
    v['inv1-refresh-token-presented-once'] = inv1(w);
    v['inv2-no-expired-handout'] = inv2(w);
    v['inv3-no-backwards-handout'] = inv3(w);
    v['inv4-no-mistaken-reauth'] = inv4(w);
    v['inv5-newest-refresh-token-kept'] = livelock ? [] : [...inv5AtQuiescence, ...inv5End(w)];
    v['inv6-bounded-settlement'] = inv6(w, q);
    v['inv7-failures-leave-record-unchanged'] = inv7(w);
    return { violations: v, stats: statsOf(w), trace: w.trace };
  } finally {
    await handle.dispose();
  }
}

/**
 * After the run: faults off, time past every lease, and a new vault (no drift, no cache) takes over
 * abandoned leases (`refreshDue`) and force-refreshes every authorized grant, so that what the run left
 * behind is put to the test.
 */
async function recover(w: SimWorld): Promise<void> {
  w.faultsEnabled = false;
  w.jump(SIM.leaseMs + SIM.maxDriftMs + 1);
  const r = w.recoveryVault();
  w.startOp(r, 'recovery.refreshDue', null, () => r.vault.refreshDue({ withinMs: 0, concurrency: 1 }));
  await w.drain();
  for (const [grantId, record] of w.observed.shadow) {
    if (record.state === 'authorized' || record.state === 'refreshing') {
      w.startOp(r, 'recovery.refresh', grantId, () => r.vault.refresh(grantId, { force: true }));
    }
  }
  await w.drain();
}

function statsOf(w: SimWorld): SimStats {
  const p = w.provider;
  const writes = w.observed.writes;
  const leaseWrites = writes.filter((x) => x.after?.state === 'refreshing');
  return {
    calls: w.ops.length,
    handouts: w.handouts.length,
    refreshesRotated: p.presentations.filter((x) => x.outcome === 'rotated').length,
    reusePresentations: p.presentations.filter((x) => x.outcome === 'reuse').length,
    leaseTakeovers: leaseWrites.filter((x) => x.before?.state === 'refreshing').length,
    crashes: w.allSlots.filter((s) => s.crashed).length,
    lostAnswers: p.exchanges.filter((e) => e.delivery === 'lost' || e.delivery === 'timeout').length,
    storeWriteFailures: w.observed.failedWrites.length,
    reauthTransitions: writes.filter((x) => x.after?.state === 'reauthRequired' && x.before?.state !== 'reauthRequired').length,
    contendedRefreshes: writes.filter((x) => x.after?.state === 'refreshing').length > 0 && w.ops.filter((op) => op.kind === 'getAccessToken' || op.kind === 'refresh' || op.kind === 'api').length > 1 ? 1 : 0,
    authorizationsCompleted: w.ops.filter((op) => op.kind === 'complete' && op.status === 'ok').length,
    forgets: writes.filter((x) => x.op === 'delete').length,
    apiCalls: w.ops.filter((op) => op.kind === 'api').length,
    malformedAnswers: p.exchanges.filter((e) => e.fault === 'malformed').length,
    steps: w.steps,
  };
}

// ──────────────────────────────────────────────────────────── arbitraries

const faultKinds: readonly (TokenFault | 'ok')[] = ['ok', 'http500', 'http503', 'hang', 'lostAfterRotate', 'hangAfterRotate', 'malformed'];

export interface WorldShape {
  readonly maxVaults: number;
  readonly maxGrants: number;
  readonly maxCommands: number;
  readonly maxTokenFaults: number;
  readonly maxStoreFaults: number;
  readonly weights?: CommandWeights;
  /** Reuse policies the provider may have (default: revokeChain three times in four, rejectOnly otherwise). */
  readonly reuse?: readonly ReusePolicy[];
}

export const defaultShape: WorldShape = { maxVaults: 4, maxGrants: 3, maxCommands: 14, maxTokenFaults: 6, maxStoreFaults: 4 };

/**
 * The world of the "can each property fail" experiments: the refresh machinery only (no forget, no
 * authorization journeys) and a provider that revokes the chain on reuse. With the candidate fixes
 * applied, the engine passes every property here, so a break that makes one fail is what broke it.
 */
export const baselineShape: WorldShape = {
  ...defaultShape,
  weights: { ...defaultWeights, forget: 0, authorize: 0, replayCallback: 0 },
  reuse: ['revokeChain'],
};

export function worldSpecArbitrary(shape: WorldShape = defaultShape): fc.Arbitrary<WorldSpec> {
  const vault = fc.record({
    offsetMs: fc.integer({ min: -SIM.maxDriftMs, max: SIM.maxDriftMs }),
    cache: fc.boolean(),
    retries: fc.nat({ max: 2 }),
  });
  const grant = fc.record({
    authorized: fc.nat({ max: 5 }).map((n) => n > 0),
    expiresInS: fc.constantFrom(60, 120, 900),
    // Most grants start close to expiry, so that refreshes happen at once.
    ageMs: fc.oneof(fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: 50_000, max: 1_000_000 })),
  });
  return fc.record({
    vaults: fc.array(vault, { minLength: 2, maxLength: shape.maxVaults }),
    grants: fc.array(grant, { minLength: 1, maxLength: shape.maxGrants }),
    reuse: fc.constantFrom(...(shape.reuse ?? (['revokeChain', 'revokeChain', 'revokeChain', 'rejectOnly'] as const))),
    keepRefreshTokenEvery: fc.constantFrom(0, 0, 2, 3),
    tokenFaults: fc.array(fc.constantFrom(...faultKinds), { maxLength: shape.maxTokenFaults }),
    storeFaults: fc.uniqueArray(fc.nat({ max: 30 }), { maxLength: shape.maxStoreFaults }),
  });
}

export interface SimCase {
  readonly scheduler: fc.Scheduler;
  readonly spec: WorldSpec;
  readonly commands: Iterable<SimCommand>;
}

export function simCaseArbitrary(shape: WorldShape = defaultShape): fc.Arbitrary<SimCase> {
  return fc.record({ scheduler: fc.scheduler(), spec: worldSpecArbitrary(shape), commands: commandsArbitrary(shape.maxCommands, shape.weights) });
}

/**
 * The property "invariant `name` holds in every world": a fast-check async property whose failure
 * message lists the violations and the end of the run's trace.
 */
export function invariantProperty(name: InvariantName, shape: WorldShape = defaultShape, options: SimOptions = {}) {
  return fc.asyncProperty(simCaseArbitrary(shape), async ({ scheduler, spec, commands }) => {
    const result = await simulate(scheduler, spec, commands, options);
    const found = result.violations[name];
    if (found.length > 0) throw new InvariantViolation(name, found, result.trace);
  });
}

export class InvariantViolation extends Error {
  readonly invariant: InvariantName;
  readonly found: readonly string[];
  constructor(name: InvariantName, found: readonly string[], trace: readonly string[]) {
    super(`${name} violated:\n  - ${found.slice(0, 5).join('\n  - ')}\ntrace:\n    ${trace.join('\n    ')}`);
    this.invariant = name;
    this.found = found;
  }
}
