import { randomFillSync } from 'node:crypto';
import { EmulatorError } from './emulator-error';

/** A source of random bytes: `size` fresh bytes per call. Inject one for reproducible tokens. */
export type RandomBytes = (size: number) => Uint8Array;

const POOL_BYTES = 8192;

/**
 * The default random source: fills a pool with `crypto.randomFillSync` and hands out slices, because
 * one system call per token would dominate the refresh hot path. Each emulator owns its pool.
 */
export function pooledRandomBytes(): RandomBytes {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let offset = POOL_BYTES;
  return (size) => {
    if (size > POOL_BYTES) return randomFillSync(Buffer.allocUnsafe(size));
    if (offset + size > POOL_BYTES) {
      randomFillSync(pool);
      offset = 0;
    }
    const slice = pool.subarray(offset, offset + size);
    offset += size;
    return slice;
  };
}

/** Byte lengths of the opaque values the emulator mints (hex doubles them). */
export const TOKEN_BYTES = {
  /** 18 hex characters, like the seed's consumer key `908ed4da74f885a2ab`. */
  clientId: 9,
  clientSecret: 20,
  /** 30 hex characters, like the seed's tokens. */
  accessToken: 15,
  refreshToken: 15,
  code: 16,
  serverState: 16,
  session: 18,
  csrf: 18,
  consentRequest: 12,
  confirmation: 16,
  userId: 5,
} as const;

/** Mints opaque hex values from a {@link RandomBytes} source. */
export class TokenGenerator {
  readonly #random: RandomBytes;

  constructor(random: RandomBytes) {
    this.#random = random;
  }

  /** `bytes` random bytes as lower-case hex. */
  hex(bytes: number): string {
    const raw = this.#random(bytes);
    if (raw.length !== bytes) {
      throw new EmulatorError('invalid_option', `the random source returned ${raw.length} bytes, ${bytes} were asked for`, { field: 'randomBytes' });
    }
    return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
  }

  /**
   * A hex value not already taken. A real random source never collides; an injected, deterministic one
   * might, and looping forever on it would hang the caller.
   */
  unique(bytes: number, taken: (value: string) => boolean): string {
    for (let attempt = 0; attempt < 8; attempt++) {
      const value = this.hex(bytes);
      if (!taken(value)) return value;
    }
    throw new EmulatorError('random_exhausted', 'the random source keeps repeating values already in use', { field: 'randomBytes' });
  }
}
