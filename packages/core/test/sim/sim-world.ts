import { createHash } from 'node:crypto';
import type fc from 'fast-check';
import type { GrantRecord } from '../../src/store/grant-store';
import type { Clock } from '../../src/util/clock';
import type { Vault } from '../../src/vault/vault';
import type { Engine } from './engine';
import { ObservedStore, vaultStore } from './observed-store';
import { type Exchange, type ProviderAnswer, ProviderModel, type ReusePolicy, type TokenFault } from './provider-model';
import { SIM } from './sim-config';

/** One process (or machine) of the simulated deployment. */
export interface VaultSpec {
  /** This vault's clock minus the provider's, ms (|offset| ≤ SIM.maxDriftMs). */
  readonly offsetMs: number;
  /** The vault's in-process token cache. */
  readonly cache: boolean;
  /** p-retry retries of a transient token-endpoint failure. */
  readonly retries: number;
}

export interface GrantSpec {
  /** Authorized when the world starts (else unknown to the store). */
  readonly authorized: boolean;
  /** `expires_in` the provider gives this grant's access tokens, seconds. */
  readonly expiresInS: number;
  /** How long before the start its initial tokens were issued, ms. */
  readonly ageMs: number;
}

/** Everything that varies between worlds, apart from the commands and the scheduler. */
export interface WorldSpec {
  readonly vaults: readonly VaultSpec[];
  readonly grants: readonly GrantSpec[];
  readonly reuse: ReusePolicy;
  readonly keepRefreshTokenEvery: number;
  /** Faults of the first token-endpoint requests, in order; later requests are answered normally. */
  readonly tokenFaults: readonly (TokenFault | 'ok')[];
  /** Indices (0-based, over the world's write attempts) of store writes that fail. */
  readonly storeFaults: readonly number[];
}

export type OpKind =
  | 'getAccessToken'
  | 'api'
  | 'refresh'
  | 'refreshDue'
  | 'forget'
  | 'begin'
  | 'complete'
  | 'recovery.refreshDue'
  | 'recovery.refresh';

/** One call made on a vault. */
export interface Op {
  readonly id: number;
  readonly vault: string;
  readonly slot: VaultSlot;
  readonly kind: OpKind;
  readonly grantId: string | null;
  readonly startOrder: number;
  readonly startAt: number;
  readonly startNatural: number;
  /** Rank (see `tokenRank`) of the access token stored for the grant when the call started (0: none). */
  readonly floorRank: number;
  status: 'pending' | 'ok' | 'error';
  error: { code: string | undefined; name: string; message: string } | null;
  endAt: number | null;
  endNatural: number | null;
  /** Access tokens the API requests of this call carried. */
  apiTokens: string[];
}

/** An access token given to a caller. */
export interface Handout {
  readonly order: number;
  readonly opId: number;
  readonly vault: string;
  readonly cache: boolean;
  readonly grantId: string;
  readonly token: string;
  readonly at: number;
  readonly floorRank: number;
  readonly via: 'getAccessToken' | 'api';
}

export interface VaultEventRecord {
  readonly order: number;
  readonly vault: string;
  readonly name: 'transition' | 'refreshed' | 'reauthRequired';
  readonly grantId: string;
  readonly version?: number;
  readonly to?: string;
  readonly expiresAt?: number | null;
}

/** A vault incarnation: a process that may crash and be replaced by a new one (new owner id). */
export class VaultSlot {
  readonly index: number;
  readonly incarnation: number;
  readonly name: string;
  readonly spec: VaultSpec;
  crashed = false;
  crashOrder: number | null = null;
  vault!: Vault;

  constructor(index: number, incarnation: number, spec: VaultSpec) {
    this.index = index;
    this.incarnation = incarnation;
    this.spec = spec;
    this.name = incarnation === 0 ? `v${index}` : `v${index}.${incarnation}`;
  }
}

/** An authorization the engine began: the URL the user is sent to. */
export interface BegunAuthorization {
  readonly grantId: string;
  readonly url: string;
  consented: boolean;
}

export interface Callback {
  readonly grantId: string;
  readonly url: string;
  deliveries: number;
}

const NEVER = new Promise<never>(() => {});

export const GRANT_IDS = ['alice', 'bob', 'carol'] as const;

/**
 * A simulated deployment: vaults (processes) sharing one store, one provider, one virtual time, all
 * interleaved by a fast-check scheduler. Time moves only when the scheduler releases a sleeper (to its
 * wake-up time), when a request hangs until its timeout, or on an explicit jump.
 */
export class SimWorld {
  readonly engine: Engine;
  readonly s: fc.Scheduler;
  readonly spec: WorldSpec;
  readonly provider: ProviderModel;
  readonly observed: ObservedStore;
  readonly slots: VaultSlot[] = [];
  readonly allSlots: VaultSlot[] = [];
  readonly ops: Op[] = [];
  readonly handouts: Handout[] = [];
  readonly events: VaultEventRecord[] = [];
  readonly begun: BegunAuthorization[] = [];
  readonly callbacks: Callback[] = [];
  readonly trace: string[] = [];
  readonly grantIds: readonly string[];
  /** World time (the provider's clock), epoch ms. */
  now: number = SIM.t0;
  /** Time that passed by waiting (sleeps, timeouts), not by explicit jumps. */
  natural = 0;
  steps = 0;
  faultsEnabled = true;
  #order = 0;
  #inflight = 0;
  #tokenRequests = 0;
  #writeAttempts = 0;
  #randomCounter = 0;

  constructor(engine: Engine, scheduler: fc.Scheduler, spec: WorldSpec, base: import('../../src/store/grant-store').GrantStore) {
    this.engine = engine;
    this.s = scheduler;
    this.spec = spec;
    this.grantIds = GRANT_IDS.slice(0, spec.grants.length);
    this.provider = new ProviderModel(
      {
        reuse: spec.reuse,
        keepRefreshTokenEvery: spec.keepRefreshTokenEvery,
        expiresInS: (grantId) => spec.grants[this.grantIds.indexOf(grantId)]?.expiresInS ?? 900,
      },
      () => this.now,
      () => this.nextOrder(),
    );
    this.observed = new ObservedStore(base, () => this.nextOrder(), () => this.now);
  }

  nextOrder(): number {
    return ++this.#order;
  }

  log(line: string): void {
    this.trace.push(`[${this.now - SIM.t0}ms] ${line}`);
  }

  // ──────────────────────────────────────────────────────────── set-up

  /** Authorized grants as they were before the world began, written straight to the store. */
  async seedGrants(): Promise<void> {
    for (const [i, spec] of this.spec.grants.entries()) {
      if (!spec.authorized) continue;
      const grantId = this.grantIds[i] as string;
      const issuedAt = this.now - spec.ageMs;
      const { accessToken, refreshToken } = this.provider.seedChain(grantId, issuedAt);
      const e = this.engine;
      let record: GrantRecord | undefined = e.createGrantRecord({ grantId, client: 'mixi', now: issuedAt });
      record = e.applyGrantEvent(record, {
        type: 'authorization.begin',
        now: issuedAt,
        pending: { stateHash: `seed-${grantId}`, deadline: issuedAt + SIM.codeLifetimeMs, scope: ['r_profile'], redirectUri: SIM.redirectUri, codeVerifier: null, serverState: null },
      });
      // `receivedAt`, `stateHash` and `order` are sent for engines whose machine wants them; others ignore them.
      const complete = {
        type: 'authorization.complete',
        now: issuedAt,
        receivedAt: issuedAt,
        stateHash: `seed-${grantId}`,
        // Stored below as version 1: its callback was accepted "before" that, the lowest order there is.
        order: 1,
        tokens: {
          accessToken: new e.Secret(accessToken.value),
          tokenType: 'Bearer',
          expiresAt: accessToken.expiresAt,
          refreshToken: new e.Secret(refreshToken.value),
          scope: ['r_profile'],
          idToken: null,
        },
      } as Parameters<Engine['applyGrantEvent']>[1];
      record = record && e.applyGrantEvent(record, complete);
      if (!record) throw new Error('could not build a seed record');
      if (!(await this.observed.create('seed', { ...record, version: 1 }))) throw new Error('seed record exists');
    }
  }

  startVaults(): void {
    for (const [index, spec] of this.spec.vaults.entries()) this.slots.push(this.#newSlot(index, 0, spec));
  }

  /** Replaces a crashed process by a new one (fresh memory, new owner id). */
  restart(index: number): VaultSlot | undefined {
    const old = this.slots[index];
    if (!old || !old.crashed) return undefined;
    const slot = this.#newSlot(index, old.incarnation + 1, old.spec);
    this.slots[index] = slot;
    this.log(`restart ${old.name} as ${slot.name}`);
    return slot;
  }

  crash(index: number): void {
    const slot = this.slots[index];
    if (!slot || slot.crashed) return;
    slot.crashed = true;
    slot.crashOrder = this.nextOrder();
    this.log(`crash ${slot.name}`);
  }

  /** A vault that joins for the recovery sweep: no drift, no cache, no retries. */
  recoveryVault(): VaultSlot {
    const slot = this.#newSlot(99, 0, { offsetMs: 0, cache: false, retries: 0 });
    return slot;
  }

  #newSlot(index: number, incarnation: number, spec: VaultSpec): VaultSlot {
    const slot = new VaultSlot(index, incarnation, spec);
    const e = this.engine;
    slot.vault = e.createVault({
      store: vaultStore(this.observed, {
        owner: slot.name,
        gate: (label) => this.gate(slot, label),
        track: (work) => this.#track(work),
        writeFails: () => this.#writeFails(),
        storeError: (message) => new e.StoreError(message),
      }),
      clients: [{ id: 'mixi', provider: e.providers.mixi(), clientId: SIM.clientId, clientSecret: SIM.clientSecret, redirectUri: SIM.redirectUri }],
      fetch: (input, init) => this.#fetch(slot, input, init),
      clock: this.#clockFor(slot),
      owner: slot.name,
      random: (size) => this.#random(slot, size),
      refreshSkewMs: SIM.refreshSkewMs,
      leaseMs: SIM.leaseMs,
      requestTimeoutMs: SIM.requestTimeoutMs,
      pollIntervalMs: SIM.pollIntervalMs,
      cache: spec.cache,
      // The vault's token-endpoint backoff runs on its clock (virtual here): real waits, scaled down.
      retry: { retries: spec.retries, minTimeoutMs: SIM.backoffMs.min, maxTimeoutMs: SIM.backoffMs.max, maxRetryTimeMs: 20_000, maxRetryAfterMs: SIM.maxRetryAfterMs },
      // The executor's backoff and timeouts run on real timers: no backoff, and timeouts real time never reaches.
      executor: { retry: { retries: spec.retries, minTimeoutMs: 0, maxTimeoutMs: 0, maxRetryTimeMs: 20_000, maxRetryAfterMs: SIM.maxRetryAfterMs } },
      logger: {
        debug: () => {},
        info: (_o, msg) => this.log(`${slot.name} info: ${msg ?? ''}`),
        warn: (_o, msg) => this.log(`${slot.name} warn: ${msg ?? ''}`),
        error: (_o, msg) => this.log(`${slot.name} error: ${msg ?? ''}`),
      },
    });
    slot.vault.on('transition', (p) =>
      this.events.push({ order: this.nextOrder(), vault: slot.name, name: 'transition', grantId: p.grantId, version: p.version, to: p.to }),
    );
    slot.vault.on('refreshed', (p) =>
      this.events.push({ order: this.nextOrder(), vault: slot.name, name: 'refreshed', grantId: p.grantId, expiresAt: p.expiresAt }),
    );
    slot.vault.on('reauthRequired', (p) => this.events.push({ order: this.nextOrder(), vault: slot.name, name: 'reauthRequired', grantId: p.grantId }));
    this.allSlots.push(slot);
    return slot;
  }

  // ──────────────────────────────────────────────────────────── scheduling and time

  /** A scheduling point of `slot`: resolves when the scheduler releases it; never once the slot crashed. */
  gate(slot: VaultSlot | null, label: string): Promise<void> {
    if (slot?.crashed) return NEVER;
    return this.s.schedule(Promise.resolve(), label).then(() => (slot?.crashed ? NEVER : undefined));
  }

  advanceTo(t: number): void {
    if (t > this.now) {
      this.natural += t - this.now;
      this.now = t;
    }
  }

  jump(ms: number): void {
    this.now += ms;
    this.log(`clock jumps ${ms}ms`);
  }

  #clockFor(slot: VaultSlot): Clock {
    return {
      now: () => this.now + slot.spec.offsetMs,
      sleep: (ms, signal) => {
        if (signal?.aborted) return Promise.reject(signal.reason);
        const wakeAt = this.now + Math.max(0, ms);
        return new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(signal?.reason);
          signal?.addEventListener('abort', onAbort, { once: true });
          void this.gate(slot, `${slot.name} sleep ${ms}ms`).then(() => {
            signal?.removeEventListener('abort', onAbort);
            this.advanceTo(wakeAt);
            resolve();
          });
        });
      },
    };
  }

  async #track<T>(work: () => Promise<T>): Promise<T> {
    this.#inflight++;
    try {
      return await work();
    } finally {
      this.#inflight--;
    }
  }

  /**
   * Lets everything that can run without the scheduler run: microtasks, and store calls that take
   * real time (SQL adapters).
   */
  async settle(): Promise<void> {
    do await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#inflight > 0);
  }

  /** Releases scheduled steps, one at a time in the scheduler's order, until none is left. */
  async drain(): Promise<void> {
    for (;;) {
      await this.settle();
      if (this.s.count() === 0) return;
      if (++this.steps > SIM.maxSteps) throw new LivelockError(this.steps);
      await this.s.waitNext(1);
    }
  }

  // ──────────────────────────────────────────────────────────── faults

  #writeFails(): boolean {
    const index = this.#writeAttempts++;
    return this.faultsEnabled && this.spec.storeFaults.includes(index);
  }

  #nextTokenFault(): TokenFault | null {
    const index = this.#tokenRequests++;
    if (!this.faultsEnabled) return null;
    const fault = this.spec.tokenFaults[index];
    return fault === undefined || fault === 'ok' ? null : fault;
  }

  #random(slot: VaultSlot, size: number): Uint8Array {
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const block = createHash('sha256').update(`${slot.name}:${this.#randomCounter++}`).digest();
      out.set(block.subarray(0, Math.min(block.length, size - filled)), filled);
      filled += block.length;
    }
    return out;
  }

  // ──────────────────────────────────────────────────────────── the network

  async #fetch(slot: VaultSlot, input: Request | string | URL, init?: RequestInit): Promise<Response> {
    if (slot.crashed) return NEVER;
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init?.headers);
    if (url.startsWith('https://api.mixi-platform.com/')) return this.#apiCall(slot, headers);
    const form = new URLSearchParams(typeof init?.body === 'string' ? init.body : '');
    const grantType = form.get('grant_type') ?? '?';
    const kind = grantType === 'refresh_token' ? 'refresh' : grantType === 'authorization_code' ? 'code' : 'serverState';
    const exchange = this.provider.beginExchange(slot.name, kind, this.now);
    const presented = form.get('refresh_token');
    await this.gate(slot, `${slot.name} → token ${grantType}${presented ? ` ${presented}` : ''}`);
    // A request reaches the provider within the client's timeout or not at all (the client closed the
    // connection): the provider never processes a request its client has given up on.
    const fault = this.now > exchange.sentAt + SIM.requestTimeoutMs ? 'hang' : this.#nextTokenFault();
    let answer: ProviderAnswer | null = null;
    if (fault === 'hang') exchange.fault = 'hang';
    else answer = this.provider.tokenEndpoint(exchange, form, fault);
    this.log(`${slot.name} x${exchange.id} → token ${grantType}${presented ? ` ${presented}` : ''}${fault ? ` [${fault}]` : ''} → ${answer ? answer.status : 'no answer'}`);
    await this.gate(slot, `${slot.name} ← token x${exchange.id}`);
    return this.#deliver(slot, exchange, answer);
  }

  #deliver(slot: VaultSlot, exchange: Exchange, answer: ProviderAnswer | null): Response {
    const deadline = exchange.sentAt + SIM.requestTimeoutMs;
    if (exchange.fault === 'hang' || exchange.fault === 'hangAfterRotate' || this.now > deadline) {
      // The client's timer fires: the time until then passes, then the request is aborted.
      this.advanceTo(deadline);
      exchange.delivery = 'timeout';
      this.log(`${slot.name} ✗ x${exchange.id} timed out`);
      throw new DOMException('the request timed out', 'TimeoutError');
    }
    if (exchange.fault === 'lostAfterRotate' || answer === null) {
      exchange.delivery = 'lost';
      this.log(`${slot.name} ✗ x${exchange.id} connection reset`);
      throw new TypeError('fetch failed', { cause: new Error('ECONNRESET') });
    }
    exchange.delivery = 'delivered';
    exchange.deliveredAt = this.now;
    exchange.deliveredOrder = this.nextOrder();
    return new Response(answer.body.length > 0 ? answer.body : null, { status: answer.status, headers: answer.headers });
  }

  async #apiCall(slot: VaultSlot, headers: Headers): Promise<Response> {
    const authorization = headers.get('authorization');
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '';
    const opId = Number(headers.get('x-sim-op') ?? NaN);
    const op = this.ops[opId];
    if (op) {
      op.apiTokens.push(token);
      if (op.grantId !== null) {
        this.handouts.push({
          order: this.nextOrder(),
          opId,
          vault: slot.name,
          cache: slot.spec.cache,
          grantId: op.grantId,
          token,
          at: this.now,
          floorRank: op.floorRank,
          via: 'api',
        });
      }
    }
    const exchange = this.provider.beginExchange(slot.name, 'api', this.now);
    await this.gate(slot, `${slot.name} → api`);
    if (this.now > exchange.sentAt + SIM.requestTimeoutMs) exchange.fault = 'hang';
    const answer = this.provider.api(authorization);
    this.log(`${slot.name} x${exchange.id} → api ${token} → ${answer.status}`);
    await this.gate(slot, `${slot.name} ← api ${answer.status}`);
    return this.#deliver(slot, exchange, answer);
  }

  // ──────────────────────────────────────────────────────────── calls

  /** How new an access token is: later authorization first, then issued later within it (0: unknown). */
  tokenRank(token: string | null | undefined): number {
    const at = token == null ? undefined : this.provider.accessTokens.get(token);
    return at === undefined ? 0 : (this.provider.chains.get(at.chainId)?.serial ?? 0) * 1e6 + at.serial;
  }

  /** The rank of the access token currently stored for the grant (0 when none). */
  storedRank(grantId: string): number {
    const record = this.observed.shadow.get(grantId);
    const token = record && (record.state === 'authorized' || record.state === 'refreshing') ? record.accessToken?.reveal() : undefined;
    return this.tokenRank(token);
  }

  /** Starts a call on a vault; its outcome is recorded when it settles (never, if the vault crashes). */
  startOp<T>(slot: VaultSlot, kind: OpKind, grantId: string | null, run: (op: Op) => Promise<T>, onValue?: (value: T, op: Op) => void): Op {
    const op: Op = {
      id: this.ops.length,
      vault: slot.name,
      slot,
      kind,
      grantId,
      startOrder: this.nextOrder(),
      startAt: this.now,
      startNatural: this.natural,
      floorRank: grantId === null ? 0 : this.storedRank(grantId),
      status: 'pending',
      error: null,
      endAt: null,
      endNatural: null,
      apiTokens: [],
    };
    this.ops.push(op);
    this.log(`${slot.name} #${op.id} ${kind}(${grantId ?? ''}) starts`);
    let promise: Promise<T>;
    try {
      promise = run(op);
    } catch (e) {
      promise = Promise.reject(e);
    }
    promise.then(
      (value) => {
        op.status = 'ok';
        op.endAt = this.now;
        op.endNatural = this.natural;
        this.log(`${slot.name} #${op.id} ${kind}(${grantId ?? ''}) ok`);
        onValue?.(value, op);
      },
      (error: unknown) => {
        op.status = 'error';
        op.endAt = this.now;
        op.endNatural = this.natural;
        op.error = describe(error);
        this.log(`${slot.name} #${op.id} ${kind}(${grantId ?? ''}) failed: ${op.error.code ?? op.error.name}: ${op.error.message}`);
      },
    );
    return op;
  }

  recordHandout(slot: VaultSlot, op: Op, token: string, via: Handout['via']): void {
    if (op.grantId === null) return;
    this.handouts.push({
      order: this.nextOrder(),
      opId: op.id,
      vault: slot.name,
      cache: slot.spec.cache,
      grantId: op.grantId,
      token,
      at: this.now,
      floorRank: op.floorRank,
      via,
    });
  }
}

export class LivelockError extends Error {
  constructor(steps: number) {
    super(`no quiescence after ${steps} scheduler steps`);
  }
}

function describe(error: unknown): { code: string | undefined; name: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : undefined, name: error.name, message: error.message };
  }
  return { code: undefined, name: typeof error, message: String(error) };
}
