/**
 * The program a rekey worker thread runs (`new Worker(REKEY_WORKER_SOURCE, { eval: true })`): plain
 * JavaScript on `node:crypto` only, so it runs the same from TypeScript source, from the built package
 * and from an application bundle (a worker loaded from a file path would not survive bundling).
 *
 * It re-encodes batches of stored values exactly as `AesGcmCodec.decode` then `encode` would: the same
 * `tv1` format checks (shape, alphabet, canonical base64url, known key id), XAES-256-GCM with the same
 * associated data (`tv1.<key id>.<table>/<column>/<row key>`), a fresh random 192-bit nonce per value,
 * and the same treatment of unencrypted values when `acceptUnencrypted` is on. What differs is cost: the
 * XAES key derivations of 32 values go through the ECB cipher in one call per key (an AES-ECB call on
 * 32 bytes cost 1.2 µs here, on 32 KB 12 µs), their nonces come from one random fill, and associated
 * data and sealed output are assembled in reused scratch space rather than in new buffers.
 *
 * A value that does not decode comes back as `null`, never as an error: the caller counts the row as
 * unreadable. Nothing the worker posts or throws carries key bytes, plaintext or stored values; its
 * copy of the key bytes is zeroed once the ciphers are made. `rekey-workers.test.ts` checks it against
 * the codec (both directions, tampering, non-canonical text, the C2SP vectors through the codec).
 *
 * Messages: in `{ id, values: string[], locations: string[] }` (locations as `table/column/key`);
 * out `{ id, out: (string | null)[] }`, or `{ id, failed: true }` when the batch itself failed.
 */
export const REKEY_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createCipheriv, createDecipheriv, randomFillSync } = require('node:crypto');
const { isUtf8 } = require('node:buffer');

const PREFIX = 'tv1.';
const NONCE_TEXT = /^[A-Za-z0-9_-]{32}$/;
const SEALED_TEXT = /^[A-Za-z0-9_-]{22,}$/;
const LONE_SURROGATE = /\p{Cs}/u;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const GCM_OPTIONS = { authTagLength: TAG_BYTES };

/** One key: its long-lived AES-256-ECB cipher (the KDF's block cipher) and CMAC subkey K1. */
function makeKey(bytes) {
  const ecb = createCipheriv('aes-256-ecb', bytes, null);
  ecb.setAutoPadding(false);
  const l = ecb.update(Buffer.alloc(16));
  const k1 = Buffer.alloc(16);
  let carry = 0;
  for (let i = 15; i >= 0; i--) {
    k1[i] = ((l[i] << 1) & 0xff) | carry;
    carry = l[i] >> 7;
  }
  if ((l[0] & 0x80) !== 0) k1[15] ^= 0x87;
  l.fill(0);
  // The KDF input blocks Mi = 0x00 || i || "X" || 0x00 || N[:12], XORed with K1: the fixed part, once.
  const template = Buffer.alloc(32);
  template[1] = 0x01;
  template[2] = 0x58;
  template[17] = 0x02;
  template[18] = 0x58;
  for (let i = 0; i < 16; i++) {
    template[i] ^= k1[i];
    template[16 + i] ^= k1[i];
  }
  return { ecb, k1, template };
}

/** The derived AES-256-GCM keys of nonces[i] (32 bytes each, in order), in one ECB call. */
function deriveKeys(key, nonces, count) {
  const blocks = Buffer.allocUnsafe(32 * count);
  const { k1, template } = key;
  for (let j = 0; j < count; j++) {
    const nonce = nonces[j];
    const at = 32 * j;
    template.copy(blocks, at);
    for (let i = 0; i < 12; i++) {
      const b = nonce[i] ^ k1[4 + i];
      blocks[at + 4 + i] = b;
      blocks[at + 20 + i] = b;
    }
  }
  const derived = key.ecb.update(blocks);
  blocks.fill(0);
  return derived;
}

/**
 * Scratch space reused by every value (the thread does one thing at a time): associated data and
 * sealed output are assembled here instead of in a new buffer each. Plaintext never passes through it.
 */
let scratch = Buffer.allocUnsafeSlow(4096);
function room(bytes) {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafeSlow(Math.max(bytes, 2 * scratch.length));
  return scratch;
}

/** setAAD(header + location), the text written into scratch space (setAAD copies it at once). */
function setAad(cipher, header, location) {
  const buffer = room(3 * (header.length + location.length));
  const n = buffer.write(header, 0, 'utf8');
  cipher.setAAD(buffer.subarray(0, n + buffer.write(location, n, 'utf8')));
}

const keys = new Map();
for (const entry of workerData.keys) {
  keys.set(entry.id, makeKey(entry.key));
  entry.key.fill(0);
}
const activeId = workerData.activeKeyId;
const active = keys.get(activeId);
const activeHeader = PREFIX + activeId + '.';
const acceptUnencrypted = workerData.acceptUnencrypted === true;

/** What the codec's decode checks, in its order; the parts to open, or null. */
function parse(stored) {
  if (!stored.startsWith(PREFIX)) return null;
  const keyEnd = stored.indexOf('.', PREFIX.length);
  const nonceEnd = keyEnd < 0 ? -1 : stored.indexOf('.', keyEnd + 1);
  if (nonceEnd < 0) return null;
  const nonceText = stored.slice(keyEnd + 1, nonceEnd);
  const sealedText = stored.slice(nonceEnd + 1);
  if (!NONCE_TEXT.test(nonceText) || !SEALED_TEXT.test(sealedText)) return null;
  const key = keys.get(stored.slice(PREFIX.length, keyEnd));
  if (key === undefined) return null;
  const nonce = Buffer.from(nonceText, 'base64url');
  const sealed = Buffer.from(sealedText, 'base64url');
  // base64url decoding forgives stray bits; only the canonical text of these bytes is accepted.
  if (nonce.length !== NONCE_BYTES || sealed.length < TAG_BYTES || sealed.toString('base64url') !== sealedText) return null;
  return { key, nonce, sealed, header: stored.slice(0, keyEnd + 1) };
}

/**
 * Values go through in chunks: each chunk's key derivations are one ECB call per key, and the chunk's
 * buffers die young (holding a whole page of them alive at once cost more in garbage collection than
 * the batched derivation saved).
 */
const CHUNK = 32;

function recode(values, locations) {
  const out = new Array(values.length).fill(null);
  for (let from = 0; from < values.length; from += CHUNK) recodeChunk(values, locations, from, Math.min(values.length, from + CHUNK), out);
  return out;
}

function recodeChunk(values, locations, from, to, out) {
  const plains = [];
  const indexes = [];
  // Decode: parse the chunk's values, derive the keys of each key's values at once, open.
  const byKey = new Map();
  for (let i = from; i < to; i++) {
    const stored = values[i];
    if (typeof stored !== 'string') continue;
    if (!stored.startsWith(PREFIX)) {
      if (acceptUnencrypted && !LONE_SURROGATE.test(stored)) {
        plains.push(Buffer.from(stored, 'utf8'));
        indexes.push(i);
      }
      continue;
    }
    const parsed = parse(stored);
    if (parsed === null) continue;
    parsed.index = i;
    let list = byKey.get(parsed.key);
    if (list === undefined) byKey.set(parsed.key, (list = []));
    list.push(parsed);
  }
  for (const [key, list] of byKey) {
    const derived = deriveKeys(key, list.map((p) => p.nonce), list.length);
    for (let j = 0; j < list.length; j++) {
      const p = list[j];
      const decipher = createDecipheriv('aes-256-gcm', derived.subarray(32 * j, 32 * j + 32), p.nonce.subarray(12, 24), GCM_OPTIONS);
      decipher.setAuthTag(p.sealed.subarray(p.sealed.length - TAG_BYTES));
      setAad(decipher, p.header, locations[p.index]);
      const head = decipher.update(p.sealed.subarray(0, p.sealed.length - TAG_BYTES));
      let plain;
      try {
        const tail = decipher.final();
        plain = tail.length === 0 ? head : Buffer.concat([head, tail]);
      } catch {
        head.fill(0);
        continue;
      }
      // The codec reads the plaintext as text and writes that text again: bytes that are not UTF-8
      // come back with replacement characters, so the same happens here.
      if (!isUtf8(plain)) {
        const text = Buffer.from(plain.toString('utf8'), 'utf8');
        plain.fill(0);
        plain = text;
      }
      plains.push(plain);
      indexes.push(p.index);
    }
    derived.fill(0);
  }
  // Encode: fresh nonces, one KDF call, seal under the active key.
  const count = plains.length;
  if (count === 0) return;
  const nonceBytes = Buffer.allocUnsafe(NONCE_BYTES * count);
  randomFillSync(nonceBytes);
  const nonces = [];
  for (let j = 0; j < count; j++) nonces.push(nonceBytes.subarray(NONCE_BYTES * j, NONCE_BYTES * j + NONCE_BYTES));
  const derived = deriveKeys(active, nonces, count);
  for (let j = 0; j < count; j++) {
    const i = indexes[j];
    const nonce = nonces[j];
    const cipher = createCipheriv('aes-256-gcm', derived.subarray(32 * j, 32 * j + 32), nonce.subarray(12, 24), GCM_OPTIONS);
    setAad(cipher, activeHeader, locations[i]);
    const head = cipher.update(plains[j]);
    const tail = cipher.final();
    const tag = cipher.getAuthTag();
    plains[j].fill(0);
    // Ciphertext and tag side by side in scratch space, encoded from there.
    const length = head.length + tail.length + TAG_BYTES;
    const buffer = room(length);
    head.copy(buffer, 0);
    tail.copy(buffer, head.length);
    tag.copy(buffer, head.length + tail.length);
    out[i] = activeHeader + nonce.toString('base64url') + '.' + buffer.toString('base64url', 0, length);
  }
  derived.fill(0);
}

parentPort.on('message', (message) => {
  let reply;
  try {
    reply = { id: message.id, out: recode(message.values, message.locations) };
  } catch {
    reply = { id: message.id, failed: true };
  }
  parentPort.postMessage(reply);
});
`;
