import type { Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { EmulatorError } from '../emulator-error';
import { describeScope, parseScope } from '../scopes';
import {
  csrfMatches,
  type AuthorizationChannel,
  type ConsentRequest,
  type Display,
  type LoginSession,
} from '../state/consent-sessions';
import type { ServiceRecord } from '../state/service-registry';
import type { AppEnv, EmulatorState } from './app-context';
import { markup, sendErrorPage, sendPage, type Layout } from './html-page';
import { readForm, readQuery, requestOrigin, withFaults } from './http-kit';

/** The session cookie of the emulated mixi.jp. */
export const SESSION_COOKIE = 'mixi_session';

const PC_PATH = '/connect_authorize.pl';
const FEATURE_PHONE_PATH = '/m/connect_authorize.pl';
const SUCCESS_PATH = '/connect_authorize_success.html';
const DISPLAYS: readonly Display[] = ['pc', 'touch', 'smartphone', 'ios'];
const MAX_STATE_LENGTH = 2048;

/** A validated authorization request. */
interface AuthorizationParams {
  readonly channel: AuthorizationChannel;
  readonly display: Display;
  readonly service: ServiceRecord;
  readonly scopes: readonly string[];
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly serverState: string | undefined;
  readonly nonce: string | undefined;
}

type AuthorizationParse =
  | { readonly kind: 'ok'; readonly params: AuthorizationParams }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'page'; readonly message: string };

/**
 * The authorization pages of seed 001: `GET /connect_authorize.pl` (PC and smartphone) and
 * `GET /m/connect_authorize.pl` (feature phone), the test-user login, the consent form's Allow/Deny,
 * and the desktop page `connect_authorize_success.html`.
 */
export function mountAuthorizeRoutes(app: Hono<AppEnv>, state: EmulatorState): void {
  const faulted = (handler: (c: Context<AppEnv>) => Response | Promise<Response>) => (c: Context<AppEnv>) =>
    withFaults(c, state, { endpoint: 'authorize' }, () => handler(c));

  app.get(PC_PATH, faulted((c) => authorizationPage(c, state, 'pc')));
  app.get(FEATURE_PHONE_PATH, faulted((c) => authorizationPage(c, state, 'feature-phone')));
  app.post(PC_PATH, faulted((c) => consentDecision(c, state)));
  app.post(FEATURE_PHONE_PATH, faulted((c) => consentDecision(c, state)));
  app.post('/login', faulted((c) => login(c, state)));
  app.get(SUCCESS_PATH, faulted((c) => successPage(c)));
}

function authorizationPage(c: Context<AppEnv>, state: EmulatorState, channel: AuthorizationChannel): Response {
  const parsed = parseAuthorizationRequest(c, state, channel);
  if (parsed.kind === 'page') return sendErrorPage(c, 400, 'Invalid authorization request', parsed.message, layoutOf(channel, 'pc'));
  if (parsed.kind === 'redirect') return c.redirect(parsed.location, 302);
  const params = parsed.params;
  const session = state.sessions.session(getCookie(c, SESSION_COOKIE));
  if (!session) {
    // The seed: a user already logged in to mixi.jp skips this window and goes straight to consent.
    const url = new URL(c.req.url);
    return loginPage(c, { returnTo: url.pathname + url.search, layout: layoutOf(channel, params.display) });
  }
  return consentPage(c, session, state.sessions.open(session, params));
}

/** Validates the request in the order RFC 6749 §4.1.2.1 implies: what makes a redirect safe comes first. */
function parseAuthorizationRequest(c: Context<AppEnv>, state: EmulatorState, channel: AuthorizationChannel): AuthorizationParse {
  const query = new URL(c.req.url).searchParams;
  const clientIds = query.getAll('client_id');
  if (clientIds.length !== 1 || clientIds[0] === '') return { kind: 'page', message: 'client_id is required, exactly once' };
  const service = state.services.findClient(clientIds[0]!);
  if (!service) return { kind: 'page', message: 'client_id is not a registered, confirmed service' };
  const redirectUris = query.getAll('redirect_uri');
  if (redirectUris.length > 1 || (redirectUris.length === 1 && redirectUris[0] !== service.redirectUrl)) {
    return { kind: 'page', message: 'redirect_uri does not match the redirect URL registered for this service' };
  }

  // From here on the registered redirect URL is safe to use, so errors go back to the client.
  const single = readQuery(c);
  const stateValues = query.getAll('state');
  const echoState = stateValues.length === 1 && stateValues[0] !== '' ? stateValues[0] : undefined;
  const fail = (error: string, description: string): AuthorizationParse => ({
    kind: 'redirect',
    location: redirectWith(service.redirectUrl, requestOrigin(c), { error, error_description: description, state: echoState }),
  });
  if (!single.ok) return fail('invalid_request', single.description);
  const params = single.params;
  const responseType = params.get('response_type');
  if (responseType === undefined) return fail('invalid_request', 'response_type is required');
  if (responseType !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  const scope = parseScope(params.get('scope'));
  if (!scope.ok) return fail(scope.error, scope.description);
  // Feature phones get their own page whatever display says (seed 001).
  let display: Display = 'pc';
  const displayParam = params.get('display');
  if (channel === 'pc' && displayParam !== undefined) {
    if (!DISPLAYS.includes(displayParam as Display)) return fail('invalid_request', 'display must be pc, touch, smartphone or ios');
    display = displayParam as Display;
  }
  if (echoState !== undefined && echoState.length > MAX_STATE_LENGTH) return fail('invalid_request', 'state is too long');
  const serverState = params.get('server_state');
  if (serverState !== undefined) {
    const problem = state.ledger.checkServerState(service, serverState);
    if (problem) return fail('invalid_request', problem);
  } else if (scope.scopes.includes('openid')) {
    return fail('invalid_request', 'server_state is required when scope contains openid');
  }
  const nonce = params.get('nonce');
  if (nonce !== undefined && nonce.length > 255) return fail('invalid_request', 'nonce is too long');
  return {
    kind: 'ok',
    params: { channel, display, service, scopes: scope.scopes, redirectUri: service.redirectUrl, state: echoState, serverState, nonce },
  };
}

async function consentDecision(c: Context<AppEnv>, state: EmulatorState): Promise<Response> {
  const layout = c.req.path === FEATURE_PHONE_PATH ? 'feature-phone' : 'pc';
  const form = await readForm(c, state.options.maxBodyBytes);
  if (!form.ok) return sendErrorPage(c, 400, 'Invalid consent form', form.description, layout);
  const session = state.sessions.session(getCookie(c, SESSION_COOKIE));
  if (!session) return sendErrorPage(c, 401, 'Not logged in', 'Your session has ended. Start the authorization again.', layout);
  if (!csrfMatches(session, form.params.get('csrf_token'))) {
    return sendErrorPage(c, 403, 'Request refused', 'The consent form was not submitted from this session (CSRF check failed).', layout);
  }
  const decision = form.params.get('decision');
  if (decision !== 'allow' && decision !== 'deny') return sendErrorPage(c, 400, 'Invalid consent form', 'decision must be allow or deny', layout);
  const request = state.sessions.take(session, form.params.get('request_id') ?? '');
  if (!request) {
    return sendErrorPage(c, 400, 'Authorization expired', 'This authorization request is unknown, expired or already answered. Start again.', layout);
  }
  const origin = requestOrigin(c);
  if (decision === 'deny') {
    state.counters.authorization('denied');
    return c.redirect(redirectWith(request.redirectUri, origin, { error: 'access_denied', state: request.state }), 302);
  }
  const code = state.ledger.issueCode({
    service: request.service,
    user: session.user,
    scopes: request.scopes,
    redirectUri: request.redirectUri,
    serverState: request.serverState,
    nonce: request.nonce,
  });
  state.counters.authorization('allowed');
  return c.redirect(redirectWith(request.redirectUri, origin, { code, state: request.state }), 302);
}

async function login(c: Context<AppEnv>, state: EmulatorState): Promise<Response> {
  const form = await readForm(c, state.options.maxBodyBytes);
  if (!form.ok) return sendErrorPage(c, 400, 'Invalid login form', form.description);
  const returnTo = form.params.get('return_to');
  if (returnTo === undefined || !isAuthorizationPath(returnTo)) {
    return sendErrorPage(c, 400, 'Invalid login form', 'return_to must be an authorization page of this server');
  }
  const layout: Layout = returnTo.startsWith(FEATURE_PHONE_PATH) ? 'feature-phone' : 'pc';
  const username = form.params.get('username') ?? '';
  const password = form.params.get('password') ?? '';
  let user = state.users.login(username, password);
  if (!user && state.options.autoCreateUsers && username !== '' && password !== '' && !state.users.byUsername(username)) {
    try {
      user = state.users.create({ username, password });
    } catch (error) {
      if (!(error instanceof EmulatorError)) throw error;
      return loginPage(c, { returnTo, layout, error: error.message }, 401);
    }
  }
  if (!user) return loginPage(c, { returnTo, layout, error: 'Wrong username or password.' }, 401);
  const session = state.sessions.start(user);
  setCookie(c, SESSION_COOKIE, session.sessionId, { httpOnly: true, sameSite: 'Lax', path: '/' });
  return c.redirect(returnTo, 303);
}

function successPage(c: Context<AppEnv>): Response {
  const query = new URL(c.req.url).searchParams;
  const code = query.get('code');
  const error = query.get('error');
  const stateValue = query.get('state');
  const body = markup`<h1>mixi Connect</h1>
${code ? markup`<p>Authorization succeeded. Copy this code into the application:</p><p><code id="code">${code}</code></p>` : ''}
${error ? markup`<p class="error">Authorization did not complete: <code id="error">${error}</code></p>` : ''}
${!code && !error ? markup`<p id="empty">Nothing to show: this page displays the result of an authorization.</p>` : ''}
${stateValue ? markup`<p>state: <code id="state">${stateValue}</code></p>` : ''}`;
  return sendPage(c, { title: 'mixi Connect', layout: 'pc', body });
}

function loginPage(c: Context<AppEnv>, page: { returnTo: string; layout: Layout; error?: string }, status: 200 | 401 = 200): Response {
  const body = markup`<h1>Log in to mixi</h1>
<p>Log in with a test user to continue to the authorization.</p>
${page.error ? markup`<p id="login-error" class="error">${page.error}</p>` : ''}
<form id="login-form" method="post" action="/login">
<input type="hidden" name="return_to" value="${page.returnTo}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<p><button id="login" type="submit">Log in</button></p>
</form>`;
  return sendPage(c, { title: 'Log in – mixi', layout: page.layout, body }, status);
}

function consentPage(c: Context<AppEnv>, session: LoginSession, request: ConsentRequest): Response {
  const service = request.service;
  const action = request.channel === 'feature-phone' ? FEATURE_PHONE_PATH : PC_PATH;
  const body = markup`<h1>Allow <span id="service-name">${service.name}</span> to access your mixi account?</h1>
<p id="service-description">${service.description}</p>
${service.logoFileName ? markup`<p>Logo: <span id="service-logo">${service.logoFileName}</span></p>` : ''}
<p>Logged in as <strong id="current-user">${session.user.username}</strong>.</p>
<p>This service asks to:</p>
<ul id="scope-list">
${request.scopes.map((scope) => markup`<li data-scope="${scope}"><code>${scope}</code> — ${describeScope(scope) ?? scope}</li>`)}
</ul>
<form id="consent-form" method="post" action="${action}">
<input type="hidden" name="request_id" value="${request.requestId}">
<input type="hidden" name="csrf_token" value="${session.csrfToken}">
<button id="allow" type="submit" name="decision" value="allow">Allow</button>
<button id="deny" type="submit" name="decision" value="deny">Deny</button>
</form>`;
  return sendPage(c, { title: `Authorize ${service.name} – mixi`, layout: layoutOf(request.channel, request.display), body });
}

function layoutOf(channel: AuthorizationChannel, display: Display): Layout {
  return channel === 'feature-phone' ? 'feature-phone' : display;
}

function isAuthorizationPath(path: string): boolean {
  return /^\/(?:m\/)?connect_authorize\.pl\?[^\s\\]*$/.test(path);
}

/**
 * The registered redirect URL with OAuth parameters added. mixi's desktop page
 * (`http(s)://mixi.jp/connect_authorize_success.html`) is served by the emulator itself, on the
 * origin the browser used, since one emulator stands for every mixi host.
 */
function redirectWith(registered: string, origin: string, params: Record<string, string | undefined>): string {
  const url = new URL(registered);
  const target = url.hostname === 'mixi.jp' && url.pathname === SUCCESS_PATH ? new URL(SUCCESS_PATH + url.search, origin) : url;
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) target.searchParams.set(name, value);
  }
  return target.toString();
}
