import type { Context, Hono } from 'hono';
import { ConnectionDroppedError } from '../emulator-error';
import type { GrantRecord } from '../state/grant-ledger';
import { personEntry, type UserRecord, type VoiceStatus } from '../state/user-directory';
import type { AppEnv, EmulatorState } from './app-context';
import { isDropped, json, pathParam, readForm, readQuery, requestHeader, withFaults } from './http-kit';

/** The realm named when a request carries no token at all (RFC 6750 §3.1: no error code then). */
const REALM_CHALLENGE = 'Bearer realm="api.mixi-platform.com"';

/** Why an access token was refused, worded for `error_description`; the first is the seed's, verbatim. */
const TOKEN_PROBLEMS = {
  expired: 'The access token expired',
  revoked: 'The access token was revoked',
  unknown: 'The access token is invalid',
} as const;

function invalidTokenChallenge(description: string): string {
  return `Bearer error="invalid_token", error_description="${description}"`;
}

/** The seed's exact challenge for an expired token: clients match on this description. */
export const EXPIRED_TOKEN_CHALLENGE = invalidTokenChallenge(TOKEN_PROBLEMS.expired);

const VOICE_MAX_LENGTH = 150;

/** An authenticated API call: who, through which grant, and its query (without the token). */
interface ApiCall {
  readonly grant: GrantRecord;
  readonly user: UserRecord;
  readonly query: Map<string, string>;
}

type ApiHandler = (c: Context<AppEnv>, call: ApiCall) => Response | Promise<Response>;

/**
 * The Graph APIs (api.mixi-platform.com/2/): People and Voice, behind the seed's Bearer rules. Every
 * call is counted by the status it got.
 */
export function mountGraphApiRoutes(app: Hono<AppEnv>, state: EmulatorState): void {
  const api = (scope: string, handler: ApiHandler) => (c: Context<AppEnv>) => countedApiCall(c, state, scope, handler);

  app.get(
    '/2/people/:userId/:groupId',
    api('r_profile', (c, call) => {
      const userId = pathParam(c, 'userId');
      const groupId = pathParam(c, 'groupId');
      if (userId !== '@me' && userId !== call.user.userId) {
        return json({ error: 'not_found', error_description: 'only @me (or your own id) can be read' }, 404);
      }
      if (groupId === '@self') return json({ entry: personEntry(call.user) });
      if (groupId !== '@friends') return json({ error: 'not_found', error_description: 'groupId must be @self or @friends' }, 404);
      const paging = readPaging(call.query, { startIndex: true, defaultCount: 20, maxCount: 1000 });
      if (typeof paging === 'string') return invalidRequest(paging);
      const friends = call.user.friendIds.flatMap((id) => {
        const friend = state.users.byId(id);
        return friend ? [personEntry(friend)] : [];
      });
      return json({
        entry: friends.slice(paging.startIndex, paging.startIndex + paging.count),
        totalResults: friends.length,
        startIndex: paging.startIndex,
        itemsPerPage: paging.count,
      });
    }),
  );

  app.get(
    '/2/voice/statuses/@me/user_timeline',
    api('r_voice', (_c, call) => {
      const paging = readPaging(call.query, { startIndex: false, defaultCount: 20, maxCount: 200 });
      if (typeof paging === 'string') return invalidRequest(paging);
      const newestFirst = call.user.statuses.slice(-paging.count).reverse();
      return json(newestFirst.map((s) => voiceJson(call.user, s)));
    }),
  );

  app.post(
    '/2/voice/statuses',
    api('w_voice', async (c, call) => {
      const form = await readForm(c, state.options.maxBodyBytes);
      if (!form.ok) return invalidRequest(form.description);
      if (form.params.has('access_token')) {
        return invalidRequest('send the access token in the Authorization header or the query, not the body');
      }
      const text = form.params.get('status');
      if (text === undefined || text.trim() === '') return invalidRequest('status is required');
      if ([...text].length > VOICE_MAX_LENGTH) return invalidRequest(`status is longer than ${VOICE_MAX_LENGTH} characters`);
      return json(voiceJson(call.user, state.users.postStatus(call.user, text)));
    }),
  );
}

async function countedApiCall(c: Context<AppEnv>, state: EmulatorState, scope: string, handler: ApiHandler): Promise<Response> {
  let response: Response;
  try {
    response = await withFaults(c, state, { endpoint: 'api' }, () => authorizedCall(c, state, scope, handler));
  } catch (error) {
    if (error instanceof ConnectionDroppedError) state.counters.apiCall('dropped');
    throw error;
  }
  state.counters.apiCall(isDropped(response) ? 'dropped' : response.status);
  return response;
}

function authorizedCall(c: Context<AppEnv>, state: EmulatorState, scope: string, handler: ApiHandler): Response | Promise<Response> {
  const query = readQuery(c);
  if (!query.ok) return invalidRequest(query.description);
  const token = bearerToken(requestHeader(c, 'authorization'), query.params.get('access_token'));
  if (token.kind === 'invalid') return invalidRequest(token.description);
  if (token.kind === 'none') return c.body(null, 401, { 'WWW-Authenticate': REALM_CHALLENGE });

  const check = state.ledger.checkAccessToken(token.value);
  if (!check.ok) {
    const description = TOKEN_PROBLEMS[check.reason];
    return json({ error: 'invalid_token', error_description: description }, 401, { 'WWW-Authenticate': invalidTokenChallenge(description) });
  }
  if (!check.scopes.includes(scope)) {
    return json({ error: 'insufficient_scope', error_description: `this API needs the ${scope} scope`, scope }, 403, {
      'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${scope}"`,
    });
  }
  query.params.delete('access_token');
  return handler(c, { grant: check.grant, user: check.grant.user, query: query.params });
}

type BearerToken = { kind: 'token'; value: string } | { kind: 'none' } | { kind: 'invalid'; description: string };

// RFC 6750 §2.1 b64token.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The access token from the `Authorization` header (`Bearer`, or the older `OAuth` scheme) or the
 * `access_token` query parameter. Both at once, or a malformed header, is `invalid_request`; a header
 * of another scheme counts as no token.
 */
function bearerToken(header: string | undefined, queryToken: string | undefined): BearerToken {
  let headerToken: string | undefined;
  if (header !== undefined) {
    const [scheme = '', ...rest] = header.trim().split(/ +/);
    const lower = scheme.toLowerCase();
    if (lower === 'bearer' || lower === 'oauth') {
      if (rest.length !== 1 || !B64TOKEN.test(rest[0]!)) return { kind: 'invalid', description: 'malformed Authorization header' };
      headerToken = rest[0];
    }
  }
  if (headerToken !== undefined && queryToken !== undefined) {
    return { kind: 'invalid', description: 'the access token was sent both in the Authorization header and in the query' };
  }
  const value = headerToken ?? queryToken;
  return value === undefined ? { kind: 'none' } : { kind: 'token', value };
}

function invalidRequest(description: string): Response {
  return json({ error: 'invalid_request', error_description: description }, 400, {
    'WWW-Authenticate': `Bearer error="invalid_request", error_description="${description.replace(/["\\]/g, '')}"`,
  });
}

/** Parses `startIndex` (0-based) and `count`: decimal digits only, within bounds, or an error message. */
function readPaging(
  query: Map<string, string>,
  rules: { startIndex: boolean; defaultCount: number; maxCount: number },
): { startIndex: number; count: number } | string {
  const startIndex = rules.startIndex ? decimal(query.get('startIndex'), 0, Number.MAX_SAFE_INTEGER) : 0;
  if (startIndex === undefined) return 'startIndex must be a non-negative integer';
  const count = decimal(query.get('count'), rules.defaultCount, rules.maxCount);
  if (count === undefined) return `count must be an integer from 0 to ${rules.maxCount}`;
  return { startIndex, count };
}

function decimal(value: string | undefined, fallback: number, max: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d{1,16}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= max ? n : undefined;
}

function voiceJson(user: UserRecord, status: VoiceStatus): Record<string, unknown> {
  const person = personEntry(user);
  return {
    id: status.id,
    created_at: new Date(status.createdAt).toISOString(),
    text: status.text,
    user: { id: person.id, screen_name: person.displayName, profile_image_url: person.thumbnailUrl, url: person.profileUrl },
    reply_count: 0,
    favorite_count: 0,
  };
}
