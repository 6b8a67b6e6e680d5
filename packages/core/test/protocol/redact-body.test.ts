import { describe, expect, it } from 'vitest';
import { redactBody, redactText } from '../../src/protocol/index';

describe('redactBody', () => {
  it('redacts every secret key of a JSON body, at any depth, in any case', () => {
    const body = {
      access_token: 'A',
      refresh_token: 'R',
      id_token: 'I',
      nested: [{ code: 'C', Client_Secret: 'S' }],
      server_state: 'SS',
      state: { deep: 1 },
      password: 'P',
      expires_in: 900,
      error_code: 'kept',
    };
    expect(JSON.parse(redactBody(JSON.stringify(body)))).toEqual({
      access_token: '[redacted]',
      refresh_token: '[redacted]',
      id_token: '[redacted]',
      nested: [{ code: '[redacted]', Client_Secret: '[redacted]' }],
      server_state: '[redacted]',
      state: '[redacted]',
      password: '[redacted]',
      expires_in: 900,
      error_code: 'kept',
    });
  });

  it('keeps a __proto__ key as a plain key', () => {
    expect(redactBody('{"__proto__":{"code":"C"}}')).toBe('{"__proto__":{"code":"[redacted]"}}');
  });

  it('keeps JSON primitives', () => {
    expect(redactBody('42')).toBe('42');
    expect(redactBody('null')).toBe('null');
  });

  it('cuts non-JSON text to 200 characters, redacting first', () => {
    const text = `${'x'.repeat(190)} access_token=SECRETSECRETSECRET`;
    const out = redactBody(text);
    expect(out).toHaveLength(200);
    expect(out).not.toContain('SECRET');
    expect(redactBody('<p>Oops</p>')).toBe('<p>Oops</p>');
  });

  it.each([
    ['code=abc&state=xyz', 'code=[redacted]&state=[redacted]'],
    ['{"access_token":"abc","x":1', '{"access_token":[redacted],"x":1'],
    ['{"access_token" : "a\\"bc"}', '{"access_token" : [redacted]}'],
    ["{'client_secret': 'abc'}", "{'client_secret': [redacted]}"],
    ['password: hunter2 next', 'password: [redacted] next'],
    ['{"refresh_token":"unterminated', '{"refresh_token":[redacted]'],
    ['error_code=E1 auth_state=S1 server_state=S2', 'error_code=E1 auth_state=S1 server_state=[redacted]'],
  ])('redactText(%j)', (text, expected) => {
    expect(redactText(text)).toBe(expected);
  });
});

describe('redactBody on free text inside JSON', () => {
  it('redacts pairs quoted inside string values', () => {
    expect(redactBody('{"error":"x","error_description":"bad code=abc"}')).toBe(
      '{"error":"x","error_description":"bad code=[redacted]"}',
    );
  });
});
