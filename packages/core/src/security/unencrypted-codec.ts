import { DecryptionFailedError } from '../errors/errors';
import { ENCRYPTED_PREFIX } from './aes-gcm-codec';
import { formatSecretLocation, type SecretCodec } from './secret-codec';

/**
 * The codec of a store that explicitly runs without encryption: secrets are stored as they are. It
 * refuses to read a value that is encrypted (`tv1.…`), so a store opened without its keys fails
 * loudly instead of handing a ciphertext to a provider as if it were a token.
 *
 * @example
 * const store = sqliteStore({ filename: 'dev.db', encryption: 'none' }); // uses unencryptedCodec()
 */
export function unencryptedCodec(): SecretCodec {
  return {
    encode: (plain) => plain,
    decode(stored, at) {
      if (stored.startsWith(ENCRYPTED_PREFIX)) {
        throw new DecryptionFailedError(formatSecretLocation(at), 'the value is encrypted, but the store was opened without keys');
      }
      return stored;
    },
    needsRekey: () => false,
  };
}
