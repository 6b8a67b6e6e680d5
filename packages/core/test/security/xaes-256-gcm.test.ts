import { createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Xaes256Gcm } from '../../src/security/xaes-256-gcm';

const NONCE = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWX');

describe('XAES-256-GCM', () => {
  // The two vectors of the specification, https://c2sp.org/XAES-256-GCM.
  it.each([
    { key: 0x01, aad: '', sealed: 'ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271' },
    { key: 0x03, aad: 'c2sp.org/XAES-256-GCM', sealed: '986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d' },
  ])('matches the C2SP test vector with key 0x$key…', ({ key, aad, sealed }) => {
    const xaes = new Xaes256Gcm(Buffer.alloc(32, key));
    expect(xaes.seal(NONCE, Buffer.from('XAES-256-GCM'), Buffer.from(aad)).toString('hex')).toBe(sealed);
    expect(xaes.open(NONCE, Buffer.from(sealed, 'hex'), Buffer.from(aad))?.toString()).toBe('XAES-256-GCM');
  });

  it('is AES-256-GCM under a derived key: a message opens with no other key, nonce or associated data', () => {
    const xaes = new Xaes256Gcm(Buffer.alloc(32, 0x01));
    const sealed = xaes.seal(NONCE, Buffer.from('secret'), Buffer.from('aad'));
    // Straight AES-256-GCM with the master key and the nonce's tail does not open it: the key is derived.
    const plain = createDecipheriv('aes-256-gcm', Buffer.alloc(32, 0x01), NONCE.subarray(12));
    plain.setAuthTag(sealed.subarray(-16));
    plain.update(sealed.subarray(0, -16));
    expect(() => plain.final()).toThrow();
    expect(new Xaes256Gcm(Buffer.alloc(32, 0x02)).open(NONCE, sealed, Buffer.from('aad'))).toBeUndefined();
    expect(xaes.open(Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWY'), sealed, Buffer.from('aad'))).toBeUndefined();
    expect(xaes.open(Buffer.from('BBCDEFGHIJKLMNOPQRSTUVWX'), sealed, Buffer.from('aad'))).toBeUndefined();
    expect(xaes.open(NONCE, sealed, Buffer.from('aae'))).toBeUndefined();
    for (let i = 0; i < sealed.length; i++) {
      const flipped = Buffer.from(sealed);
      flipped[i] = (flipped[i] as number) ^ 0x01;
      expect(xaes.open(NONCE, flipped, Buffer.from('aad'))).toBeUndefined();
    }
    expect(xaes.open(NONCE, sealed.subarray(0, 15), Buffer.from('aad'))).toBeUndefined();
  });

  it('refuses keys and nonces of the wrong size', () => {
    expect(() => new Xaes256Gcm(Buffer.alloc(16))).toThrow(RangeError);
    expect(() => new Xaes256Gcm(Buffer.alloc(32)).seal(Buffer.alloc(12), Buffer.alloc(1), Buffer.alloc(0))).toThrow(RangeError);
  });
});
