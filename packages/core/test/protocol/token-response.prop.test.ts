import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenVaultError } from '../../src/errors/errors';
import { processServerStateResponse, processTokenResponse, type HttpResponse, type TokenSet } from '../../src/protocol/index';
import { Secret } from '../../src/util/secret';
import { NOW } from './fixtures';

const RUNS = { numRuns: 2000 };

const statusArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(200) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 599 }) },
);
const headersArb = fc.oneof(
  fc.constant(new Headers()),
  fc.constant(new Headers({ 'content-type': 'application/json' })),
  fc.constant(new Headers({ 'retry-after': '30' })),
);

// Answers that look like token answers, so that the field checks are reached and not just JSON.parse.
const fieldArb = (valid: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: fc.jsonValue() });
const tokenishArb = fc.record(
  {
    access_token: fieldArb(fc.string()),
    token_type: fieldArb(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'mac', '')),
    expires_in: fieldArb(fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant('900'))),
    refresh_token: fieldArb(fc.string()),
    scope: fieldArb(fc.string()),
    id_token: fieldArb(fc.string()),
    error: fc.string(),
    error_description: fc.string(),
  },
  { requiredKeys: [] },
);

function isOwn(body: unknown, key: string): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.hasOwn(body, key);
}

/** A returned token set is valid and reflects the answer; anything thrown is a tokenvault error. */
function check(res: HttpResponse): void {
  let tokens: TokenSet;
  try {
    tokens = processTokenResponse(res, { now: NOW });
  } catch (e) {
    expect(e).toBeInstanceOf(TokenVaultError);
    return;
  }
  expect(res.status).toBeGreaterThanOrEqual(200);
  expect(res.status).toBeLessThan(300);
  const body: unknown = JSON.parse(res.body);
  expect(isOwn(body, 'access_token')).toBe(true);
  if (!isOwn(body, 'access_token')) return;
  expect(tokens.accessToken).toBeInstanceOf(Secret);
  expect(tokens.accessToken.reveal()).toBe(body.access_token);
  expect(tokens.accessToken.reveal().length).toBeGreaterThan(0);
  expect(tokens.tokenType.toLowerCase()).toBe('bearer');
  if (tokens.expiresAt !== null) expect(Number.isFinite(tokens.expiresAt) && tokens.expiresAt >= NOW).toBe(true);
  if (tokens.scope !== null) for (const s of tokens.scope) expect(s).toMatch(/^\S+$/);
  for (const t of [tokens.refreshToken, tokens.idToken]) {
    if (t !== null) {
      expect(t).toBeInstanceOf(Secret);
      expect(t.reveal().length).toBeGreaterThan(0);
    }
  }
}

const respond = (status: number, headers: Headers, body: string): HttpResponse => ({ status, headers, body });

describe('processTokenResponse properties', () => {
  it('arbitrary JSON values: a valid token set or a tokenvault error', () => {
    fc.assert(
      fc.property(fc.jsonValue(), statusArb, headersArb, (json, status, headers) =>
        check(respond(status, headers, JSON.stringify(json) ?? '')),
      ),
      RUNS,
    );
  });

  it('token-like objects: a valid token set or a tokenvault error', () => {
    fc.assert(
      fc.property(tokenishArb, statusArb, (body, status) => check(respond(status, new Headers(), JSON.stringify(body)))),
      RUNS,
    );
  });

  it('arbitrary strings: a valid token set or a tokenvault error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), statusArb, (text, status) =>
        check(respond(status, new Headers(), text)),
      ),
      RUNS,
    );
  });

  it('arbitrary bytes decoded as UTF-8: a valid token set or a tokenvault error', () => {
    const decoder = new TextDecoder();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), statusArb, (bytes, status) =>
        check(respond(status, new Headers(), decoder.decode(bytes))),
      ),
      RUNS,
    );
  });

  it('never accepts an answer without access_token', () => {
    const noAccessToken = tokenishArb.map(({ access_token: _, ...rest }) => rest);
    fc.assert(
      fc.property(noAccessToken, statusArb, (body, status) => {
        expect(() => processTokenResponse(respond(status, new Headers(), JSON.stringify(body)), { now: NOW })).toThrow(
          TokenVaultError,
        );
      }),
      RUNS,
    );
  });
});

describe('processServerStateResponse properties', () => {
  it('arbitrary JSON: a server_state or a tokenvault error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ server_state: fc.jsonValue(), expires_in: fc.jsonValue() })), statusArb, (json, status) => {
        try {
          const s = processServerStateResponse(respond(status, new Headers(), JSON.stringify(json) ?? ''), NOW);
          expect(s.serverState.reveal().length).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(TokenVaultError);
        }
      }),
      RUNS,
    );
  });
});
