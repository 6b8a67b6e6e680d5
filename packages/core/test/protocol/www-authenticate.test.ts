import { describe, expect, it } from 'vitest';
import { formatChallenge, parseWwwAuthenticate } from '../../src/protocol/index';

const p = (...entries: [string, string][]) => Object.fromEntries(entries);

describe('parseWwwAuthenticate', () => {
  it('reads the seed challenge', () => {
    expect(parseWwwAuthenticate('Bearer error="invalid_token", error_description="The access token expired"')).toEqual([
      { scheme: 'Bearer', params: p(['error', 'invalid_token'], ['error_description', 'The access token expired']) },
    ]);
  });

  it('reads the older spec with single quotes', () => {
    expect(parseWwwAuthenticate("OAuth error='expired_token'")).toEqual([
      { scheme: 'OAuth', params: p(['error', 'expired_token']) },
    ]);
  });

  it('reads several challenges, token68, bare schemes, commas inside quotes', () => {
    expect(
      parseWwwAuthenticate('Newauth realm="apps", type=1, title="Login, to \\"apps\\"", Basic dXNlcjpwYXNz==, Negotiate, Bearer realm=x'),
    ).toEqual([
      { scheme: 'Newauth', params: p(['realm', 'apps'], ['type', '1'], ['title', 'Login, to "apps"']) },
      { scheme: 'Basic', params: {}, token68: 'dXNlcjpwYXNz==' },
      { scheme: 'Negotiate', params: {} },
      { scheme: 'Bearer', params: p(['realm', 'x']) },
    ]);
  });

  it('lowercases parameter names, keeps scheme case, first duplicate wins', () => {
    expect(parseWwwAuthenticate('bEaReR ERROR="a", error="b"')).toEqual([{ scheme: 'bEaReR', params: p(['error', 'a']) }]);
  });

  it('is liberal: spaces around =, missing commas, empty elements, URLs unquoted', () => {
    expect(parseWwwAuthenticate(' , Bearer  realm = "r"  error=invalid_token ,, scope="a b", uri=https://x/y ,')).toEqual([
      { scheme: 'Bearer', params: p(['realm', 'r'], ['error', 'invalid_token'], ['scope', 'a b'], ['uri', 'https://x/y']) },
    ]);
  });

  it('reads an unclosed quoted string to the end', () => {
    expect(parseWwwAuthenticate('Bearer error="invalid_tok')).toEqual([{ scheme: 'Bearer', params: p(['error', 'invalid_tok']) }]);
  });

  it('keeps __proto__ and constructor as ordinary parameters', () => {
    const [c] = parseWwwAuthenticate('Bearer __proto__="x", constructor="y"');
    expect(Object.getPrototypeOf(c?.params)).toBeNull();
    expect(c?.params.__proto__).toBe('x');
    expect(c?.params.constructor).toBe('y');
  });

  it('gives nothing, or what it could read, for junk', () => {
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(parseWwwAuthenticate('"""')).toEqual([]);
    expect(parseWwwAuthenticate('realm="x"')).toEqual([]);
    expect(parseWwwAuthenticate('@@@, Bearer error="e"')).toEqual([{ scheme: 'Bearer', params: p(['error', 'e']) }]);
    expect(parseWwwAuthenticate(42 as never)).toEqual([]);
  });
});

describe('formatChallenge', () => {
  it('quotes every value and escapes quotes and backslashes', () => {
    expect(formatChallenge({ scheme: 'Bearer', params: { error: 'insufficient_scope', scope: 'r_voice w_voice' } })).toBe(
      'Bearer error="insufficient_scope", scope="r_voice w_voice"',
    );
    expect(formatChallenge({ scheme: 'X', params: { a: 'q"b\\s' } })).toBe('X a="q\\"b\\\\s"');
    expect(formatChallenge({ scheme: 'Basic', params: {}, token68: 'abc=' })).toBe('Basic abc=');
    expect(formatChallenge({ scheme: 'Negotiate', params: {} })).toBe('Negotiate');
  });
});
