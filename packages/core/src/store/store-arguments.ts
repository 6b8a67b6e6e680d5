import { InvalidArgumentError } from '../errors/errors';
import { GRANT_STATES, type GrantFilter, type GrantRecord, type GrantState } from './grant-store';

/**
 * Argument checks every store runs before touching its data, so that a bad call fails the same way
 * (an {@link InvalidArgumentError}) whichever adapter is behind the contract.
 */

/**
 * Checks a point in time passed to a listing (`listDue(beforeMs)`, `listExpiredLeases(nowMs)`):
 * an integer number of epoch milliseconds, as stored.
 */
export function assertEpochMs(value: number, name: string): void {
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`"${name}" must be an integer number of epoch milliseconds`);
}

/**
 * The compare-and-set version rule: `expectedVersion` is a stored version (an integer ≥ 1) and
 * `next.version` is exactly one more. Breaking it is a programming error, not a lost race.
 *
 * @example
 * assertNextVersion({ ...record, version: record.version + 2 }, record.version); // InvalidArgumentError
 */
export function assertNextVersion(next: GrantRecord, expectedVersion: number): void {
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1) {
    throw new InvalidArgumentError('"expectedVersion" must be an integer of at least 1');
  }
  if (next.version !== expectedVersion + 1) {
    throw new InvalidArgumentError('compare-and-set needs "next.version" to be exactly "expectedVersion + 1"');
  }
}

/**
 * The version rule of `create`: a new grant starts at any safe positive integer. The vault starts a
 * grant at a random version in [2^52, 2^52 + 2^51), so a grant deleted and created again (even in the
 * same millisecond) meets a version its previous life had only with negligible probability: a stale
 * writer's compare-and-set from before the delete does not succeed (no ABA).
 */
export function assertFirstVersion(record: GrantRecord): void {
  if (!Number.isSafeInteger(record.version) || record.version < 1) {
    throw new InvalidArgumentError('a new grant must have a positive integer "version"');
  }
}

/** Checks the optional version of `delete`. */
export function assertOptionalVersion(expectedVersion: number | undefined): void {
  if (expectedVersion !== undefined && (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1)) {
    throw new InvalidArgumentError('"expectedVersion" must be an integer of at least 1, or absent');
  }
}

/** A key argument (`grantId`, client `id`, `stateHash`) must be a string. */
export function assertKeyArgument(value: string, name: string): void {
  if (typeof value !== 'string') throw new InvalidArgumentError(`"${name}" must be a string`);
}

/** A {@link GrantFilter} with its `state` as a list (or undefined for "any state"). */
export interface NormalizedGrantFilter {
  /** The states to match; empty matches nothing. Undefined matches every state. */
  readonly states: readonly GrantState[] | undefined;
  readonly client: string | undefined;
}

/**
 * Checks a filter and turns its `state` into a list.
 *
 * @example
 * normalizeGrantFilter({ state: 'authorized' }); // { states: ['authorized'], client: undefined }
 */
export function normalizeGrantFilter(filter: GrantFilter): NormalizedGrantFilter {
  if (typeof filter !== 'object' || filter === null) throw new InvalidArgumentError('the grant filter must be an object');
  const raw = filter.state;
  const states: readonly unknown[] | undefined = raw === undefined ? undefined : Array.isArray(raw) ? raw : [raw];
  if (states !== undefined) {
    for (const s of states) {
      if (!(GRANT_STATES as readonly unknown[]).includes(s)) {
        throw new InvalidArgumentError(`filter "state" must be one of ${GRANT_STATES.join(', ')} (or a list of them)`);
      }
    }
  }
  if (filter.client !== undefined && typeof filter.client !== 'string') {
    throw new InvalidArgumentError('filter "client" must be a string');
  }
  return { states: states as readonly GrantState[] | undefined, client: filter.client };
}
