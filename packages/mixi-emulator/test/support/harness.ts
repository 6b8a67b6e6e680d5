import { expect } from 'vitest';
import { consentAs, createMixiEmulator, EmulatorError, type MixiEmulator, type MixiEmulatorOptions, type RunningEmulator, type ServiceCredentials } from '../../src/index';

/** A started emulator on loopback, with its URL. */
export interface Harness {
  readonly emulator: MixiEmulator;
  readonly server: RunningEmulator;
  readonly url: string;
  close(): Promise<void>;
}

/** Starts an emulator on 127.0.0.1 with a free port. */
export async function startEmulator(options: MixiEmulatorOptions = {}): Promise<Harness> {
  const emulator = createMixiEmulator(options);
  const server = await emulator.listen({ port: 0 });
  return { emulator, server, url: server.url, close: () => server.close() };
}

/** The default test service, registered and confirmed. */
export function registerService(emulator: MixiEmulator, overrides: Partial<Parameters<MixiEmulator['registerService']>[0]> = {}): ServiceCredentials {
  return emulator.registerService({
    name: 'Test service',
    description: 'Used by the emulator tests',
    redirectUrl: 'http://127.0.0.1:9/callback',
    inquiryEmail: 'dev@example.com',
    ...overrides,
  });
}

/** POSTs an `application/x-www-form-urlencoded` body. */
export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

/** POSTs a JSON body. */
export function postJson(url: string, body: unknown, method = 'POST'): Promise<Response> {
  return fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Reads the body and checks what every answer must satisfy: no 500 and no stack trace. */
export async function bodyOf(res: Response): Promise<string> {
  const text = await res.text();
  expect(res.status).not.toBe(500);
  expect(text).not.toMatch(/\n\s+at [\w.<>]+ \(|node:internal|\.ts:\d+:\d+/);
  return text;
}

/** Reads a JSON body (checking it is sane as {@link bodyOf} does). */
export async function jsonOf<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await bodyOf(res);
  expect(res.headers.get('content-type') ?? '').toContain('application/json');
  return JSON.parse(text) as T;
}

/** Expects an OAuth JSON error with this status and `error`. */
export async function expectOAuthError(res: Response, status: number, error: string): Promise<Record<string, unknown>> {
  const body = await jsonOf(res);
  expect({ status: res.status, error: body.error }).toEqual({ status, error });
  expect(typeof body.error_description).toBe('string');
  return body;
}

/** The value of a hidden (or any) input with this name in an HTML page. */
export function inputValue(html: string, name: string): string {
  const tag = new RegExp(`<input[^>]*name="${name}"[^>]*>`).exec(html)?.[0];
  const value = tag && /value="([^"]*)"/.exec(tag)?.[1];
  if (value === undefined) throw new Error(`no input named ${name}`);
  return value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * A browser's part in the authorization flow: a cookie jar, redirects not followed (the tests look
 * at every hop), forms posted like a browser would.
 */
export class Browser {
  readonly #cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  async get(pathOrUrl: string): Promise<Response> {
    return this.#keep(await fetch(this.#url(pathOrUrl), { headers: this.#headers(), redirect: 'manual' }));
  }

  async post(pathOrUrl: string, fields: Record<string, string>): Promise<Response> {
    return this.#keep(
      await fetch(this.#url(pathOrUrl), {
        method: 'POST',
        headers: { ...this.#headers(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
        redirect: 'manual',
      }),
    );
  }

  /** The session cookie's value, if any. */
  cookie(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  /** Logs in through the login page that `authorizeUrl` shows, and returns the consent page HTML. */
  async loginAndOpen(authorizeUrl: string, username: string, password = 'password'): Promise<string> {
    const loginPage = await bodyOf(await this.get(authorizeUrl));
    const returnTo = inputValue(loginPage, 'return_to');
    const login = await this.post('/login', { username, password, return_to: returnTo });
    expect(login.status).toBe(303);
    const consent = await this.get(login.headers.get('location')!);
    expect(consent.status).toBe(200);
    return bodyOf(consent);
  }

  /** Submits the consent form of `consentHtml` with Allow or Deny; returns the redirect. */
  async decide(consentHtml: string, decision: 'allow' | 'deny'): Promise<Response> {
    const action = /<form id="consent-form" method="post" action="([^"]+)"/.exec(consentHtml)?.[1];
    if (!action) throw new Error('no consent form');
    return this.post(action, {
      request_id: inputValue(consentHtml, 'request_id'),
      csrf_token: inputValue(consentHtml, 'csrf_token'),
      decision,
    });
  }

  #url(pathOrUrl: string): string {
    return pathOrUrl.startsWith('http') ? pathOrUrl : this.baseUrl + pathOrUrl;
  }

  #headers(): Record<string, string> {
    return this.#cookies.size === 0 ? {} : { cookie: [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  #keep(res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return res;
  }
}

/** The authorization URL for a client (PC page unless `path` says otherwise). */
export function authorizeUrl(base: string, params: Record<string, string>, path = '/connect_authorize.pl'): string {
  return `${base}${path}?${new URLSearchParams(params).toString()}`;
}

/**
 * Runs the whole browser flow (login, consent, Allow) for a test user through the package's own
 * `consentAs` agent, and returns the authorization code and the redirect it came in. Tests that look
 * at each hop use {@link Browser} instead.
 */
export async function obtainCode(
  h: Harness,
  client: ServiceCredentials,
  params: Record<string, string> = {},
  username = `user${Math.random().toString(36).slice(2, 10)}`,
): Promise<{ code: string; location: URL }> {
  ensureUser(h, username);
  const callback = await consentAs(
    authorizeUrl(h.url, { client_id: client.clientId, response_type: 'code', scope: 'r_profile', state: 'st', ...params }),
    { username },
  );
  const location = new URL(callback);
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code in ${location.search}`);
  return { code, location };
}

/** Creates the test user unless it exists (password "password"). */
export function ensureUser(h: Harness, username: string): void {
  try {
    h.emulator.createTestUser({ username });
  } catch (error) {
    if (!(error instanceof EmulatorError && error.code === 'duplicate_user')) throw error;
  }
}

/** Exchanges a code with `client_secret_post`. */
export function exchangeCode(h: Harness, client: ServiceCredentials, code: string, extra: Record<string, string> = {}): Promise<Response> {
  return postForm(`${h.url}/2/token`, {
    grant_type: 'authorization_code',
    client_id: client.clientId,
    client_secret: client.clientSecret,
    code,
    ...extra,
  });
}

/** Refreshes with `client_secret_post`. */
export function refresh(h: Harness, client: ServiceCredentials, refreshToken: string, extra: Record<string, string> = {}): Promise<Response> {
  return postForm(`${h.url}/2/token`, {
    grant_type: 'refresh_token',
    client_id: client.clientId,
    client_secret: client.clientSecret,
    refresh_token: refreshToken,
    ...extra,
  });
}

/** Calls a Graph API with a Bearer header. */
export function callApi(h: Harness, path: string, accessToken: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${h.url}${path}`, { ...init, headers: { authorization: `Bearer ${accessToken}`, ...(init.headers as Record<string, string>) } });
}
