import type { Context, Hono } from 'hono';
import { EmulatorError } from '../emulator-error';
import type { MixiEmulatorControls } from '../mixi-emulator';
import { validateFaultRule } from '../state/fault-injector';
import type { TokenLookup } from '../state/grant-ledger';
import type { ServiceInput } from '../state/service-registry';
import type { AppEnv } from './app-context';
import { rejectUnknown, serviceFields, stringField } from './dashboard-api-routes';
import { jsonApi } from './emulator-error-response';
import { isLoopbackAddress, json, jsonError, nodeBindings, pathParam, readJsonObject } from './http-kit';

/**
 * The control API (`/_emulator/…`, JSON) for tests, benchmarks and other processes: the virtual
 * clock, fault rules, counters, and the programmatic helpers (register a confirmed service, mint
 * grants, revoke, expire). Each route calls the same `MixiEmulator` method a test would call
 * in-process. Mounted only with `control: true`; a peer that is not on loopback is refused.
 */
export function mountControlRoutes(app: Hono<AppEnv>, emulator: MixiEmulatorControls): void {
  app.use('/_emulator/*', async (c, next) => {
    // In-process fetch has no peer; over a socket only loopback peers may drive the emulator.
    const peer = nodeBindings(c)?.incoming?.socket.remoteAddress;
    if (nodeBindings(c)?.incoming && !isLoopbackAddress(peer)) {
      return jsonError(403, 'forbidden', 'the control API answers loopback peers only');
    }
    await next();
  });
  const route = (handler: (c: Context<AppEnv>) => Response | Promise<Response>) => (c: Context<AppEnv>) => jsonApi(() => handler(c));
  const body = (c: Context<AppEnv>, known?: readonly string[]) => readBodyObject(c, emulator.options.maxBodyBytes, known);
  const clockView = () => ({ now: emulator.clock.now(), offsetMs: emulator.clock.offsetMs });

  app.get('/_emulator/clock', route(() => json(clockView())));
  app.post(
    '/_emulator/clock/advance',
    route(async (c) => {
      emulator.clock.advance(numberField(await body(c, ['ms']), 'ms'));
      return json(clockView());
    }),
  );
  app.post(
    '/_emulator/clock/set',
    route(async (c) => {
      emulator.clock.set(numberField(await body(c, ['now']), 'now'));
      return json(clockView());
    }),
  );

  app.get('/_emulator/faults', route(() => json({ faults: emulator.faults.list() })));
  app.post('/_emulator/faults', route(async (c) => json(emulator.faults.add(validateFaultRule(await body(c))), 201)));
  app.delete(
    '/_emulator/faults',
    route((c) => {
      emulator.faults.clear();
      return c.body(null, 204);
    }),
  );
  app.delete(
    '/_emulator/faults/:faultId',
    route((c) =>
      emulator.faults.remove(pathParam(c, 'faultId')) ? c.body(null, 204) : jsonError(404, 'not_found', 'no fault rule with this id'),
    ),
  );

  app.get('/_emulator/counters', route((c) => json(emulator.counters.snapshot({ perGrant: c.req.query('perGrant') !== 'false' }))));
  app.post(
    '/_emulator/counters/reset',
    route((c) => {
      emulator.counters.reset();
      return c.body(null, 204);
    }),
  );

  app.post('/_emulator/services', route(async (c) => json(emulator.registerService(serviceFields(await body(c), true) as ServiceInput), 201)));
  app.post('/_emulator/grants', route(async (c) => json(emulator.mintGrant(mintInput(await body(c, ['clientId', 'scope', 'username']))), 201)));
  app.post(
    '/_emulator/grants/batch',
    route(async (c) => {
      const b = await body(c, ['clientId', 'scope', 'username', 'count']);
      return json({ grants: emulator.mintGrants({ ...mintInput(b), count: numberField(b, 'count') }) }, 201);
    }),
  );
  app.post(
    '/_emulator/grants/lookup',
    route(async (c) => {
      const b = await body(c, ['accessToken', 'refreshToken']);
      const accessToken = stringField(b, 'accessToken', false);
      const refreshToken = stringField(b, 'refreshToken', false);
      if ((accessToken === undefined) === (refreshToken === undefined)) {
        throw new EmulatorError('invalid_input', 'send exactly one of accessToken and refreshToken', { field: 'accessToken' });
      }
      const lookup: TokenLookup = accessToken !== undefined ? { accessToken } : { refreshToken: refreshToken! };
      const grant = emulator.findGrant(lookup);
      return grant ? json(grant) : jsonError(404, 'not_found', 'no grant holds this token');
    }),
  );
  app.get('/_emulator/grants/:grantId', route((c) => json(emulator.getGrant(pathParam(c, 'grantId')))));
  app.post('/_emulator/grants/:grantId/revoke', route((c) => json(emulator.revokeGrant(pathParam(c, 'grantId')))));
  app.post('/_emulator/grants/:grantId/expire-refresh-token', route((c) => json(emulator.expireRefreshToken(pathParam(c, 'grantId')))));
  app.post('/_emulator/grants/:grantId/expire-access-token', route((c) => json(emulator.expireAccessToken(pathParam(c, 'grantId')))));
  app.post(
    '/_emulator/users/:user/revoke-grants',
    route((c) => json({ revoked: emulator.revokeUserGrants(pathParam(c, 'user'), c.req.query('clientId')) })),
  );
}

async function readBodyObject(c: Context<AppEnv>, maxBodyBytes: number, known?: readonly string[]): Promise<Record<string, unknown>> {
  const parsed = await readJsonObject(c, maxBodyBytes);
  if (!parsed.ok) throw new EmulatorError('invalid_input', parsed.description, { field: 'body' });
  if (known) rejectUnknown(parsed.value, known);
  return parsed.value;
}

function numberField(b: Record<string, unknown>, field: string): number {
  const value = b[field];
  if (typeof value !== 'number') throw new EmulatorError('invalid_input', `${field} must be a number`, { field });
  return value;
}

function mintInput(b: Record<string, unknown>): { clientId: string; scope: string | string[]; username?: string } {
  const scope = b.scope;
  if (!(typeof scope === 'string' || (Array.isArray(scope) && scope.every((s) => typeof s === 'string')))) {
    throw new EmulatorError('invalid_input', 'scope must be a string or an array of strings', { field: 'scope' });
  }
  const username = stringField(b, 'username', false);
  return { clientId: stringField(b, 'clientId', true)!, scope: scope as string | string[], ...(username === undefined ? {} : { username }) };
}
