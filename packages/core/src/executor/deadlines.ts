// The global `performance` is a getter on every read in Node 20; the module's export is a plain object.
import { performance } from 'node:perf_hooks';

/**
 * Something with a deadline that a {@link Deadlines} watches: a `vault.fetch` attempt in flight. The
 * node is linked into the watcher's list itself (no entry object per watch).
 */
export abstract class DeadlineNode {
  /** When {@link onDeadline} is due, on `performance.now()`'s clock (ms). Set before `Deadlines.add`. */
  deadlineAt = 0;
  /** @internal The list links; `undefined` when not watched. */
  deadlinePrev: DeadlineNode | undefined = undefined;
  /** @internal */
  deadlineNext: DeadlineNode | undefined = undefined;

  /** Called once, on a timer turn at or after `deadlineAt`, if the node is still watched then (it no longer is). */
  abstract onDeadline(): void;
}

/**
 * One timer for every deadline in flight, instead of a `setTimeout` per attempt.
 *
 * Why: a Node timer per request costs more on an event loop serving real requests than in a tight
 * loop (a `Timeout` object, its closure and async id per call, linked into a timer list that outlives
 * it; the loop's timer handle ref'd and unref'd). Measured with `scripts/bench/executor-ingredients.ts`
 * at concurrency 32 against the loopback server (shared 2-core VM, noisy): plain fetch plus one
 * `setTimeout`/`clearTimeout` per call cost ~3 µs of client CPU per call, and in one run vault.fetch
 * with its per-attempt timer cost 7 µs per call more than vault.fetch with no deadlines at all;
 * without a network (answers on a later turn) the same timer costs under 1 µs.
 *
 * How: watched nodes sit in an intrusive doubly linked list (adding and removing one is a few pointer
 * writes, no allocation). One unref'd timer is armed for a moment no later than the earliest deadline
 * in the list; adding a node re-arms it only when the node's deadline is earlier still, which never
 * happens on the common path (every attempt gets the same timeout, so deadlines arrive in order).
 * Removing a node leaves the timer alone. When the timer fires, every node whose deadline has passed
 * is unlinked and told, and the timer is armed again for the earliest remaining deadline, or not at
 * all when nothing is watched any more. So:
 * - a deadline is noticed on the timer turn for it: as late as a `setTimeout` of its own would be
 *   (whole milliseconds, never early: a node is due only once `performance.now()` has passed its
 *   deadline), never later;
 * - the timer never keeps the process alive (unref'd), holds no node once they are removed, and
 *   stops at its next firing after the list empties — at most one firing per earliest deadline, so
 *   with a steady flow of 10 s attempts it fires about once every 10 s.
 */
export class Deadlines {
  /** Sentinel of the circular list: `deadlineNext` is the oldest node, `deadlinePrev` the newest. */
  readonly #list: DeadlineNode = new Sentinel();
  #size = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The moment the timer is armed for; `Infinity` when it is not armed. */
  #armedAt = Number.POSITIVE_INFINITY;
  readonly #fire = (): void => this.#onTimer();

  constructor() {
    this.#list.deadlinePrev = this.#list;
    this.#list.deadlineNext = this.#list;
  }

  /** Nodes watched now. */
  get size(): number {
    return this.#size;
  }

  /** Whether the timer is armed (it may be, for a little while, with nothing watched). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Watches `node` until its `deadlineAt` (set it first). The node must not be watched already. */
  add(node: DeadlineNode): void {
    const list = this.#list;
    const last = list.deadlinePrev as DeadlineNode;
    node.deadlinePrev = last;
    node.deadlineNext = list;
    last.deadlineNext = node;
    list.deadlinePrev = node;
    this.#size++;
    if (node.deadlineAt < this.#armedAt) this.#arm(node.deadlineAt);
  }

  /** Stops watching `node`; nothing happens if it is not watched (its deadline already came). */
  remove(node: DeadlineNode): void {
    const prev = node.deadlinePrev;
    if (prev === undefined) return;
    const next = node.deadlineNext as DeadlineNode;
    prev.deadlineNext = next;
    next.deadlinePrev = prev;
    node.deadlinePrev = undefined;
    node.deadlineNext = undefined;
    this.#size--;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = at;
    // Whole milliseconds, at least one: a timer may fire a little before `performance.now()` reaches
    // `at` (Node counts from the loop's cached time); the node is then not due yet and is re-armed.
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(at - performance.now())));
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const list = this.#list;
    let due: DeadlineNode[] | undefined;
    let earliest = Number.POSITIVE_INFINITY;
    for (let node = list.deadlineNext as DeadlineNode; node !== list; ) {
      const next = node.deadlineNext as DeadlineNode;
      if (node.deadlineAt <= now) {
        this.remove(node);
        (due ??= []).push(node);
      } else if (node.deadlineAt < earliest) {
        earliest = node.deadlineAt;
      }
      node = next;
    }
    if (earliest !== Number.POSITIVE_INFINITY) this.#arm(earliest);
    // Told after the list and the timer are consistent: a node's reaction may add or remove nodes.
    if (due !== undefined) for (const node of due) node.onDeadline();
  }
}

class Sentinel extends DeadlineNode {
  onDeadline(): void {}
}
