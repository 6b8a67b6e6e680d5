import { aesGcmCodec, type EncryptionKey, InvalidArgumentError, type Logger, type SecretCodec, unencryptedCodec } from '@tokenvault/core';

/**
 * How a persistent store protects the secrets it keeps (access, refresh and id tokens, PKCE verifiers,
 * mixi `server_state`s, client secrets). One of:
 *
 * - `{ keys }`: AES-256-GCM (`aesGcmCodec`) under a key ring, given as `[{ id, key }]` or as the
 *   `TOKENVAULT_KEYS` text (`k2:<base64>,k1:<base64>`; the first writes, all read). Optionally
 *   `activeKeyId`, and `acceptUnencrypted` while moving a store off `'none'` with `rekey`.
 * - `{ codec }`: your own {@link SecretCodec} (a KMS envelope, say).
 * - `'none'`: secrets stored as they are. Allowed only when asked for, and logged as a warning.
 *
 * A file or database store given none of these refuses to open.
 *
 * @example
 * sqliteStore({ filename: 'tokenvault.db', encryption: { keys: process.env.TOKENVAULT_KEYS } });
 * sqliteStore({ filename: 'scratch.db', encryption: 'none' }); // warns: secrets unencrypted
 */
export type StoreEncryption =
  | 'none'
  | {
      readonly keys: readonly EncryptionKey[] | string | undefined;
      readonly activeKeyId?: string | undefined;
      readonly acceptUnencrypted?: boolean | undefined;
    }
  | { readonly codec: SecretCodec };

/** Where the store's one warning goes (the opt-out). Default: `console.warn`. */
export type StoreWarningLogger = Pick<Logger, 'warn'>;

const consoleWarnings: StoreWarningLogger = {
  warn: (obj, msg) => console.warn(`${msg ?? ''} ${JSON.stringify(obj)}`),
};

/** What a store factory knows when it resolves its encryption. */
export interface EncryptionContext {
  /** `sqliteStore`, `postgresStore`: named in errors and the warning. */
  readonly factory: string;
  /** False for SQLite `:memory:`: nothing reaches a disk, so nothing needs to be chosen. */
  readonly persistent: boolean;
  readonly encryption: StoreEncryption | undefined;
  /** The older `codec` option, which counts as `{ codec }`. */
  readonly codec: SecretCodec | undefined;
  readonly logger: StoreWarningLogger | undefined;
}

/**
 * The codec a store factory runs with. Throws an `InvalidArgumentError` when a persistent store was
 * given no encryption and no explicit `'none'`; logs one warning (per store opened) for `'none'`.
 *
 * @example
 * const codec = resolveStoreEncryption({ factory: 'sqliteStore', persistent: true, encryption: { keys: env }, codec: undefined, logger: undefined });
 */
export function resolveStoreEncryption(context: EncryptionContext): SecretCodec | undefined {
  const { encryption, factory } = context;
  if (encryption !== undefined && context.codec !== undefined) {
    throw new InvalidArgumentError(`${factory}: pass "encryption" or "codec", not both`);
  }
  if (encryption === undefined) {
    if (context.codec !== undefined || !context.persistent) return context.codec;
    throw new InvalidArgumentError(
      `${factory} keeps tokens and client secrets at rest: pass encryption: { keys: process.env.TOKENVAULT_KEYS } ` +
        '(make a key with "tokenvault keys generate"), or encryption: "none" to store them unencrypted',
    );
  }
  if (encryption === 'none') {
    if (context.persistent) {
      (context.logger ?? consoleWarnings).warn(
        { store: factory, encryption: 'none' },
        'tokenvault: secrets (tokens, client secrets) are stored UNENCRYPTED, as asked with encryption: "none"; anyone who can read the database can use them',
      );
    }
    return unencryptedCodec();
  }
  if (typeof encryption !== 'object' || encryption === null) {
    throw new InvalidArgumentError(`${factory}: "encryption" must be { keys }, { codec } or "none"`);
  }
  if ('codec' in encryption) {
    const codec = encryption.codec;
    if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function') {
      throw new InvalidArgumentError(`${factory}: "encryption.codec" must have encode and decode`);
    }
    return codec;
  }
  return aesGcmCodec({
    keys: encryption.keys,
    ...(encryption.activeKeyId !== undefined && { activeKeyId: encryption.activeKeyId }),
    ...(encryption.acceptUnencrypted !== undefined && { acceptUnencrypted: encryption.acceptUnencrypted }),
  });
}
