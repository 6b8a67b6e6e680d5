/**
 * Canary secrets for the leak tests: every token, code, `server_state` and client secret the mixi
 * emulator mints, and every state and PKCE verifier a vault draws, is recorded as it is made, so a test
 * can search all it captured (and the database itself) for each of them, whole or in part.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

/** The emulator's byte lengths for secrets (tokens 15, codes and server_state 16, client secrets 20). */
const EMULATOR_SECRET_SIZES = new Set([15, 16, 20]);

export interface LeakHit {
  readonly where: string;
  readonly canary: string;
}

export class Canaries {
  readonly #values = new Set<string>();

  /** Every canary recorded so far. */
  get values(): readonly string[] {
    return [...this.#values];
  }

  /** Records a value made elsewhere (a session id, a secret typed in). */
  add(value: string): string {
    this.#values.add(value);
    return value;
  }

  /** A fresh canary string: recognisable, random, never printed by a correct program. */
  word(label: string): string {
    return this.add(`canary-${label}-${randomBytes(12).toString('hex')}`);
  }

  /** The emulator's `randomBytes` option: real random bytes, the secret-sized ones recorded (as hex, how it prints them). */
  readonly emulatorRandom = (size: number): Uint8Array => {
    const bytes = randomBytes(size);
    if (EMULATOR_SECRET_SIZES.has(size)) this.#values.add(bytes.toString('hex'));
    return bytes;
  };

  /** A vault's `random` option: states (16 bytes) and PKCE verifiers (32) recorded as the vault encodes them. */
  readonly vaultRandom = (size: number): Uint8Array => {
    const bytes = randomBytes(size);
    if (size >= 16) this.#values.add(bytes.toString('base64url'));
    return bytes;
  };

  /**
   * Where any canary appears in `texts`, whole or by its first 16 characters (a truncated or split
   * value still counts).
   */
  scan(texts: readonly { readonly where: string; readonly text: string }[]): LeakHit[] {
    const hits: LeakHit[] = [];
    for (const { where, text } of texts) {
      for (const canary of this.#values) {
        if (text.includes(canary) || text.includes(canary.slice(0, 16))) hits.push({ where, canary });
      }
    }
    return hits;
  }
}

/** Everything a thrown value shows a person or a log: String, JSON, inspect (hidden fields too), stack — for it and each cause. */
export function thrownText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    parts.push(String(current), safeJson(current), inspect(current, { depth: 10, showHidden: true }));
    if (current instanceof Error) parts.push(current.stack ?? '');
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\n');
}

export function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch (e) {
    return `<unserialisable: ${(e as Error).message}>`;
  }
}
