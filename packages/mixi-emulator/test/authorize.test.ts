import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE, type ServiceCredentials } from '../src/index';
import { authorizeUrl, bodyOf, Browser, ensureUser, exchangeCode, inputValue, jsonOf, postForm, registerService, startEmulator, type Harness } from './support/harness';

describe('authorization: login and consent (PC)', () => {
  let h: Harness;
  let client: ServiceCredentials;
  const request = (extra: Record<string, string> = {}) =>
    authorizeUrl(h.url, { client_id: client.clientId, response_type: 'code', scope: 'r_profile r_voice', state: 'xyz', ...extra });
  beforeAll(async () => {
    h = await startEmulator();
    client = registerService(h.emulator, { name: 'Consent test' });
    h.emulator.createTestUser({ username: 'alice', password: 'wonderland' });
  });
  afterAll(() => h.close());

  it('shows a login form with stable ids to a browser without a session', async () => {
    const res = await new Browser(h.url).get(request());
    expect(res.status).toBe(200);
    const html = await bodyOf(res);
    for (const id of ['login-form', 'username', 'password', 'login']) expect(html).toContain(`id="${id}"`);
    expect(inputValue(html, 'return_to')).toBe(new URL(request()).pathname + new URL(request()).search);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('refuses a wrong password with 401 and the form again', async () => {
    const browser = new Browser(h.url);
    const html = await bodyOf(await browser.get(request()));
    const res = await browser.post('/login', { username: 'alice', password: 'nope', return_to: inputValue(html, 'return_to') });
    expect(res.status).toBe(401);
    expect(await bodyOf(res)).toContain('id="login-error"');
    expect(browser.cookie(SESSION_COOKIE)).toBeUndefined();
  });

  it('logs in with an HttpOnly session cookie, then lists the requested scopes with Allow and Deny', async () => {
    const browser = new Browser(h.url);
    const html = await bodyOf(await browser.get(request()));
    const login = await browser.post('/login', { username: 'alice', password: 'wonderland', return_to: inputValue(html, 'return_to') });
    expect(login.status).toBe(303);
    expect(login.headers.get('set-cookie')).toMatch(new RegExp(`^${SESSION_COOKIE}=[0-9a-f]+;.*HttpOnly.*SameSite=Lax`, 'i'));
    const consent = await bodyOf(await browser.get(login.headers.get('location')!));
    expect(consent).toContain('id="service-name">Consent test<');
    expect(consent).toContain('data-scope="r_profile"');
    expect(consent).toContain('data-scope="r_voice"');
    expect(consent).toMatch(/Read your mixi Voice posts/);
    expect(consent).toContain('id="allow"');
    expect(consent).toContain('id="deny"');
    expect(consent).toContain('id="current-user">alice<');
  });

  it('redirects Allow to the registered URL with code and state, and the code works', async () => {
    const browser = new Browser(h.url);
    const consent = await browser.loginAndOpen(request(), 'alice', 'wonderland');
    const res = await browser.decide(consent, 'allow');
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('http://127.0.0.1:9/callback');
    expect(location.searchParams.get('state')).toBe('xyz');
    const code = location.searchParams.get('code')!;
    expect((await exchangeCode(h, client, code)).status).toBe(200);
  });

  it('redirects Deny with error=access_denied and state', async () => {
    const browser = new Browser(h.url);
    const consent = await browser.loginAndOpen(request(), 'alice', 'wonderland');
    const res = await browser.decide(consent, 'deny');
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('xyz');
    expect(location.searchParams.has('code')).toBe(false);
  });

  it('skips the login window for a logged-in browser (seed 001)', async () => {
    const browser = new Browser(h.url);
    await browser.loginAndOpen(request(), 'alice', 'wonderland');
    const again = await bodyOf(await browser.get(request({ state: 'second' })));
    expect(again).toContain('id="consent-form"');
    expect(again).not.toContain('id="login-form"');
  });

  it('refuses a consent POST without the session’s CSRF token', async () => {
    const browser = new Browser(h.url);
    const consent = await browser.loginAndOpen(request(), 'alice', 'wonderland');
    const requestId = inputValue(consent, 'request_id');
    expect((await browser.post('/connect_authorize.pl', { request_id: requestId, decision: 'allow' })).status).toBe(403);
    expect((await browser.post('/connect_authorize.pl', { request_id: requestId, csrf_token: 'f'.repeat(36), decision: 'allow' })).status).toBe(403);
    // Another session's valid token does not work either.
    const other = new Browser(h.url);
    const otherConsent = await other.loginAndOpen(request(), 'alice', 'wonderland');
    const crossed = await browser.post('/connect_authorize.pl', { request_id: requestId, csrf_token: inputValue(otherConsent, 'csrf_token'), decision: 'allow' });
    expect(crossed.status).toBe(403);
    // The refused attempts did not use the request up.
    expect((await browser.decide(consent, 'allow')).status).toBe(302);
  });

  it('refuses a consent POST with no session (401), a reused request (400) and a bad decision (400)', async () => {
    const browser = new Browser(h.url);
    const consent = await browser.loginAndOpen(request(), 'alice', 'wonderland');
    const fields = { request_id: inputValue(consent, 'request_id'), csrf_token: inputValue(consent, 'csrf_token') };
    expect((await postForm(`${h.url}/connect_authorize.pl`, { ...fields, decision: 'allow' })).status).toBe(401);
    expect((await browser.post('/connect_authorize.pl', { ...fields, decision: 'maybe' })).status).toBe(400);
    expect((await browser.post('/connect_authorize.pl', { ...fields, decision: 'allow' })).status).toBe(302);
    const reused = await browser.post('/connect_authorize.pl', { ...fields, decision: 'allow' });
    expect(reused.status).toBe(400);
    expect(await bodyOf(reused)).toContain('id="error-message"');
  });

  it('refuses a consent request older than 10 minutes', async () => {
    const browser = new Browser(h.url);
    const consent = await browser.loginAndOpen(request(), 'alice', 'wonderland');
    h.emulator.clock.advance(10 * 60_000);
    expect((await browser.decide(consent, 'allow')).status).toBe(400);
  });

  it('refuses a login whose return_to is not an authorization page (no open redirect)', async () => {
    for (const returnTo of ['https://evil.example/', '//evil.example/connect_authorize.pl?x', '/dashboard']) {
      const res = await postForm(`${h.url}/login`, { username: 'alice', password: 'wonderland', return_to: returnTo });
      expect(res.status).toBe(400);
      await bodyOf(res);
    }
  });

  it('escapes state, scope descriptions and service fields in the HTML', async () => {
    const nasty = registerService(h.emulator, { name: '<script>alert(1)</script>', description: '"><img src=x onerror=alert(1)>' });
    const browser = new Browser(h.url);
    const evilState = '"><script>alert(2)</script>';
    const loginHtml = await bodyOf(await browser.get(authorizeUrl(h.url, { client_id: nasty.clientId, response_type: 'code', scope: 'r_profile', state: evilState })));
    expect(loginHtml).not.toContain('<script>alert(2)');
    const consent = await browser.loginAndOpen(
      authorizeUrl(h.url, { client_id: nasty.clientId, response_type: 'code', scope: 'r_profile', state: evilState }),
      'alice',
      'wonderland',
    );
    expect(consent).not.toContain('<script>alert(1)');
    expect(consent).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(consent).not.toContain('<img src=x');
    const res = await browser.decide(consent, 'allow');
    expect(new URL(res.headers.get('location')!).searchParams.get('state')).toBe(evilState);
  });
});

describe('authorization: request validation', () => {
  let h: Harness;
  let client: ServiceCredentials;
  beforeAll(async () => {
    h = await startEmulator();
    client = registerService(h.emulator);
    ensureUser(h, 'bob');
  });
  afterAll(() => h.close());
  const base = () => ({ client_id: client.clientId, response_type: 'code', scope: 'r_profile', state: 's1' });

  it.each([
    ['a missing client_id', () => ({ response_type: 'code', scope: 'r_profile' })],
    ['an unknown client_id', () => ({ ...base(), client_id: 'ffffffffffffffffff' })],
    ['a redirect_uri that is not the registered one', () => ({ ...base(), redirect_uri: 'https://evil.example/cb' })],
  ])('shows an error page, without redirecting, for %s', async (_, params) => {
    const res = await fetch(authorizeUrl(h.url, params()), { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await bodyOf(res)).toContain('id="error-message"');
  });

  it('shows an error page for a repeated client_id', async () => {
    const res = await fetch(`${h.url}/connect_authorize.pl?client_id=${client.clientId}&client_id=${client.clientId}&response_type=code&scope=r_profile`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(400);
  });

  it('accepts a redirect_uri equal to the registered one', async () => {
    const res = await fetch(authorizeUrl(h.url, { ...base(), redirect_uri: 'http://127.0.0.1:9/callback' }), { redirect: 'manual' });
    expect(res.status).toBe(200);
  });

  it.each([
    ['a missing response_type', { response_type: '' }, 'invalid_request'],
    ['response_type=token', { response_type: 'token' }, 'unsupported_response_type'],
    ['a missing scope', { scope: '' }, 'invalid_request'],
    ['an unknown scope', { scope: 'r_profile <b>root</b>' }, 'invalid_scope'],
    ['an unknown display', { display: 'tv' }, 'invalid_request'],
    ['openid without server_state', { scope: 'openid r_profile' }, 'invalid_request'],
    ['an unknown server_state', { server_state: 'abc' }, 'invalid_request'],
  ])('redirects %s back with error=%s and the state', async (_, override, error) => {
    const params: Record<string, string> = { ...base(), ...override };
    for (const [k, v] of Object.entries(params)) if (v === '') delete params[k];
    const res = await fetch(authorizeUrl(h.url, params), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('http://127.0.0.1:9/callback');
    expect(location.searchParams.get('error')).toBe(error);
    expect(location.searchParams.get('state')).toBe('s1');
    expect(location.searchParams.has('code')).toBe(false);
  });

  it('redirects a repeated parameter back with invalid_request', async () => {
    const res = await fetch(`${authorizeUrl(h.url, base())}&scope=r_voice`, { redirect: 'manual' });
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it('refuses an expired server_state', async () => {
    const ss = await jsonOf<{ server_state: string }>(await postForm(`${h.url}/2/token`, { grant_type: 'server_state', client_id: client.clientId }));
    h.emulator.clock.advance(30 * 60_000);
    const res = await fetch(authorizeUrl(h.url, { ...base(), server_state: ss.server_state }), { redirect: 'manual' });
    expect(new URL(res.headers.get('location')!).searchParams.get('error_description')).toMatch(/expired/);
  });

  it('answers garbage query strings without a 500', async () => {
    for (const query of ['%', '%zz=%zz', 'client_id=%00', `client_id=${client.clientId}&scope=%E0%A4%A`, '&&&=']) {
      const res = await fetch(`${h.url}/connect_authorize.pl?${query}`, { redirect: 'manual' });
      expect([200, 302, 400]).toContain(res.status);
      await bodyOf(res);
    }
  });
});

describe('authorization: display, feature phones and the desktop page', () => {
  let h: Harness;
  let client: ServiceCredentials;
  beforeAll(async () => {
    h = await startEmulator({ autoCreateUsers: true });
    client = registerService(h.emulator);
  });
  afterAll(() => h.close());
  const params = (extra: Record<string, string> = {}) => ({ client_id: client.clientId, response_type: 'code', scope: 'r_profile', ...extra });

  it.each(['pc', 'touch', 'smartphone', 'ios'])('lays the page out for display=%s', async (display) => {
    const html = await bodyOf(await fetch(authorizeUrl(h.url, params({ display }))));
    expect(html).toContain(`data-layout="${display}"`);
    expect(html.includes('name="viewport"')).toBe(display !== 'pc');
  });

  it('serves feature phones their own page, ignores display there and accepts guid=ON', async () => {
    const browser = new Browser(h.url);
    const url = authorizeUrl(h.url, params({ display: 'tv', guid: 'ON', state: 'fp' }), '/m/connect_authorize.pl');
    const login = await bodyOf(await browser.get(url));
    expect(login).toContain('data-layout="feature-phone"');
    const consent = await browser.loginAndOpen(url, 'keitai-user', 'pw');
    expect(consent).toContain('action="/m/connect_authorize.pl"');
    expect(consent).toContain('data-layout="feature-phone"');
    const res = await browser.decide(consent, 'allow');
    expect(new URL(res.headers.get('location')!).searchParams.get('state')).toBe('fp');
  });

  it('creates unknown users on first login when autoCreateUsers is on', async () => {
    const browser = new Browser(h.url);
    await browser.loginAndOpen(authorizeUrl(h.url, params()), 'brand-new', 'secret');
    // The same username with another password is refused: the user exists now.
    const other = new Browser(h.url);
    const html = await bodyOf(await other.get(authorizeUrl(h.url, params())));
    const res = await other.post('/login', { username: 'brand-new', password: 'other', return_to: inputValue(html, 'return_to') });
    expect(res.status).toBe(401);
  });

  it('sends a desktop app registered with mixi’s success page to the emulator’s copy, which shows the code', async () => {
    const desktop = registerService(h.emulator, { name: 'Desktop', redirectUrl: 'https://mixi.jp/connect_authorize_success.html' });
    const browser = new Browser(h.url);
    const consent = await browser.loginAndOpen(
      authorizeUrl(h.url, { client_id: desktop.clientId, response_type: 'code', scope: 'r_profile', state: 'd1' }),
      'desk',
      'pw',
    );
    const res = await browser.decide(consent, 'allow');
    const location = new URL(res.headers.get('location')!);
    expect(location.origin).toBe(h.url);
    expect(location.pathname).toBe('/connect_authorize_success.html');
    const page = await bodyOf(await browser.get(location.toString()));
    const code = /<code id="code">([^<]+)<\/code>/.exec(page)?.[1];
    expect(code).toBe(location.searchParams.get('code'));
    // The code exchange names the registered URL, not the emulator's copy.
    const exchange = await exchangeCode(h, desktop, code!, { redirect_uri: 'https://mixi.jp/connect_authorize_success.html' });
    expect(exchange.status).toBe(200);
  });
});
