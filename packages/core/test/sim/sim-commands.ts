import fc from 'fast-check';
import type { GrantInfo } from '../../src/vault/grant-info';
import { SIM } from './sim-config';
import type { SimWorld, VaultSlot } from './sim-world';

/**
 * The commands of a simulated world (fast-check `fc.commands`). Each command only *starts* something
 * (a call on a vault, a crash, a clock jump, a user action) and returns at once; the scheduler
 * interleaves what the calls then do. Vault and grant numbers are taken modulo the world's counts, so a
 * command list shrinks independently of the world it runs in.
 */

// The model is not used: the world itself is the oracle, checked after the run.
export type SimModel = object;
export type SimCommand = fc.AsyncCommand<SimModel, SimWorld>;

abstract class WorldCommand implements SimCommand {
  check(): boolean {
    return true;
  }
  abstract run(m: SimModel, w: SimWorld): Promise<void>;
  abstract toString(): string;
}

function live(w: SimWorld, v: number): VaultSlot | undefined {
  const slot = w.slots[v % w.slots.length];
  return slot && !slot.crashed ? slot : undefined;
}

function grant(w: SimWorld, g: number): string {
  return w.grantIds[g % w.grantIds.length] as string;
}

class GetAccessToken extends WorldCommand {
  constructor(readonly v: number, readonly g: number) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    const slot = live(w, this.v);
    const grantId = grant(w, this.g);
    if (slot) w.startOp(slot, 'getAccessToken', grantId, () => slot.vault.getAccessToken(grantId), (token, op) => w.recordHandout(slot, op, token, 'getAccessToken'));
  }
  toString() {
    return `getAccessToken(v${this.v}, g${this.g})`;
  }
}

/**
 * `vault.fetch` on a Graph API endpoint: the executor attaches the token, and on a 401 refreshes and
 * retries once (expired) or reports the token as revoked (`invalid_token`). The `x-sim-op` header lets
 * the API model tie the token it receives to this call (a hand-out).
 */
class ApiCall extends WorldCommand {
  constructor(readonly v: number, readonly g: number) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    const slot = live(w, this.v);
    const grantId = grant(w, this.g);
    if (!slot) return;
    w.startOp(slot, 'api', grantId, async (op) => {
      const res = await slot.vault.fetch(grantId, SIM.apiUrl, { headers: { 'x-sim-op': String(op.id) } });
      await res.body?.cancel();
      return res.status;
    });
  }
  toString() {
    return `api(v${this.v}, g${this.g})`;
  }
}

class Refresh extends WorldCommand {
  constructor(readonly v: number, readonly g: number, readonly force: boolean) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    const slot = live(w, this.v);
    const grantId = grant(w, this.g);
    if (slot) w.startOp(slot, 'refresh', grantId, (): Promise<GrantInfo> => slot.vault.refresh(grantId, { force: this.force }));
  }
  toString() {
    return `refresh(v${this.v}, g${this.g}${this.force ? ', force' : ''})`;
  }
}

class RefreshDue extends WorldCommand {
  constructor(readonly v: number, readonly withinMs: number) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    const slot = live(w, this.v);
    if (slot) w.startOp(slot, 'refreshDue', null, () => slot.vault.refreshDue({ withinMs: this.withinMs, concurrency: 2, pageSize: 2 }));
  }
  toString() {
    return `refreshDue(v${this.v}, within ${this.withinMs}ms)`;
  }
}

class Forget extends WorldCommand {
  constructor(readonly v: number, readonly g: number) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    const slot = live(w, this.v);
    const grantId = grant(w, this.g);
    if (slot) w.startOp(slot, 'forget', grantId, () => slot.vault.forget(grantId));
  }
  toString() {
    return `forget(v${this.v}, g${this.g})`;
  }
}

/**
 * A user's authorization journey: vault `v` begins it (server_state, pending state stored), the user
 * allows, denies or abandons it at the consent page, and the redirect reaches vault `cb` (a scheduled
 * step later, so other work interleaves).
 */
class Authorize extends WorldCommand {
  constructor(readonly v: number, readonly g: number, readonly outcome: 'allow' | 'deny' | 'abandon', readonly cb: number) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    const slot = live(w, this.v);
    const grantId = grant(w, this.g);
    if (!slot) return;
    w.startOp(
      slot,
      'begin',
      grantId,
      () => slot.vault.beginAuthorization({ grantId, client: 'mixi', scope: ['r_profile'] }),
      (result) => {
        w.begun.push({ grantId, url: result.url, consented: this.outcome !== 'abandon' });
        if (this.outcome === 'abandon') return;
        const callback = { grantId, url: w.provider.consent(result.url, grantId, this.outcome === 'allow'), deliveries: 0 };
        w.callbacks.push(callback);
        w.log(`user of ${grantId} ${this.outcome === 'allow' ? 'allows' : 'denies'}`);
        void w.gate(null, `user of ${grantId} is redirected`).then(() => {
          const target = live(w, this.cb);
          if (!target) return;
          callback.deliveries++;
          w.startOp(target, 'complete', grantId, () => target.vault.completeAuthorization(callback.url));
        });
      },
    );
  }
  toString() {
    return `authorize(v${this.v}, g${this.g}, ${this.outcome}, v${this.cb})`;
  }
}

/** A redirect reaches one of the vaults again, possibly late: a replay (or a slow browser). */
class Callback extends WorldCommand {
  constructor(readonly v: number, readonly pick: number) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    const slot = live(w, this.v);
    if (!slot || w.callbacks.length === 0) return;
    const callback = w.callbacks[this.pick % w.callbacks.length];
    if (!callback) return;
    callback.deliveries++;
    w.startOp(slot, 'complete', callback.grantId, () => slot.vault.completeAuthorization(callback.url));
  }
  toString() {
    return `callback(v${this.v}, #${this.pick})`;
  }
}

/** The process dies: every promise it is waiting on never settles; its lease stays behind. */
class Crash extends WorldCommand {
  constructor(readonly v: number) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    w.crash(this.v % w.slots.length);
  }
  toString() {
    return `crash(v${this.v})`;
  }
}

class Restart extends WorldCommand {
  constructor(readonly v: number) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    w.restart(this.v % w.slots.length);
  }
  toString() {
    return `restart(v${this.v})`;
  }
}

/** Time passes at once (a suspended VM, a long GC pause, or simply a quiet hour). */
class ClockJump extends WorldCommand {
  constructor(readonly ms: number) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    w.jump(this.ms);
  }
  toString() {
    return `jump(${this.ms}ms)`;
  }
}

/** The user removes the app at the provider: the grant's tokens die there. */
class UserRevokes extends WorldCommand {
  constructor(readonly g: number) {
    super();
  }
  async run(_m: SimModel, w: SimWorld) {
    const grantId = grant(w, this.g);
    w.provider.revokeGrant(grantId);
    w.log(`user of ${grantId} revokes the app`);
  }
  toString() {
    return `userRevokes(g${this.g})`;
  }
}

const v = fc.nat({ max: 3 });
const g = fc.nat({ max: 2 });
const jumpMs = fc.oneof(
  fc.integer({ min: 1, max: 5_000 }),
  fc.integer({ min: SIM.leaseMs - 5_000, max: SIM.leaseMs + 5_000 }),
  fc.integer({ min: 60_000, max: 1_000_000 }),
);

/** Relative weights of the commands. */
export interface CommandWeights {
  readonly getAccessToken: number;
  readonly api: number;
  readonly refresh: number;
  readonly refreshDue: number;
  readonly forget: number;
  readonly authorize: number;
  readonly replayCallback: number;
  readonly crash: number;
  readonly jump: number;
  readonly revoke: number;
}

export const defaultWeights: CommandWeights = {
  getAccessToken: 6,
  api: 3,
  refresh: 2,
  refreshDue: 2,
  forget: 1,
  authorize: 2,
  replayCallback: 1,
  crash: 1,
  jump: 3,
  revoke: 1,
};

/** One weighted command. */
export function commandArbitrary(weights: CommandWeights = defaultWeights): fc.Arbitrary<SimCommand> {
  const entries: { weight: number; arbitrary: fc.Arbitrary<SimCommand> }[] = [
    { weight: weights.getAccessToken, arbitrary: fc.tuple(v, g).map(([a, b]) => new GetAccessToken(a, b)) },
    { weight: weights.api, arbitrary: fc.tuple(v, g).map(([a, b]) => new ApiCall(a, b)) },
    { weight: weights.refresh, arbitrary: fc.tuple(v, g, fc.boolean()).map(([a, b, f]) => new Refresh(a, b, f)) },
    {
      weight: weights.refreshDue,
      arbitrary: fc.tuple(v, fc.constantFrom(0, SIM.refreshSkewMs, 120_000, 1_000_000)).map(([a, w]) => new RefreshDue(a, w)),
    },
    { weight: weights.forget, arbitrary: fc.tuple(v, g).map(([a, b]) => new Forget(a, b)) },
    {
      weight: weights.authorize,
      arbitrary: fc
        .tuple(v, g, fc.constantFrom('allow' as const, 'allow' as const, 'allow' as const, 'deny' as const, 'abandon' as const), v)
        .map(([a, b, outcome, cb]) => new Authorize(a, b, outcome, cb)),
    },
    { weight: weights.replayCallback, arbitrary: fc.tuple(v, fc.nat({ max: 3 })).map(([a, p]) => new Callback(a, p)) },
    { weight: weights.crash, arbitrary: v.map((a) => new Crash(a)) },
    { weight: weights.crash, arbitrary: v.map((a) => new Restart(a)) },
    { weight: weights.jump, arbitrary: jumpMs.map((ms) => new ClockJump(ms)) },
    { weight: weights.revoke, arbitrary: g.map((b) => new UserRevokes(b)) },
  ];
  return fc.oneof(...entries.filter((e) => e.weight > 0));
}

/** A command list: fast-check shrinks it by dropping and simplifying commands. */
export function commandsArbitrary(maxCommands: number, weights?: CommandWeights): fc.Arbitrary<Iterable<SimCommand>> {
  return fc.commands([commandArbitrary(weights)], { maxCommands, size: '+1' });
}

/**
 * Starts the commands one after another, each as a scheduled step of its own: the scheduler decides
 * how much of the earlier calls' work happens before the next command.
 */
export function startCommands(w: SimWorld, commands: Iterable<SimCommand>): void {
  const model: SimModel = {};
  const it = commands[Symbol.iterator]();
  const next = (): void => {
    const r = it.next();
    if (r.done) return;
    const cmd = r.value;
    void w.gate(null, `» ${cmd.toString()}`).then(async () => {
      if (await cmd.check(model)) {
        w.log(`» ${cmd.toString()}`);
        await cmd.run(model, w);
      }
      next();
    });
  };
  next();
}

/**
 * Reads a command list back from how fast-check prints it (`getAccessToken(v0, g1),jump(60000ms),…`),
 * so a shrunk counterexample can be kept as a regression test verbatim.
 */
export function parseCommands(script: string): SimCommand[] {
  const out: SimCommand[] = [];
  const re = /(\w+)\(([^)]*)\)/g;
  for (const m of script.replace(/\/\*.*?\*\//g, '').matchAll(re)) {
    const [, name, rawArgs = ''] = m;
    const args = rawArgs.split(',').map((a) => a.trim());
    const num = (i: number) => Number((args[i] ?? '').replace(/^[vg#]|ms$/g, '').replace(/^within /, '').replace(/ms$/, ''));
    switch (name) {
      case 'getAccessToken':
        out.push(new GetAccessToken(num(0), num(1)));
        break;
      case 'api':
        out.push(new ApiCall(num(0), num(1)));
        break;
      case 'refresh':
        out.push(new Refresh(num(0), num(1), args[2] === 'force'));
        break;
      case 'refreshDue':
        out.push(new RefreshDue(num(0), num(1)));
        break;
      case 'forget':
        out.push(new Forget(num(0), num(1)));
        break;
      case 'authorize':
        out.push(new Authorize(num(0), num(1), (args[2] ?? 'allow') as 'allow' | 'deny' | 'abandon', num(3)));
        break;
      case 'callback':
        out.push(new Callback(num(0), num(1)));
        break;
      case 'crash':
        out.push(new Crash(num(0)));
        break;
      case 'restart':
        out.push(new Restart(num(0)));
        break;
      case 'jump':
        out.push(new ClockJump(num(0)));
        break;
      case 'userRevokes':
        out.push(new UserRevokes(num(0)));
        break;
      default:
        throw new Error(`unknown command "${name}"`);
    }
  }
  return out;
}
