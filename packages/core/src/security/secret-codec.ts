import type { RekeyWorkers } from './rekey-workers';

/**
 * Where a stored secret lives: passed to the codec as associated data, so an encrypting codec can bind
 * each ciphertext to its place (a token copied into another grant's row then fails to decrypt).
 */
export interface SecretLocation {
  /** The logical table, `grants` or `clients` (without a table prefix, which may change). */
  readonly table: 'grants' | 'clients';
  /** The column, e.g. `access_token`, `refresh_token`, `pending_code_verifier`, `client_secret`. */
  readonly column: string;
  /** The row's key: the grant id or the client id. */
  readonly key: string;
}

/**
 * Turns each secret into what a persistent store keeps in its column, and back. Stores pass every
 * secret column through it (access, refresh and id tokens, the PKCE verifier, mixi's `server_state`,
 * the client secret). {@link aesGcmCodec} is the one tokenvault ships.
 *
 * `decode` must throw when a stored value is not its own (tampered, wrong key, moved between rows):
 * the store then reports the row as a `CorruptRecordError`. Neither method may put the plaintext in
 * what it throws.
 *
 * @example
 * const codec: SecretCodec = aesGcmCodec({ keys: process.env.TOKENVAULT_KEYS });
 * const store = sqliteStore({ filename: 'tokenvault.db', encryption: { codec } });
 */
export interface SecretCodec {
  encode(plain: string, at: SecretLocation): string;
  decode(stored: string, at: SecretLocation): string;
  /**
   * Whether `stored` should be written again by `rekey`: it is under a key other than the active one,
   * or not encrypted at all. Optional: without it, `rekey` re-encodes every value.
   */
  needsRekey?(stored: string): boolean;
  /**
   * Starts `threads` worker threads that do what `decode` then `encode` do, in batches, for `rekey`
   * of large tables. Optional: without it, `rekey` re-encodes on the calling thread. The caller
   * closes what it gets.
   */
  startRekeyWorkers?(threads: number): RekeyWorkers;
}

/**
 * `grants/access_token/alice`: a location as text, the associated data of {@link aesGcmCodec} and the
 * way errors name where a value was read. Unambiguous: tables and columns never contain `/`.
 */
export function formatSecretLocation(at: SecretLocation): string {
  return `${at.table}/${at.column}/${at.key}`;
}
