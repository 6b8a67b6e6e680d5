import { type Cipher, createCipheriv, createDecipheriv } from 'node:crypto';

/** XAES-256-GCM nonces are 192 bits: random ones never repeat in practice, whatever the volume. */
export const XAES_NONCE_BYTES = 24;
/** The GCM authentication tag, appended to the ciphertext. */
export const XAES_TAG_BYTES = 16;

/**
 * XAES-256-GCM (https://c2sp.org/XAES-256-GCM) for one 256-bit key, on node:crypto's AES-256-ECB and
 * AES-256-GCM.
 *
 * Why not plain AES-256-GCM with random 96-bit nonces: NIST SP 800-38D caps those at 2^32 messages
 * per key. A vault of a million grants refreshing every 15 minutes writes about 3 × 10^8 secrets a
 * day, so one key would reach the cap in two weeks. XAES-256-GCM derives a fresh AES-256-GCM key from
 * the first 12 bytes of a 24-byte random nonce (the NIST SP 800-108r1 counter-mode KDF with CMAC) and
 * encrypts with the last 12: 2^80 messages per key at the same risk. Each message is still AES-256-GCM.
 *
 * The KDF costs two AES block encryptions through one long-lived ECB cipher object (ECB keeps no
 * state between blocks, so feeding it through `update` is safe), about a microsecond per message.
 *
 * @example
 * const xaes = new Xaes256Gcm(key32);
 * const sealed = xaes.seal(nonce24, Buffer.from('token'), aad);
 * xaes.open(nonce24, sealed, aad)?.toString(); // 'token'
 */
export class Xaes256Gcm {
  readonly #ecb: Cipher;
  /** CMAC subkey K1 = L·x, L = AES-256(K, 0^128). */
  readonly #k1: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError('an XAES-256-GCM key is 32 bytes');
    this.#ecb = createCipheriv('aes-256-ecb', key, null);
    this.#ecb.setAutoPadding(false);
    const l = this.#ecb.update(Buffer.alloc(16));
    const k1 = Buffer.alloc(16);
    let carry = 0;
    for (let i = 15; i >= 0; i--) {
      const byte = l[i] as number;
      k1[i] = ((byte << 1) & 0xff) | carry;
      carry = byte >> 7;
    }
    if (((l[0] as number) & 0x80) !== 0) k1[15] = (k1[15] as number) ^ 0x87;
    l.fill(0);
    this.#k1 = k1;
  }

  /** Ciphertext followed by the 16-byte tag. `nonce` must be 24 fresh random bytes. */
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
    const key = this.#deriveKey(nonce);
    try {
      const cipher = createCipheriv('aes-256-gcm', key, nonce.subarray(12, 24), { authTagLength: XAES_TAG_BYTES });
      cipher.setAAD(aad);
      const head = cipher.update(plaintext);
      const tail = cipher.final();
      return Buffer.concat([head, tail, cipher.getAuthTag()]);
    } finally {
      key.fill(0);
    }
  }

  /** The plaintext, or undefined when the tag does not verify (tampered, other key, other AAD). */
  open(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | undefined {
    if (sealed.length < XAES_TAG_BYTES) return undefined;
    const key = this.#deriveKey(nonce);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce.subarray(12, 24), { authTagLength: XAES_TAG_BYTES });
      decipher.setAuthTag(sealed.subarray(sealed.length - XAES_TAG_BYTES));
      decipher.setAAD(aad);
      const head = decipher.update(sealed.subarray(0, sealed.length - XAES_TAG_BYTES));
      try {
        const tail = decipher.final();
        return tail.length === 0 ? head : Buffer.concat([head, tail]);
      } catch {
        head.fill(0);
        return undefined;
      }
    } finally {
      key.fill(0);
    }
  }

  /** Kx = AES-256(K, M1 ⊕ K1) ‖ AES-256(K, M2 ⊕ K1), Mi = 0x00 ‖ i ‖ "X" ‖ 0x00 ‖ N[:12]. */
  #deriveKey(nonce: Uint8Array): Buffer {
    if (nonce.length !== XAES_NONCE_BYTES) throw new RangeError('an XAES-256-GCM nonce is 24 bytes');
    const blocks = Buffer.alloc(32);
    blocks[1] = 0x01;
    blocks[2] = 0x58;
    blocks[17] = 0x02;
    blocks[18] = 0x58;
    blocks.set(nonce.subarray(0, 12), 4);
    blocks.set(nonce.subarray(0, 12), 20);
    const k1 = this.#k1;
    for (let i = 0; i < 16; i++) {
      blocks[i] = (blocks[i] as number) ^ (k1[i] as number);
      blocks[16 + i] = (blocks[16 + i] as number) ^ (k1[i] as number);
    }
    return this.#ecb.update(blocks);
  }
}
