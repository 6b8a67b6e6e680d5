/**
 * At most `permits` holders at once; the rest wait in arrival order. Each `acquire` resolves to a
 * release function, safe to call more than once.
 *
 * Why not p-limit: it runs one function under the limit, and the vault holds a permit across the
 * turns of a loop (it lets go while it waits for another process's refresh, then asks again).
 *
 * @example
 * const release = await semaphore.acquire();
 * try { await refresh(); } finally { release(); }
 */
export class Semaphore {
  readonly #permits: number;
  #held = 0;
  readonly #waiting: (() => void)[] = [];
  #head = 0;

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError('a semaphore needs at least one permit');
    this.#permits = permits;
  }

  /** Holders now. */
  get held(): number {
    return this.#held;
  }

  /** Callers waiting for a permit now. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** A permit now if one is free (its release function), else undefined. Never waits. */
  tryAcquire(): (() => void) | undefined {
    if (this.#held >= this.#permits) return undefined;
    this.#held++;
    return this.#releaser();
  }

  acquire(): Promise<() => void> {
    const now = this.tryAcquire();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      this.#waiting.push(() => resolve(this.#releaser()));
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting[this.#head];
      if (next === undefined) {
        this.#held--;
        return;
      }
      // The permit passes straight to the next in line: nobody can slip in between.
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting.splice(0, this.#head);
        this.#head = 0;
      }
      next();
    };
  }
}
