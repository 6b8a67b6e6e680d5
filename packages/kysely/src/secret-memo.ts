import type { Secret } from '@tokenvault/core';
import type { SecretCodec, SecretLocation } from './secret-codec';

/**
 * The stored (encrypted) form of the secrets a store has just read or written, so that a write which
 * keeps a secret as it was stores the same text again instead of encrypting it anew.
 *
 * Most writes keep the tokens: taking a refresh lease, releasing it after a failure, recording an
 * error, beginning an authorization beside working tokens. Records are immutable and a write builds
 * the next one from the previous, so an unchanged token is the very same `Secret` object; with AES-GCM
 * each encryption costs about 8 µs, and a lease write used to encrypt two tokens for nothing.
 *
 * Safe because a stored text is reused only for the same `Secret` at the same location (table, column
 * and row are bound into the ciphertext as associated data), and only while the codec would not move
 * it to another key (`needsRekey`), so a write never brings back a key that `rekey` retired. Entries
 * live exactly as long as their `Secret` (a WeakMap): nothing is kept for grants this process let go.
 */
export class SecretMemo {
  readonly #codec: SecretCodec;
  readonly #stored = new WeakMap<Secret, { readonly at: string; readonly text: string }>();

  constructor(codec: SecretCodec) {
    this.#codec = codec;
  }

  /** Remembers that `secret` is stored as `text` at `at`. */
  remember(secret: Secret, at: SecretLocation, text: string): void {
    this.#stored.set(secret, { at: locationKey(at), text });
  }

  /** The text `secret` is stored as at `at`, when it can be written again as it is. */
  storedText(secret: Secret, at: SecretLocation): string | undefined {
    const entry = this.#stored.get(secret);
    if (entry === undefined || entry.at !== locationKey(at)) return undefined;
    return this.#codec.needsRekey?.(entry.text) === true ? undefined : entry.text;
  }
}

function locationKey(at: SecretLocation): string {
  return `${at.table}\u0000${at.column}\u0000${at.key}`;
}
