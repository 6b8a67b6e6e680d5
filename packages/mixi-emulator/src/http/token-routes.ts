import type { Context, Hono } from 'hono';
import { parseScope } from '../scopes';
import type { TokenOutcome } from '../state/grant-ledger';
import type { ServiceRecord } from '../state/service-registry';
import type { AppEnv, EmulatorState } from './app-context';
import { hasQuery, json, jsonError, type ParamsResult, readForm, requestHeader, withFaults } from './http-kit';

type TokenErrorStatus = 400 | 401 | 405;

const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="secure.mixi-platform.com"' };

// RFC 6749 §5.1: token answers must never be cached.
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

/**
 * `POST /2/token` (secure.mixi-platform.com): the `authorization_code`, `refresh_token` and
 * `server_state` grants. Strict on purpose: form-encoded body only, no parameter twice, nothing in
 * the query string, one way of client authentication per request.
 */
export function mountTokenRoutes(app: Hono<AppEnv>, state: EmulatorState): void {
  app.post('/2/token', async (c) => {
    const form = await readForm(c, state.options.maxBodyBytes);
    const grantType = form.ok ? form.params.get('grant_type') : undefined;
    state.counters.tokenRequest(grantType);
    return withFaults(c, state, { endpoint: 'token', grantType }, () => tokenRequest(c, state, form));
  });
  app.all('/2/token', () => {
    state.counters.tokenRequest(undefined);
    return tokenError(state, 405, 'invalid_request', 'the token endpoint takes POST only', { Allow: 'POST' });
  });
}

function tokenRequest(c: Context<AppEnv>, state: EmulatorState, form: ParamsResult): Response {
  if (!form.ok) return tokenError(state, 400, 'invalid_request', form.description);
  if (hasQuery(c)) return tokenError(state, 400, 'invalid_request', 'token request parameters belong in the body, not the URL');
  const params = form.params;
  const grantType = params.get('grant_type');
  if (grantType === undefined) return tokenError(state, 400, 'invalid_request', 'grant_type is required');
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token' && grantType !== 'server_state') {
    return tokenError(state, 400, 'unsupported_grant_type', 'grant_type must be authorization_code, refresh_token or server_state');
  }

  const credentials = clientCredentials(c, params);
  if (!credentials.ok) {
    return tokenError(state, credentials.status, credentials.error, credentials.description, credentials.headers);
  }
  // server_state is fetched before authorization, where a secret may not be at hand: client_id alone
  // is enough there, but a secret that is sent must be the right one.
  const check = state.services.authenticate(credentials.clientId, credentials.clientSecret, { secretOptional: grantType === 'server_state' });
  if (!check.ok) return tokenError(state, 401, 'invalid_client', check.description, credentials.viaBasic ? BASIC_CHALLENGE : undefined);
  if (grantType === 'server_state') return json(state.ledger.issueServerState(check.service), 200, NO_STORE);
  return grantType === 'authorization_code' ? codeGrant(state, check.service, params) : refreshGrant(state, check.service, params);
}

function codeGrant(state: EmulatorState, service: ServiceRecord, params: Map<string, string>): Response {
  const code = params.get('code');
  if (code === undefined) return tokenError(state, 400, 'invalid_request', 'code is required');
  return answer(state, state.ledger.exchangeCode(service, code, params.get('redirect_uri'), params.get('server_state')));
}

function refreshGrant(state: EmulatorState, service: ServiceRecord, params: Map<string, string>): Response {
  const refreshToken = params.get('refresh_token');
  if (refreshToken === undefined) return tokenError(state, 400, 'invalid_request', 'refresh_token is required');
  let scope: readonly string[] | undefined;
  if (params.has('scope')) {
    const parsed = parseScope(params.get('scope'));
    if (!parsed.ok) return tokenError(state, 400, parsed.error, parsed.description);
    scope = parsed.scopes;
  }
  return answer(state, state.ledger.refresh(service, refreshToken, scope));
}

function answer(state: EmulatorState, outcome: TokenOutcome): Response {
  if (!outcome.ok) return tokenError(state, outcome.status, outcome.error, outcome.description);
  return json(outcome.body, 200, NO_STORE);
}

function tokenError(
  state: EmulatorState,
  status: TokenErrorStatus,
  error: string,
  description: string,
  headers?: Record<string, string>,
): Response {
  state.counters.tokenError(error);
  return jsonError(status, error, description, { ...NO_STORE, ...headers });
}

type CredentialsResult =
  | { readonly ok: true; readonly clientId: string; readonly clientSecret: string | undefined; readonly viaBasic: boolean }
  | {
      readonly ok: false;
      readonly status: 400 | 401;
      readonly error: 'invalid_request' | 'invalid_client';
      readonly description: string;
      readonly headers?: Record<string, string>;
    };

/**
 * The client's credentials: `client_secret_post` (the seed's way) or HTTP Basic (what generic OAuth
 * clients send). Both at once is refused, as RFC 6749 §2.3 says a client must use one method.
 */
function clientCredentials(c: Context<AppEnv>, params: Map<string, string>): CredentialsResult {
  const header = requestHeader(c, 'authorization');
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (header === undefined) {
    if (bodyId === undefined) return { ok: false, status: 401, error: 'invalid_client', description: 'client_id is required' };
    return { ok: true, clientId: bodyId, clientSecret: bodySecret, viaBasic: false };
  }
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match) return { ok: false, status: 400, error: 'invalid_request', description: 'the Authorization header must use the Basic scheme' };
  if (bodySecret !== undefined) {
    return { ok: false, status: 400, error: 'invalid_request', description: 'client credentials were sent both in the Authorization header and in the body' };
  }
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  let clientId: string;
  let clientSecret: string;
  try {
    if (colon < 1) throw new URIError('no colon');
    // RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
    clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    clientSecret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  } catch {
    return { ok: false, status: 401, error: 'invalid_client', description: 'the Basic credentials are malformed', headers: BASIC_CHALLENGE };
  }
  if (bodyId !== undefined && bodyId !== clientId) {
    return { ok: false, status: 400, error: 'invalid_request', description: 'client_id in the body differs from the Authorization header' };
  }
  return { ok: true, clientId, clientSecret, viaBasic: true };
}
