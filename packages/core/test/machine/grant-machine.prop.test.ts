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

describe('grant machine invariants under random event sequences', () => {
  it('hold for every reachable record', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let now = T0;
        let record = createGrantRecord({ grantId: 'g', client: 'mixi', now });
        let n = 0;
        for (const { wait, pick } of steps) {
          now += wait;
          const events = everyEvent(now, ++n);
          const event = events[pick % events.length]!;
          const next = applyGrantEvent(record, event);
          if (next === undefined) continue;
          check(next, record, event);
          record = next;
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('applyGrantEvent (one shared inert scope) agrees with XState\'s own transition', () => {
  it('gives the same next state and context for random records and events', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        let now = T0;
        let record = createGrantRecord({ grantId: 'g', client: 'mixi', now });
        let n = 0;
        for (const { wait, pick } of steps) {
          now += wait;
          const events = everyEvent(now, ++n);
          const event = events[pick % events.length]!;
          const { state, version, ...context } = record;
          const [reference] = transition(grantMachine, grantMachine.resolveState({ value: state, context }), event);
          const next = applyGrantEvent(record, event);
          if (next === undefined) {
            expect(reference.context).toEqual(context);
            expect(reference.value).toBe(state);
            continue;
          }
          expect(next.state).toBe(reference.value);
          expect({ ...next, state: undefined, version: undefined }).toEqual({ ...reference.context, state: undefined, version: undefined });
          expect(next.version).toBe(version + 1);
          record = next;
        }
      }),
      { numRuns: 500 },
    );
  });
});
