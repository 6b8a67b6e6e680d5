import { describe, expect, it } from 'vitest';
import type { SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { applyGrantEvent, createGrantRecord, grantMachine, type GrantEvent } from '../../src/machine/grant-machine';
import type { GrantRecord, GrantState } from '../../src/store/grant-store';
import { everyEvent, OWNER_A, OWNER_B, pending, tokens } from './fixtures';

type GrantSnapshot = SnapshotFrom<typeof grantMachine>;

const T0 = 1_700_000_000_000;

function run(events: GrantEvent[]): GrantRecord {
  let record = createGrantRecord({ grantId: 'g1', client: 'mixi', now: T0 });
  for (const event of events) {
    const next = applyGrantEvent(record, event);
    if (!next) throw new Error(`${event.type} was refused in ${record.state}`);
    record = next;
  }
  return record;
}

function authorized(): GrantRecord {
  return run([
    { type: 'authorization.begin', now: T0, pending: pending(T0) },
    { type: 'authorization.complete', now: T0 + 1000, receivedAt: T0 + 1000, tokens: tokens(1, T0 + 1000), stateHash: pending(T0).stateHash, order: 2 },
  ]);
}

describe('grant machine', () => {
  it('starts unauthorized at version 1 with empty context', () => {
    const record = createGrantRecord({ grantId: 'g1', client: 'mixi', now: T0 });
    expect(record).toMatchObject({ state: 'unauthorized', version: 1, grantId: 'g1', client: 'mixi', accessToken: null, lease: null, createdAt: T0 });
    expect(Object.isFrozen(record)).toBe(true);
  });

  it('walks the whole happy path and bumps the version by one per step', () => {
    const a = authorized();
    expect(a.state).toBe('authorized');
    expect(a.version).toBe(3);
    expect(a.pending).toBeNull();
    expect(a.accessToken?.reveal()).toBe('access-1');
    expect(a.accessTokenExpiresAt).toBe(T0 + 1000 + 900_000);
    const leased = applyGrantEvent(a, { type: 'refresh.start', now: T0 + 2000, owner: OWNER_A, leaseUntil: T0 + 32_000 })!;
    expect(leased).toMatchObject({ state: 'refreshing', version: 4, lease: { owner: OWNER_A, until: T0 + 32_000 } });
    const refreshed = applyGrantEvent(leased, { type: 'refresh.succeed', now: T0 + 3000, owner: OWNER_A, tokens: tokens(2, T0 + 3000) })!;
    expect(refreshed).toMatchObject({ state: 'authorized', version: 5, lease: null, lastError: null });
    expect(refreshed.refreshToken?.reveal()).toBe('refresh-2');
  });

  it('keeps the old refresh token when the answer has none', () => {
    const leased = applyGrantEvent(authorized(), { type: 'refresh.start', now: T0 + 2000, owner: OWNER_A, leaseUntil: T0 + 32_000 })!;
    const refreshed = applyGrantEvent(leased, {
      type: 'refresh.succeed',
      now: T0 + 3000,
      owner: OWNER_A,
      tokens: tokens(2, T0 + 3000, { refresh: false }),
    })!;
    expect(refreshed.accessToken?.reveal()).toBe('access-2');
    expect(refreshed.refreshToken?.reveal()).toBe('refresh-1');
  });

  it('refuses a refresh result from someone who does not hold the lease', () => {
    const leased = applyGrantEvent(authorized(), { type: 'refresh.start', now: T0 + 2000, owner: OWNER_A, leaseUntil: T0 + 32_000 })!;
    expect(applyGrantEvent(leased, { type: 'refresh.succeed', now: T0 + 3000, owner: OWNER_B, tokens: tokens(2, T0) })).toBeUndefined();
    expect(applyGrantEvent(leased, { type: 'refresh.reject', now: T0 + 3000, owner: OWNER_B, error: { code: 'x', message: 'x' } })).toBeUndefined();
  });

  it('lets a lease be taken over only after its deadline', () => {
    const leased = applyGrantEvent(authorized(), { type: 'refresh.start', now: T0 + 2000, owner: OWNER_A, leaseUntil: T0 + 32_000 })!;
    expect(applyGrantEvent(leased, { type: 'refresh.start', now: T0 + 31_999, owner: OWNER_B, leaseUntil: T0 + 70_000 })).toBeUndefined();
    const taken = applyGrantEvent(leased, { type: 'refresh.start', now: T0 + 32_000, owner: OWNER_B, leaseUntil: T0 + 62_000 })!;
    expect(taken.lease).toEqual({ owner: OWNER_B, until: T0 + 62_000 });
    // The old owner's late answer no longer counts.
    expect(applyGrantEvent(taken, { type: 'refresh.succeed', now: T0 + 33_000, owner: OWNER_A, tokens: tokens(9, T0) })).toBeUndefined();
  });

  it('records a transient failure without losing the tokens', () => {
    const leased = applyGrantEvent(authorized(), { type: 'refresh.start', now: T0 + 2000, owner: OWNER_A, leaseUntil: T0 + 32_000 })!;
    const failed = applyGrantEvent(leased, {
      type: 'refresh.fail',
      now: T0 + 3000,
      owner: OWNER_A,
      error: { code: 'provider_unavailable', message: 'the provider answered 503' },
      retryAt: T0 + 8000,
    })!;
    expect(failed.state).toBe('authorized');
    expect(failed.accessToken?.reveal()).toBe('access-1');
    expect(failed.refreshToken?.reveal()).toBe('refresh-1');
    expect(failed.lastError).toEqual({ code: 'provider_unavailable', message: 'the provider answered 503', at: T0 + 3000, retryAt: T0 + 8000 });
  });

  it('goes to reauthRequired on a definitive rejection and drops the dead tokens', () => {
    const leased = applyGrantEvent(authorized(), { type: 'refresh.start', now: T0 + 2000, owner: OWNER_A, leaseUntil: T0 + 32_000 })!;
    const dead = applyGrantEvent(leased, { type: 'refresh.reject', now: T0 + 3000, owner: OWNER_A, error: { code: 'invalid_grant', message: 'no' } })!;
    expect(dead).toMatchObject({ state: 'reauthRequired', reauthReason: 'refresh_token_rejected', accessToken: null, refreshToken: null, lease: null });
    const again = applyGrantEvent(dead, { type: 'authorization.begin', now: T0 + 4000, pending: pending(T0 + 4000, 2) })!;
    expect(again).toMatchObject({ state: 'awaitingCode', reauthReason: null });
  });

  it('keeps tokens on invalid_client', () => {
    const leased = applyGrantEvent(authorized(), { type: 'refresh.start', now: T0 + 2000, owner: OWNER_A, leaseUntil: T0 + 32_000 })!;
    const rejected = applyGrantEvent(leased, { type: 'refresh.clientReject', now: T0 + 3000, owner: OWNER_A, error: { code: 'invalid_client', message: 'no' } })!;
    expect(rejected.state).toBe('authorized');
    expect(rejected.refreshToken?.reveal()).toBe('refresh-1');
    expect(rejected.lastError?.code).toBe('invalid_client');
  });

  it('refuses a code completed after the deadline', () => {
    const waiting = run([{ type: 'authorization.begin', now: T0, pending: pending(T0) }]);
    const hash = pending(T0).stateHash;
    expect(applyGrantEvent(waiting, { type: 'authorization.complete', now: T0 + 180_001, receivedAt: T0 + 180_001, tokens: tokens(1, T0), stateHash: hash, order: 2 })).toBeUndefined();
    expect(applyGrantEvent(waiting, { type: 'authorization.complete', now: T0 + 190_000, receivedAt: T0 + 180_000, tokens: tokens(1, T0), stateHash: hash, order: 2 })?.state).toBe('authorized');
  });

  it('lets an authorized grant ask for a wider scope while its tokens keep working', () => {
    const upgrading = applyGrantEvent(authorized(), { type: 'authorization.begin', now: T0 + 5000, pending: { ...pending(T0 + 5000, 3), scope: ['r_profile', 'r_voice'] } })!;
    expect(upgrading.state).toBe('authorized');
    expect(upgrading.accessToken?.reveal()).toBe('access-1');
    expect(upgrading.pending?.scope).toEqual(['r_profile', 'r_voice']);
    const denied = applyGrantEvent(upgrading, { type: 'authorization.fail', now: T0 + 6000, error: { code: 'access_denied', message: 'no' } })!;
    expect(denied).toMatchObject({ state: 'authorized', pending: null });
    expect(denied.accessToken?.reveal()).toBe('access-1');
  });

  describe('two authorizations whose code exchanges finish in either order (bug G′)', () => {
    // A is begun and its callback accepted (order 2); then B is begun (replacing A's pending state).
    const first = pending(T0, 1);
    const second = pending(T0 + 10, 2);
    const completeFirst = (now: number): GrantEvent => ({ type: 'authorization.complete', now, receivedAt: T0 + 1, tokens: tokens(1, now), stateHash: first.stateHash, order: 2 });
    const completeSecond = (now: number, order: number): GrantEvent => ({ type: 'authorization.complete', now, receivedAt: T0 + 11, tokens: tokens(2, now), stateHash: second.stateHash, order });
    const bothBegun = () => run([
      { type: 'authorization.begin', now: T0, pending: first },
      { type: 'authorization.begin', now: T0 + 10, pending: second },
    ]);

    it('stores the older one while the newer is still pending, and keeps the newer pending', () => {
      const a = applyGrantEvent(bothBegun(), completeFirst(T0 + 20))!;
      expect(a).toMatchObject({ state: 'authorized', authorizationOrder: 2 });
      expect(a.accessToken?.reveal()).toBe('access-1');
      expect(a.pending?.stateHash).toBe(second.stateHash);
      const b = applyGrantEvent(a, completeSecond(T0 + 30, 4))!;
      expect(b).toMatchObject({ state: 'authorized', authorizationOrder: 4, pending: null });
      expect(b.accessToken?.reveal()).toBe('access-2');
    });

    it('refuses the older one once the newer has completed, whatever the state', () => {
      const b = applyGrantEvent(bothBegun(), completeSecond(T0 + 20, 4))!;
      expect(b).toMatchObject({ state: 'authorized', authorizationOrder: 4 });
      expect(applyGrantEvent(b, completeFirst(T0 + 30))).toBeUndefined();
      // Still refused after the newer tokens were refreshed, or the grant died.
      const leased = applyGrantEvent(b, { type: 'refresh.start', now: T0 + 40, owner: OWNER_A, leaseUntil: T0 + 70_000 })!;
      const refreshed = applyGrantEvent(leased, { type: 'refresh.succeed', now: T0 + 50, owner: OWNER_A, tokens: tokens(3, T0 + 50) })!;
      expect(refreshed.authorizationOrder).toBe(4);
      expect(applyGrantEvent(refreshed, completeFirst(T0 + 60))).toBeUndefined();
      const dead = applyGrantEvent(refreshed, { type: 'token.reject', now: T0 + 70, reason: 'token_revoked' })!;
      expect(applyGrantEvent(dead, completeFirst(T0 + 80))).toBeUndefined();
    });

    it('stores the older one when the newer failed (the user denied it)', () => {
      const denied = applyGrantEvent(bothBegun(), { type: 'authorization.fail', now: T0 + 20, error: { code: 'access_denied', message: 'no' } })!;
      expect(denied.state).toBe('unauthorized');
      expect(applyGrantEvent(denied, completeFirst(T0 + 30))).toMatchObject({ state: 'authorized', authorizationOrder: 2 });
    });

    it('imported tokens keep the order of the authorization they replace', () => {
      const b = applyGrantEvent(bothBegun(), completeSecond(T0 + 20, 4))!;
      const imported = applyGrantEvent(b, { type: 'tokens.import', now: T0 + 30, tokens: tokens(9, T0 + 30) })!;
      expect(imported.authorizationOrder).toBe(4);
    });
  });

  it('round-trips a persisted record through JSON-like copies', () => {
    const record = applyGrantEvent(authorized(), { type: 'refresh.start', now: T0 + 2000, owner: OWNER_A, leaseUntil: T0 + 32_000 })!;
    // A store hands back a structurally equal copy, not the same object.
    const copy: GrantRecord = { ...record, scope: [...record.scope], lease: { ...record.lease! } };
    const a = applyGrantEvent(record, { type: 'refresh.succeed', now: T0 + 3000, owner: OWNER_A, tokens: tokens(2, T0 + 3000) });
    const b = applyGrantEvent(copy, { type: 'refresh.succeed', now: T0 + 3000, owner: OWNER_A, tokens: tokens(2, T0 + 3000) });
    expect(b).toEqual(a);
  });

  it('reaches every state and takes every transition of the definition (graph walk)', () => {
    let clock = T0;
    const traversal = {
      input: { grantId: 'g1', client: 'mixi', now: T0 },
      events: (snapshot: GrantSnapshot) => {
        const now = (clock += 1000);
        // Also offer a time past the current lease, so a takeover is reachable.
        const late = snapshot.context.lease ? snapshot.context.lease.until : now;
        return [
          ...everyEvent(now, now),
          { type: 'refresh.start', now: late, owner: OWNER_B, leaseUntil: late + 30_000 } as GrantEvent,
          { type: 'refresh.abandon', now: late } as GrantEvent,
        ];
      },
      serializeState: (snapshot: GrantSnapshot) =>
        JSON.stringify([snapshot.value, snapshot.context.lease?.owner ?? null, snapshot.context.pending !== null, snapshot.context.refreshToken !== null]),
      serializeEvent: (event: GrantEvent) => `${event.type}:${'owner' in event ? event.owner : ''}:${event.now}`,
    };
    const paths = getShortestPaths(grantMachine, traversal as never);
    const reached = new Set(paths.map((p) => p.state.value as GrantState));
    expect([...reached].sort()).toEqual(['authorized', 'awaitingCode', 'reauthRequired', 'refreshing', 'unauthorized']);

    // Every (state, event type) pair the definition declares is taken by some edge of the state graph.
    const declared = new Set<string>();
    for (const [state, node] of Object.entries(grantMachine.config.states ?? {})) {
      for (const eventType of Object.keys((node as { on?: object }).on ?? {})) declared.add(`${state} ${eventType}`);
    }
    const taken = new Set<string>();
    for (const edge of adjacencyMapToArray(getAdjacencyMap(grantMachine, traversal as never))) {
      const from = edge.state as { value: string; context: unknown };
      const to = edge.nextState as { context: unknown };
      if (to.context !== from.context) taken.add(`${from.value} ${(edge.event as GrantEvent).type}`);
    }
    expect([...declared].filter((t) => !taken.has(t))).toEqual([]);
    expect([...taken].filter((t) => !declared.has(t))).toEqual([]);
  });
});
