/**
 * Where a stored secret lives: passed to the codec as associated data, so an encrypting codec can bind
 * each ciphertext to its place (a token copied into another grant's row then fails to decrypt).
 */
export interface SecretLocation {
  /** The logical table, `grants` or `clients` (without the table prefix, which may change). */
  readonly table: 'grants' | 'clients';
  /** The column, e.g. `access_token`, `refresh_token`, `pending_code_verifier`, `client_secret`. */
  readonly column: string;
  /** The row's key: the grant id or the client id. */
  readonly key: string;
}

/**
 * Turns each secret into what is stored in its column, and back. Every secret column goes through it
 * (access, refresh and id tokens, the PKCE verifier, mixi's `server_state`, the client secret).
 * Without a codec, secrets are stored as they are and the hot read path makes no calls at all.
 *
 * `decode` must throw when a stored value is not its own (tampered, wrong key, moved between rows):
 * the store then reports the row as a `CorruptRecordError`.
 *
 * @example
 * const codec: SecretCodec = {
 *   encode: (plain, at) => aesGcmSeal(key, plain, `${at.table}/${at.column}/${at.key}`),
 *   decode: (stored, at) => aesGcmOpen(key, stored, `${at.table}/${at.column}/${at.key}`),
 * };
 * const store = sqliteStore({ filename: 'tokenvault.db', codec });
 */
export interface SecretCodec {
  encode(plain: string, at: SecretLocation): string;
  decode(stored: string, at: SecretLocation): string;
}
