import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors';
import { createPkcePair, pkceChallenge, randomState } from '../../src/protocol/index';

const counting = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

describe('PKCE', () => {
  it('matches the RFC 7636 Appendix B example', () => {
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('draws a 43-character verifier from 32 injected bytes', () => {
    const pair = createPkcePair(counting);
    expect(pair.verifier).toBe(Buffer.from(counting(32)).toString('base64url'));
    expect(pair.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.challenge).toBe(createHash('sha256').update(pair.verifier).digest('base64url'));
    expect(pair.method).toBe('S256');
  });

  it('gives different pairs from the real CSPRNG', () => {
    expect(createPkcePair().verifier).not.toBe(createPkcePair().verifier);
  });

  it.each(['short', 'a'.repeat(129), `${'a'.repeat(42)} `, `${'a'.repeat(42)}!`])('refuses the verifier %j', (v) => {
    expect(() => pkceChallenge(v)).toThrow(InvalidArgumentError);
  });

  it('refuses a random source returning the wrong length', () => {
    expect(() => createPkcePair(() => new Uint8Array(3))).toThrow('random(32) must return a Uint8Array of 32 bytes');
  });
});

describe('randomState', () => {
  it('is 128 bits, base64url', () => {
    expect(randomState(counting)).toBe('AAECAwQFBgcICQoLDA0ODw');
    expect(randomState()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
