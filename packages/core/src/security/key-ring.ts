import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { InvalidArgumentError } from '../errors/errors';
import { Secret } from '../util/secret';
import { Xaes256Gcm } from './xaes-256-gcm';

/** The environment variable tokenvault's tools read keys from: `k2:<base64>,k1:<base64>`, active first. */
export const ENCRYPTION_KEYS_ENV = 'TOKENVAULT_KEYS';

/**
 * One encryption key: an id (stored beside every value it encrypts) and 32 bytes, given as base64 or
 * base64url text (a {@link Secret} keeps it out of logs) or as bytes.
 */
export interface EncryptionKey {
  /** 1-32 letters, digits, `_` or `-`. Stored in clear with each value; never reuse one for other bytes. */
  readonly id: string;
  readonly key: string | Secret | Uint8Array;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Each ring's key bytes, for the one use that needs them outside its ciphers: handing them to rekey
 * worker threads ({@link ringKeyMaterial}). Kept here, not on the ring, so no property of a ring holds
 * them; not exported from the package.
 */
const KEY_MATERIAL = new WeakMap<KeyRing, ReadonlyMap<string, Buffer>>();

/**
 * Copies of a ring's keys, active first, for rekey worker threads. The caller zeroes them once
 * handed over. @internal
 */
export function ringKeyMaterial(ring: KeyRing): { id: string; key: Buffer }[] {
  const material = KEY_MATERIAL.get(ring);
  if (material === undefined) throw new InvalidArgumentError('not a key ring');
  return ring.keyIds.map((id) => ({ id, key: Buffer.from(material.get(id) as Buffer) }));
}
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Parses the `TOKENVAULT_KEYS` format: `id:key` entries separated by commas or whitespace (so a key
 * file may hold one per line), keys in base64 or base64url, the first entry the active one. Errors
 * name the entry by position, never its key.
 *
 * @example
 * parseEncryptionKeys('k2:3q2+7w…=,k1:AAEC…');  // [{ id: 'k2', key: Secret }, { id: 'k1', key: Secret }]
 */
export function parseEncryptionKeys(spec: string, source = 'the key list'): EncryptionKey[] {
  if (typeof spec !== 'string') throw new InvalidArgumentError(`${source} must be a string of "id:key" entries`);
  const entries = spec.split(/[\s,]+/).filter((e) => e !== '');
  if (entries.length === 0) throw new InvalidArgumentError(`${source} holds no key`);
  return entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    if (colon < 0) throw new InvalidArgumentError(`entry ${i + 1} of ${source} must be "id:key" (base64 key of 32 bytes)`);
    return { id: entry.slice(0, colon), key: new Secret(entry.slice(colon + 1)) };
  });
}

/**
 * A new random 32-byte key, with an id (default: `k` and 8 hex digits). Print it once with
 * {@link formatEncryptionKey} and keep it where your processes read configuration.
 *
 * @example
 * const key = generateEncryptionKey({ id: 'k2025' });
 * console.log(`TOKENVAULT_KEYS=${formatEncryptionKey(key)}`); // TOKENVAULT_KEYS=k2025:Jx…
 */
export function generateEncryptionKey(options: { readonly id?: string; readonly random?: (size: number) => Uint8Array } = {}): EncryptionKey {
  const random = options.random ?? randomBytes;
  const id = options.id ?? `k${Buffer.from(random(4)).toString('hex')}`;
  if (!KEY_ID.test(id)) throw new InvalidArgumentError('a key id must be 1-32 letters, digits, "_" or "-"');
  const key = Buffer.from(random(32));
  if (key.length !== 32) throw new InvalidArgumentError('the random source must return the bytes asked for');
  return { id, key: new Secret(key.toString('base64url')) };
}

/**
 * `id:base64url`: the key in the `TOKENVAULT_KEYS` format. This reveals the key; it exists to print
 * a key once, when it is made.
 *
 * @example
 * formatEncryptionKey(generateEncryptionKey({ id: 'k1' })); // 'k1:q3Vn…'
 */
export function formatEncryptionKey(key: EncryptionKey): string {
  return `${key.id}:${keyBytes(key, 'the key').toString('base64url')}`;
}

function keyBytes(entry: EncryptionKey, label: string): Buffer {
  const raw = entry.key;
  if (raw instanceof Uint8Array) {
    if (raw.length !== 32) throw new InvalidArgumentError(`${label} must be 32 bytes`);
    return Buffer.from(raw);
  }
  const text = raw instanceof Secret ? raw.reveal() : raw;
  if (typeof text !== 'string' || !BASE64.test(text)) throw new InvalidArgumentError(`${label} must be 32 bytes in base64 or base64url`);
  const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length !== 32) throw new InvalidArgumentError(`${label} must be 32 bytes in base64 or base64url (it decodes to ${bytes.length})`);
  return bytes;
}

/**
 * The configured keys, checked: unique ids, 32-byte keys, one of them active (the first unless
 * `activeKeyId` says otherwise). New values are written under the active key; values under any key
 * in the ring are read. Key bytes live inside the ring's ciphers and, for rekey worker threads, in a
 * module-private copy (no property of the ring holds them): printing a ring shows its ids.
 *
 * @example
 * const ring = new KeyRing(parseEncryptionKeys(process.env.TOKENVAULT_KEYS ?? ''));
 * ring.activeKeyId; // 'k2'
 */
export class KeyRing {
  /** The id new values are written under. */
  readonly activeKeyId: string;
  /** Every configured id, active first. */
  readonly keyIds: readonly string[];
  readonly #ciphers = new Map<string, Xaes256Gcm>();

  constructor(keys: readonly EncryptionKey[], activeKeyId?: string) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new InvalidArgumentError(`no encryption key is configured (set ${ENCRYPTION_KEYS_ENV}, or generate one with "tokenvault keys generate")`);
    }
    const material = new Map<string, Buffer>();
    try {
      keys.forEach((entry, i) => {
        const label = `key ${i + 1}${typeof entry?.id === 'string' && KEY_ID.test(entry.id) ? ` ("${entry.id}")` : ''}`;
        if (typeof entry?.id !== 'string' || !KEY_ID.test(entry.id)) {
          throw new InvalidArgumentError(`${label}: the id must be 1-32 letters, digits, "_" or "-"`);
        }
        if (this.#ciphers.has(entry.id)) throw new InvalidArgumentError(`key id "${entry.id}" is configured twice`);
        const bytes = keyBytes(entry, label);
        this.#ciphers.set(entry.id, new Xaes256Gcm(bytes));
        // A buffer of its own: decoded text lands in Buffer's shared pool, which is zeroed here.
        const own = Buffer.allocUnsafeSlow(32);
        bytes.copy(own);
        bytes.fill(0);
        material.set(entry.id, own);
      });
      const ids = keys.map((k) => k.id);
      const active = activeKeyId ?? (ids[0] as string);
      if (!this.#ciphers.has(active)) throw new InvalidArgumentError(`the active key "${active}" is not among the configured keys (${ids.join(', ')})`);
      this.activeKeyId = active;
      this.keyIds = Object.freeze([active, ...ids.filter((id) => id !== active)]);
    } catch (error) {
      for (const bytes of material.values()) bytes.fill(0);
      throw error;
    }
    KEY_MATERIAL.set(this, material);
  }

  /** The cipher of key `id`, or undefined when it is not configured. @internal */
  cipher(id: string): Xaes256Gcm | undefined {
    return this.#ciphers.get(id);
  }

  toJSON(): Record<string, unknown> {
    return { activeKeyId: this.activeKeyId, keyIds: this.keyIds };
  }

  [inspect.custom](): string {
    return `KeyRing(active ${this.activeKeyId}; ${this.keyIds.join(', ')})`;
  }
}
