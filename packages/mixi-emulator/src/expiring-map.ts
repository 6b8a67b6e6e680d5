import type { VirtualClock } from './virtual-clock';

/** Anything with an absolute deadline on the virtual clock. */
export interface Expiring {
  readonly expiresAt: number;
}

/**
 * A Map whose entries fall away some time after their deadline. Lookups still see an expired entry
 * for `retainMs`, so the emulator can answer "expired" rather than "unknown"; after that it sweeps
 * them out (every `sweepEvery` inserts, amortised), so abandoned codes and sessions cannot pile up.
 */
export class ExpiringMap<V extends Expiring> {
  readonly #entries = new Map<string, V>();
  readonly #clock: VirtualClock;
  readonly #retainMs: number;
  readonly #sweepEvery: number;
  #insertsSinceSweep = 0;

  constructor(clock: VirtualClock, options: { retainMs?: number; sweepEvery?: number } = {}) {
    this.#clock = clock;
    this.#retainMs = options.retainMs ?? 30 * 60_000;
    this.#sweepEvery = options.sweepEvery ?? 1024;
  }

  /** The entry, expired or not (within the retention window). */
  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  set(key: string, value: V): void {
    this.#entries.set(key, value);
    if (++this.#insertsSinceSweep >= this.#sweepEvery) this.sweep();
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  /** Drops entries whose deadline passed more than `retainMs` ago. */
  sweep(): void {
    this.#insertsSinceSweep = 0;
    const cutoff = this.#clock.now() - this.#retainMs;
    for (const [key, value] of this.#entries) {
      if (value.expiresAt < cutoff) this.#entries.delete(key);
    }
  }
}
