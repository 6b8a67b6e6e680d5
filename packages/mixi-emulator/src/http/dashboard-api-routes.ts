import type { Context, Hono } from 'hono';
import { EmulatorError } from '../emulator-error';
import { viewService, type OutboxMail, type ServiceInput, type ServiceUpdate } from '../state/service-registry';
import { viewUser, type TestUserInput } from '../state/user-directory';
import type { AppEnv, EmulatorState } from './app-context';
import { jsonApi } from './emulator-error-response';
import { json, pathParam, readJsonObject, requestOrigin, withFaults } from './http-kit';

const SERVICE_FIELDS = ['name', 'description', 'url', 'redirectUrl', 'inquiryEmail', 'logoFileName'] as const;

/** An outbox mail as the JSON API shows it: with the absolute confirmation link. */
export interface OutboxMailView extends OutboxMail {
  readonly confirmUrl: string;
}

/**
 * The Partner Dashboard for programs (`/dashboard/api/…`, JSON): everything the HTML dashboard does,
 * plus test users. Errors are `{"error","error_description","field"}` with 400, 404 or 409.
 */
export function mountDashboardApiRoutes(app: Hono<AppEnv>, state: EmulatorState): void {
  const route = (handler: (c: Context<AppEnv>) => Response | Promise<Response>) => (c: Context<AppEnv>) =>
    withFaults(c, state, { endpoint: 'dashboard' }, () => jsonApi(() => handler(c)));

  app.get('/dashboard/api/services', route(() => json({ services: state.services.list().map(viewService) })));
  app.post(
    '/dashboard/api/services',
    route(async (c) => json(viewService(state.services.register(serviceFields(await jsonBody(c, state.options.maxBodyBytes), true) as ServiceInput)), 201)),
  );
  app.get('/dashboard/api/services/:serviceId', route((c) => json(viewService(state.services.get(pathParam(c, 'serviceId'))))));
  app.patch(
    '/dashboard/api/services/:serviceId',
    route(async (c) => {
      const update = serviceFields(await jsonBody(c, state.options.maxBodyBytes), false);
      return json(viewService(state.services.update(pathParam(c, 'serviceId'), update)));
    }),
  );
  app.post(
    '/dashboard/api/services/:serviceId/secret',
    route((c) => {
      state.services.reissueSecret(pathParam(c, 'serviceId'));
      return json(viewService(state.services.get(pathParam(c, 'serviceId'))));
    }),
  );
  app.delete(
    '/dashboard/api/services/:serviceId',
    route((c) => {
      state.services.delete(pathParam(c, 'serviceId'));
      return c.body(null, 204);
    }),
  );
  app.get(
    '/dashboard/api/outbox',
    route((c) => {
      const origin = requestOrigin(c);
      const mails = state.services.outbox(c.req.query('to')).map((m): OutboxMailView => ({ ...m, confirmUrl: origin + m.confirmPath }));
      return json({ mails });
    }),
  );
  app.post(
    '/dashboard/api/confirmations',
    route(async (c) => {
      const body = await jsonBody(c, state.options.maxBodyBytes);
      return json(viewService(state.services.confirm(stringField(body, 'token', true)!)));
    }),
  );
  app.get('/dashboard/api/test-users', route(() => json({ users: state.users.list().map(viewUser) })));
  app.post(
    '/dashboard/api/test-users',
    route(async (c) => json(viewUser(state.users.create(testUserFields(await jsonBody(c, state.options.maxBodyBytes)))), 201)),
  );
}

async function jsonBody(c: Context<AppEnv>, maxBytes: number): Promise<Record<string, unknown>> {
  const body = await readJsonObject(c, maxBytes);
  if (!body.ok) throw new EmulatorError('invalid_input', body.description, { field: 'body' });
  return body.value;
}

/** Picks the service fields from a JSON body: strings only, no unknown keys (typos fail loudly). */
export function serviceFields(body: Record<string, unknown>, requireAll: boolean): ServiceUpdate {
  rejectUnknown(body, SERVICE_FIELDS);
  const out: { -readonly [K in keyof ServiceInput]?: string } = {};
  for (const field of SERVICE_FIELDS) {
    const required = requireAll && field !== 'url' && field !== 'logoFileName';
    const value = stringField(body, field, required);
    if (value !== undefined) out[field] = value;
  }
  return out;
}

function testUserFields(body: Record<string, unknown>): TestUserInput {
  rejectUnknown(body, ['username', 'password', 'displayName', 'friends']);
  const friends = body.friends;
  if (friends !== undefined && (!Array.isArray(friends) || !friends.every((f) => typeof f === 'string'))) {
    throw new EmulatorError('invalid_input', 'friends must be an array of usernames or user ids', { field: 'friends' });
  }
  const password = stringField(body, 'password', false);
  const displayName = stringField(body, 'displayName', false);
  return {
    username: stringField(body, 'username', true)!,
    ...(password === undefined ? {} : { password }),
    ...(displayName === undefined ? {} : { displayName }),
    ...(friends === undefined ? {} : { friends: friends as string[] }),
  };
}

/** A string field of a JSON body; present-but-not-a-string, or missing when required, is an error. */
export function stringField(body: Record<string, unknown>, field: string, required: boolean): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required) throw new EmulatorError('invalid_input', `${field} is required`, { field });
    return undefined;
  }
  if (typeof value !== 'string') throw new EmulatorError('invalid_input', `${field} must be a string`, { field });
  return value;
}

/** Refuses keys a JSON body should not have. */
export function rejectUnknown(body: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) throw new EmulatorError('invalid_input', `unknown field ${key.slice(0, 40)}`, { field: key.slice(0, 40) });
  }
}
