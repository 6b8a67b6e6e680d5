import { randomFillSync } from 'node:crypto';
import { inspect } from 'node:util';
import { DecryptionFailedError, InvalidArgumentError, UnknownKeyError } from '../errors/errors';
import { type EncryptionKey, KeyRing, parseEncryptionKeys, ENCRYPTION_KEYS_ENV, ringKeyMaterial } from './key-ring';
import { type RekeyWorkers, startRekeyWorkers } from './rekey-workers';
import { formatSecretLocation, type SecretCodec, type SecretLocation } from './secret-codec';
import { type Xaes256Gcm, XAES_NONCE_BYTES, XAES_TAG_BYTES } from './xaes-256-gcm';

/** The format tag every encrypted value starts with. A new format would be `tv2`, read beside this one. */
export const ENCRYPTED_PREFIX = 'tv1.';

/** Options of {@link aesGcmCodec}. */
export interface AesGcmCodecOptions {
  /**
   * The key ring: `[{ id, key }]`, or the `TOKENVAULT_KEYS` text (`k2:<base64>,k1:<base64>`). New values
   * are written under the active key; values under any listed key are read.
   */
  readonly keys: readonly EncryptionKey[] | string | undefined;
  /** The key new values are written under. Default: the first listed. */
  readonly activeKeyId?: string | undefined;
  /**
   * Also read values that were stored unencrypted (anything not starting with `tv1.`), so a store
   * that ran with `encryption: 'none'` can be moved to encryption with `rekey`. Off by default: with it
   * on, whoever can write the database can plant a token of their choice. Turn it off after the rekey.
   */
  readonly acceptUnencrypted?: boolean | undefined;
  /** Fills a buffer with random bytes (the nonces). Default: `crypto.randomFillSync`, pooled. */
  readonly randomFill?: ((buffer: Uint8Array) => void) | undefined;
}

/** A lone surrogate would not survive UTF-8: refused rather than silently replaced. */
const LONE_SURROGATE = /\p{Cs}/u;
const NONCE_TEXT = /^[A-Za-z0-9_-]{32}$/;
const SEALED_TEXT = /^[A-Za-z0-9_-]{22,}$/;
const POOL_BYTES = XAES_NONCE_BYTES * 256;

/**
 * Encrypts every secret a store keeps with AES-256-GCM (as XAES-256-GCM: a key derived per 192-bit
 * random nonce, see {@link Xaes256Gcm}), keys identified by id so several can be live at once.
 *
 * A stored value is `tv1.<key id>.<nonce, base64url>.<ciphertext and tag, base64url>`. The associated
 * data is `tv1.<key id>.<table>/<column>/<row key>`: a value copied to another row or column, or
 * relabelled with another key id, fails to decrypt. Errors are {@link DecryptionFailedError} and
 * {@link UnknownKeyError}; they name the location, never the value.
 *
 * @example
 * const codec = aesGcmCodec({ keys: process.env.TOKENVAULT_KEYS });   // 'k2:…,k1:…' — k2 writes, both read
 * const store = sqliteStore({ filename: 'tokenvault.db', encryption: { codec } });
 */
export function aesGcmCodec(options: AesGcmCodecOptions): AesGcmCodec {
  return new AesGcmCodec(options);
}

/** The {@link SecretCodec} {@link aesGcmCodec} makes. */
export class AesGcmCodec implements SecretCodec {
  readonly #ring: KeyRing;
  readonly #active: Xaes256Gcm;
  readonly #acceptUnencrypted: boolean;
  readonly #activePrefix: string;
  readonly #fill: (buffer: Uint8Array) => void;
  readonly #pool = Buffer.alloc(POOL_BYTES);
  #poolOffset = POOL_BYTES;

  constructor(options: AesGcmCodecOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('aesGcmCodec needs an options object');
    const keys = typeof options.keys === 'string' ? parseEncryptionKeys(options.keys, ENCRYPTION_KEYS_ENV) : (options.keys ?? []);
    this.#ring = new KeyRing(keys, options.activeKeyId);
    this.#active = this.#ring.cipher(this.#ring.activeKeyId) as Xaes256Gcm;
    this.#acceptUnencrypted = options.acceptUnencrypted === true;
    this.#activePrefix = `${ENCRYPTED_PREFIX}${this.#ring.activeKeyId}.`;
    this.#fill = options.randomFill ?? ((buffer) => randomFillSync(buffer));
  }

  /** The id new values are written under. */
  get activeKeyId(): string {
    return this.#ring.activeKeyId;
  }

  /** Every key id this codec reads, active first. */
  get keyIds(): readonly string[] {
    return this.#ring.keyIds;
  }

  encode(plain: string, at: SecretLocation): string {
    if (typeof plain !== 'string' || LONE_SURROGATE.test(plain)) throw new InvalidArgumentError('a secret must be well-formed text');
    const nonce = this.#nonce();
    const header = this.#activePrefix;
    const sealed = this.#active.seal(nonce, Buffer.from(plain, 'utf8'), associatedData(header, at));
    return `${header}${nonce.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  decode(stored: string, at: SecretLocation): string {
    if (typeof stored !== 'string' || !stored.startsWith(ENCRYPTED_PREFIX)) {
      if (this.#acceptUnencrypted && typeof stored === 'string') return stored;
      throw new DecryptionFailedError(formatSecretLocation(at), 'the value is not encrypted (no "tv1." header)');
    }
    const keyEnd = stored.indexOf('.', ENCRYPTED_PREFIX.length);
    const nonceEnd = keyEnd < 0 ? -1 : stored.indexOf('.', keyEnd + 1);
    if (nonceEnd < 0) throw new DecryptionFailedError(formatSecretLocation(at), 'the value is not in the tv1 format');
    const keyId = stored.slice(ENCRYPTED_PREFIX.length, keyEnd);
    const nonceText = stored.slice(keyEnd + 1, nonceEnd);
    const sealedText = stored.slice(nonceEnd + 1);
    if (!NONCE_TEXT.test(nonceText) || !SEALED_TEXT.test(sealedText)) {
      throw new DecryptionFailedError(formatSecretLocation(at), 'the value is not in the tv1 format');
    }
    const cipher = this.#ring.cipher(keyId);
    if (cipher === undefined) throw new UnknownKeyError(keyId, formatSecretLocation(at));
    const nonce = Buffer.from(nonceText, 'base64url');
    const sealed = Buffer.from(sealedText, 'base64url');
    // base64url decoding forgives stray bits; only the canonical text of these bytes is accepted.
    if (nonce.length !== XAES_NONCE_BYTES || sealed.length < XAES_TAG_BYTES || sealed.toString('base64url') !== sealedText) {
      throw new DecryptionFailedError(formatSecretLocation(at), 'the value is not in the tv1 format');
    }
    const plain = cipher.open(nonce, sealed, associatedData(stored.slice(0, keyEnd + 1), at));
    if (plain === undefined) {
      throw new DecryptionFailedError(formatSecretLocation(at), 'tampered, moved from another row or column, or written under other key bytes');
    }
    const text = plain.toString('utf8');
    plain.fill(0);
    return text;
  }

  /** True when `stored` is under another key than the active one, or not encrypted. */
  needsRekey(stored: string): boolean {
    return !stored.startsWith(this.#activePrefix);
  }

  /**
   * The key id a stored value names, or undefined when it is not an encrypted value.
   *
   * @example
   * codec.keyIdOf(row.access_token); // 'k2'
   */
  keyIdOf(stored: string): string | undefined {
    return encryptedKeyId(stored);
  }

  /**
   * Worker threads that re-encode values as `decode` then `encode` would, a batch at a time (see
   * {@link RekeyWorkers}); `rekey` uses them for large tables. Each thread gets a copy of the ring's
   * key bytes as it starts (workerData, never argv, env or a log line); the copies made here are zeroed.
   */
  startRekeyWorkers(threads: number): RekeyWorkers {
    const keys = ringKeyMaterial(this.#ring);
    try {
      return startRekeyWorkers({ keys, activeKeyId: this.#ring.activeKeyId, acceptUnencrypted: this.#acceptUnencrypted }, threads);
    } finally {
      for (const k of keys) k.key.fill(0);
    }
  }

  toJSON(): Record<string, unknown> {
    return { codec: 'aes-256-gcm', ...this.#ring.toJSON() };
  }

  [inspect.custom](): string {
    return `AesGcmCodec(active ${this.#ring.activeKeyId}; ${this.#ring.keyIds.join(', ')})`;
  }

  /** 24 random bytes, from a pool refilled 256 nonces at a time (one system call per refill). */
  #nonce(): Buffer {
    if (this.#poolOffset + XAES_NONCE_BYTES > POOL_BYTES) {
      this.#fill(this.#pool);
      this.#poolOffset = 0;
    }
    const nonce = this.#pool.subarray(this.#poolOffset, this.#poolOffset + XAES_NONCE_BYTES);
    this.#poolOffset += XAES_NONCE_BYTES;
    return nonce;
  }
}

/**
 * The key id an encrypted value names (`tv1.<id>.…`), or undefined for anything else. Key ids are
 * labels, not secrets: this is how tests and tools see which key a row is under.
 *
 * @example
 * encryptedKeyId('tv1.k2.AAAA….BBBB…'); // 'k2'
 */
export function encryptedKeyId(stored: unknown): string | undefined {
  if (typeof stored !== 'string' || !stored.startsWith(ENCRYPTED_PREFIX)) return undefined;
  const end = stored.indexOf('.', ENCRYPTED_PREFIX.length);
  return end < 0 ? undefined : stored.slice(ENCRYPTED_PREFIX.length, end);
}

function associatedData(header: string, at: SecretLocation): Buffer {
  return Buffer.from(`${header}${formatSecretLocation(at)}`, 'utf8');
}
