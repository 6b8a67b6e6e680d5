import fc from 'fast-check';
import { transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { applyGrantEvent, createGrantRecord, grantMachine, type GrantEvent } from '../../src/machine/grant-machine';
import type { GrantRecord } from '../../src/store/grant-store';
import { everyEvent } from './fixtures';

const T0 = 1_700_000_000_000;

/** A step: wait some time (monotonic clock), then offer one event of every type, picked by index. */
const step = fc.record({ wait: fc.integer({ min: 0, max: 200_000 }), pick: fc.nat({ max: 1_000 }) });

function check(record: GrantRecord, previous: GrantRecord, event: GrantEvent): void {
  // A refreshing grant always has a lease; a lease exists only while refreshing.
  expect(record.state === 'refreshing').toBe(record.lease !== null);
  // reauthRequired carries a reason, and only that state does.
  expect(record.state === 'reauthRequired').toBe(record.reauthReason !== null);
  // reauthRequired is reached only by a definitive rejection.
  if (record.state === 'reauthRequired' && previous.state !== 'reauthRequired') {
    expect(['refresh.reject', 'token.reject']).toContain(event.type);
  }
  // A pending authorization lives in awaitingCode, or beside working tokens (a scope upgrade);
  // an unauthorized grant has none.
  // (It also survives a grant's death, so a consent given meanwhile can still complete.)
  if (record.pending !== null) expect(['awaitingCode', 'authorized', 'refreshing', 'reauthRequired']).toContain(record.state);
  if (record.state === 'awaitingCode') expect(record.pending).not.toBeNull();
  // An authorized grant always has an access token.
  if (record.state === 'authorized' || record.state === 'refreshing') expect(record.accessToken).not.toBeNull();
  // Versions go up by exactly one per accepted event; time never goes backwards.
  expect(record.version).toBe(previous.version + 1);
  expect(record.updatedAt).toBeGreaterThanOrEqual(previous.updatedAt);
  // A transient failure never loses a refresh token.
  if (event.type === 'refresh.fail' || event.type === 'refresh.clientReject') {
    expect(record.refreshToken).toBe(previous.refreshToken);
  }
}

/**
 * Replays random steps from a fresh grant: each waits (a monotonic clock), then offers one event of
 * every type, picked by index. `visit` sees each event with the record before it and the record after
 * it (undefined when the event does not apply); the walk goes on from the record after.
 */
function replay(steps: readonly { wait: number; pick: number }[], visit: (before: GrantRecord, event: GrantEvent, after: GrantRecord | undefined) => void): void {
  let now = T0;
  let record = createGrantRecord({ grantId: 'g', client: 'mixi', now });
  let n = 0;
  for (const { wait, pick } of steps) {
    now += wait;
    const events = everyEvent(now, ++n);
    const event = events[pick % events.length]!;
    const next = applyGrantEvent(record, event);
    visit(record, event, next);
    if (next !== undefined) record = next;
  }
}

describe('grant machine invariants under random event sequences', () => {
  it('hold for every reachable record', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) =>
        replay(steps, (before, event, after) => {
          if (after !== undefined) check(after, before, event);
        }),
      ),
      { numRuns: 1_000 },
    );
  });
});

describe("applyGrantEvent (one shared inert scope) agrees with XState's own transition", () => {
  it('gives the same next state and context for random records and events', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) =>
        replay(steps, (before, event, after) => {
          const { state, version, ...context } = before;
          const [reference] = transition(grantMachine, grantMachine.resolveState({ value: state, context }), event);
          if (after === undefined) {
            expect(reference.value).toBe(state);
            expect(reference.context).toEqual(context);
            return;
          }
          expect(after.state).toBe(reference.value);
          const { state: _s, version: nextVersion, ...nextContext } = after;
          expect(nextContext).toEqual(reference.context);
          expect(nextVersion).toBe(version + 1);
        }),
      ),
      { numRuns: 500 },
    );
  });
});
