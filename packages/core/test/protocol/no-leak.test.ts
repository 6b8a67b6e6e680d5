import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  authorizationCodeGrantRequest,
  buildAuthorizationUrl,
  processServerStateResponse,
  processTokenResponse,
  providers,
  refreshTokenGrantRequest,
} from '../../src/protocol/index';
import { Secret } from '../../src/util/secret';
import { NOW, answer } from './fixtures';

const CANARY = 'CANARY7f3a9c';
const mixi = providers.mixi();
const creds = { clientId: 'id', clientSecret: new Secret(`${CANARY}-secret`), redirectUri: 'https://app.example/cb' };

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** Every way an error is commonly printed. */
function renderings(e: unknown): string[] {
  const err = e as Error;
  return [
    err.message,
    String(err),
    JSON.stringify(err),
    inspect(err, { depth: Infinity }),
    inspect(err, { depth: Infinity, showHidden: true }),
    String(err.stack),
  ];
}

function expectNoCanary(e: unknown, canary = CANARY): void {
  for (const text of renderings(e)) expect(text).not.toContain(canary);
}

describe('errors never show a token, code, state or secret from the input', () => {
  const token = (status: number, body: string | object) => () => processTokenResponse(answer(status, body), { now: NOW });

  it.each<[string, () => unknown]>([
    ['token_type mac', token(200, { access_token: CANARY, token_type: 'mac' })],
    ['bad expires_in', token(200, { access_token: CANARY, refresh_token: CANARY, expires_in: 'abc' })],
    ['empty refresh token beside a good access token', token(200, { access_token: CANARY, refresh_token: '' })],
    ['missing access_token', token(200, { refresh_token: CANARY, id_token: CANARY })],
    ['numeric access_token, canary id_token', token(200, { access_token: 1, id_token: CANARY })],
    ['200 with error and tokens', token(200, { error: 'invalid_grant', refresh_token: CANARY })],
    ['401 JSON without error', token(401, { refresh_token: CANARY })],
    ['400 invalid_grant echoing the code', token(400, { error: 'invalid_grant', code: CANARY, state: CANARY })],
    ['description with a token pair', token(400, { error: 'x', error_description: `bad refresh_token=${CANARY}` })],
    ['500 HTML with a token pair', token(500, `<html>access_token=${CANARY}&x</html>`)],
    ['503 JSON with tokens', token(503, { access_token: CANARY })],
    ['403 JSON with tokens', token(403, { nested: { client_secret: CANARY } })],
    ['200 garbage', token(200, `access_token ${CANARY}`)],
    ['200 array', token(200, [{ access_token: CANARY }])],
    ['server_state bad expires_in', () => processServerStateResponse(answer(200, { server_state: CANARY, expires_in: -1 }), NOW)],
    ['code grant, bad redirect', () => authorizationCodeGrantRequest(mixi, creds, { code: CANARY, redirectUri: 'rel' })],
    ['code grant, bad verifier', () => authorizationCodeGrantRequest(mixi, creds, { code: CANARY, codeVerifier: CANARY })],
    ['code grant, no client id', () => authorizationCodeGrantRequest(mixi, { ...creds, clientId: '' }, { code: CANARY })],
    ['refresh, bad scope', () => refreshTokenGrantRequest(mixi, creds, new Secret(CANARY), { scope: [CANARY + ' x'] })],
    [
      'authorization URL, bad display',
      () => buildAuthorizationUrl(mixi, creds, { scope: [], state: CANARY, serverState: CANARY, display: 'nope' }),
    ],
    ['authorization URL, bad extra', () => buildAuthorizationUrl(mixi, creds, { scope: [], state: CANARY, extra: { state: CANARY } })],
  ])('%s', (_, fn) => {
    expectNoCanary(caught(fn));
  });

  it('holds for generated answers with canaries in every secret field', () => {
    const canaryArb = fc.stringMatching(/^[A-Za-z0-9]{12,20}$/).map((s) => `CANARY${s}`);
    const junk = fc.oneof(fc.jsonValue(), fc.constant(''), fc.constant(-1), fc.constant('mac'));
    const bodyArb = fc.record(
      {
        access_token: fc.oneof(canaryArb, junk),
        refresh_token: fc.oneof(canaryArb, junk),
        id_token: fc.oneof(canaryArb, junk),
        code: canaryArb,
        state: canaryArb,
        token_type: fc.oneof(fc.constant('Bearer'), junk),
        expires_in: fc.oneof(fc.constant(900), junk),
        scope: fc.oneof(fc.constant('r_profile'), junk),
        error: fc.oneof(fc.constantFrom('invalid_grant', 'invalid_client'), junk),
      },
      { requiredKeys: [] },
    );
    const statusArb = fc.constantFrom(200, 400, 401, 403, 429, 500, 503);
    fc.assert(
      fc.property(bodyArb, statusArb, fc.boolean(), (body, status, asForm) => {
        const canaries = Object.values(body).filter((v): v is string => typeof v === 'string' && v.startsWith('CANARY'));
        const text = asForm
          ? new URLSearchParams(Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString()
          : JSON.stringify(body);
        let error: unknown;
        try {
          processTokenResponse(answer(status, text), { now: NOW });
          return;
        } catch (e) {
          error = e;
        }
        for (const canary of canaries) expectNoCanary(error, canary);
      }),
      { numRuns: 1000 },
    );
  });
});
