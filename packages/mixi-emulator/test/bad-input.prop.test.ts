import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MintedGrant, ServiceCredentials } from '../src/index';
import { bodyOf, registerService, startEmulator, type Harness } from './support/harness';

/**
 * Whatever arrives — any method, path, query, headers or body — no endpoint answers 500 or shows a
 * stack trace, and every machine-facing endpoint answers an error as JSON with an `error` code.
 */
describe('bad input anywhere', () => {
  let h: Harness;
  let client: ServiceCredentials;
  let grant: MintedGrant;
  beforeAll(async () => {
    h = await startEmulator({ control: true, maxBodyBytes: 2048 });
    client = registerService(h.emulator);
    grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile r_voice w_voice' });
  });
  afterAll(() => h.close());

  const paths = fc.constantFrom(
    '/2/token',
    '/2/people/@me/@self',
    '/2/people/@me/@friends',
    '/2/people/%E0%A4%A/@self',
    '/2/voice/statuses',
    '/2/voice/statuses/@me/user_timeline',
    '/connect_authorize.pl',
    '/m/connect_authorize.pl',
    '/login',
    '/connect_authorize_success.html',
    '/dashboard',
    '/dashboard/services/new/confirm',
    '/dashboard/services/svc-1',
    '/dashboard/confirm',
    '/dashboard/api/services',
    '/dashboard/api/services/svc-1',
    '/dashboard/api/confirmations',
    '/dashboard/api/test-users',
    '/_emulator/faults',
    '/_emulator/grants',
    '/_emulator/grants/batch',
    '/_emulator/grants/lookup',
    '/_emulator/clock/advance',
    '/nowhere/%zz',
  );
  it('never answers 500, never leaks a stack trace, and machine endpoints always answer JSON errors', async () => {
    const token = () => fc.constantFrom(grant.accessToken, grant.refreshToken, client.clientId, client.clientSecret, 'svc-1', '@me');
    const text = fc.oneof(fc.string({ maxLength: 30 }), token(), fc.constantFrom('', '%', '%zz', '\u0000', '<script>', '{"a":', 'r_profile', 'code', 'allow'));
    const query = fc.array(fc.tuple(fc.constantFrom('client_id', 'response_type', 'scope', 'state', 'display', 'server_state', 'count', 'startIndex', 'access_token', 'token', 'x'), text), { maxLength: 5 });
    const method = fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD');
    const contentType = fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'multipart/form-data; boundary=x', 'text/plain', '');
    // fetch itself refuses header values with control characters, so those are not sent.
    const headerSafe = text.filter((t) => /^[\x20-\x7e]*$/.test(t));
    const authorization = fc.option(fc.oneof(token().map((t) => `Bearer ${t}`), headerSafe.map((t) => `Bearer ${t}`), headerSafe), { nil: undefined });
    const body = fc.oneof(
      fc.array(fc.tuple(fc.constantFrom('grant_type', 'code', 'refresh_token', 'client_id', 'client_secret', 'status', 'decision', 'name', 'ms'), text), { maxLength: 5 }).map((pairs) =>
        pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'),
      ),
      fc.json(),
      fc.string({ maxLength: 3000 }),
    );

    await fc.assert(
      fc.asyncProperty(method, paths, query, contentType, authorization, body, async (m, path, q, type, auth, payload) => {
        const headers: Record<string, string> = {};
        if (type) headers['content-type'] = type;
        if (auth !== undefined) headers.authorization = auth;
        const search = q.length ? `?${q.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : '';
        const res = await fetch(`${h.url}${path}${search}`, {
          method: m,
          headers,
          redirect: 'manual',
          ...(m === 'GET' || m === 'HEAD' ? {} : { body: payload }),
        });
        const text = await bodyOf(res);
        const machine = path.startsWith('/2/') || path.startsWith('/dashboard/api/') || path.startsWith('/_emulator/');
        if (machine && res.status >= 400 && m !== 'HEAD' && text !== '') {
          expect(JSON.parse(text)).toHaveProperty('error');
        }
      }),
      { numRuns: 400 },
    );
  });
});
