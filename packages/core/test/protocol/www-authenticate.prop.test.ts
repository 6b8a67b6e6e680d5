import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyBearerError, formatChallenge, parseWwwAuthenticate, type Challenge } from '../../src/protocol/index';

const RUNS = { numRuns: 2000 };

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const tchar = [...`!#$%&'*+-.^_\`|~${DIGITS}${LOWER}${UPPER}`];
const lowerTchar = [...`!#$%&'*+-.^_\`|~${DIGITS}${LOWER}`];
const token68Char = [...`-._~+/${DIGITS}${LOWER}${UPPER}`];

const schemeArb = fc.string({ unit: fc.constantFrom(...tchar), minLength: 1, maxLength: 10 });
const nameArb = fc.string({ unit: fc.constantFrom(...lowerTchar), minLength: 1, maxLength: 10 });
const token68Arb = fc
  .tuple(fc.string({ unit: fc.constantFrom(...token68Char), minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 2 }))
  .map(([body, pad]) => body + '='.repeat(pad));
const valueArb = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '"', '\\', "'x'", 'a, b="c"'));

const challengeArb: fc.Arbitrary<Challenge> = fc.oneof(
  fc
    .record({
      scheme: schemeArb,
      params: fc.uniqueArray(fc.tuple(nameArb, valueArb), { selector: ([name]) => name, maxLength: 5 }),
    })
    .map(({ scheme, params }) => ({ scheme, params: Object.fromEntries(params) })),
  fc.record({ scheme: schemeArb, token68: token68Arb }).map(({ scheme, token68 }) => ({ scheme, params: {}, token68 })),
);

// Fragments that make the parser's decisions hard, glued at random.
const headerishArb = fc
  .array(
    fc.constantFrom('Bearer', 'OAuth', 'Basic', ' ', '\t', ',', '=', '==', '"', "'", '\\', 'error', 'realm', 'abc', 'x/y', '\u00e9', '\u{1F600}'),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

function wellFormed(challenges: Challenge[]): void {
  for (const c of challenges) {
    expect(c.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
    for (const [name, value] of Object.entries(c.params)) {
      expect(name).toBe(name.toLowerCase());
      expect(typeof value).toBe('string');
    }
  }
}

describe('WWW-Authenticate properties', () => {
  it('round-trips generated challenges: format → parse → equal', () => {
    fc.assert(
      fc.property(fc.array(challengeArb, { minLength: 1, maxLength: 4 }), (challenges) => {
        expect(parseWwwAuthenticate(challenges.map(formatChallenge).join(', '))).toEqual(challenges);
      }),
      RUNS,
    );
  });

  it.each([
    ['fc.string()', fc.string()],
    ["fc.string({ unit: 'grapheme' })", fc.string({ unit: 'grapheme' })],
    ["fc.string({ unit: 'binary' })", fc.string({ unit: 'binary' })],
    ['header-like fragments', headerishArb],
    ['fc.anything()', fc.anything()],
  ])('never throws on %s and returns well-formed challenges', (_, arb) => {
    fc.assert(
      fc.property(arb as fc.Arbitrary<unknown>, (input) => {
        const challenges = parseWwwAuthenticate(input as string);
        expect(Array.isArray(challenges)).toBe(true);
        wellFormed(challenges);
      }),
      RUNS,
    );
  });

  it('classifyBearerError never throws on header-like input', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 599 }), fc.oneof(headerishArb, fc.string()), (status, value) => {
        const headers = new Headers();
        // Headers refuses some characters; those values cannot arrive in a real answer.
        try {
          headers.set('www-authenticate', value);
        } catch {
          return;
        }
        expect(classifyBearerError(status, headers).kind).toMatch(
          /^(none|expired|invalid_token|insufficient_scope|invalid_request|unknown)$/,
        );
      }),
      RUNS,
    );
  });
});
