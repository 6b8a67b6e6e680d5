import { EmulatorError } from './emulator-error';

/** Options of {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** The underlying time source, epoch ms. Default `Date.now`; pass `() => 0` for a frozen clock. */
  readonly source?: () => number;
  /** Where the virtual clock starts, epoch ms. Default: the source's current time. */
  readonly startAt?: number;
}

/**
 * The emulator's notion of "now": real time (or an injected source) plus an offset that tests move
 * forward, so nobody waits 15 minutes for an access token to expire. Every lifetime in the emulator
 * (codes, access and refresh tokens, server_state, consent requests) reads this clock.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * clock.advance(15 * 60_000); // every access token issued before now is expired
 * ```
 */
export class VirtualClock {
  readonly #source: () => number;
  #offsetMs: number;

  constructor(options: VirtualClockOptions = {}) {
    this.#source = options.source ?? Date.now;
    this.#offsetMs = options.startAt === undefined ? 0 : finiteTime(options.startAt, 'startAt') - this.#source();
  }

  /** The current virtual time, epoch ms. */
  now(): number {
    return this.#source() + this.#offsetMs;
  }

  /** How far the virtual clock is ahead of (or behind) its source, ms. */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** Moves the clock forward by `ms` (≥ 0) and returns the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new EmulatorError('invalid_input', 'advance(ms) needs a finite, non-negative number of milliseconds', { field: 'ms' });
    }
    this.#offsetMs += ms;
    return this.now();
  }

  /** Sets the clock to `epochMs` (it keeps running from there) and returns it. */
  set(epochMs: number): number {
    this.#offsetMs = finiteTime(epochMs, 'now') - this.#source();
    return this.now();
  }
}

function finiteTime(value: number, field: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new EmulatorError('invalid_input', `${field} must be a finite, non-negative epoch time in ms`, { field });
  }
  return value;
}
