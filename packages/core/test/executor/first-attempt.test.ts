import { describe, expect, it } from 'vitest';
import { applyGrantEvent, createGrantRecord, createVault, type GrantRecord, InvalidResponseError, memoryStore, ProviderUnavailableError, providers, Secret } from '../../src/index';
import { payloads, recordEvents, rejection } from '../helpers/executor-fixtures';

/**
 * The common path: the vault's cache holds a fresh token, so the first attempt's promise is the call's
 * own and the call judges its outcome when it comes (executor.ts `run`, CallScope's judge). Every
 * outcome of that first attempt must end exactly as it does off the common path.
 */

const BASE = 'https://api.test/2/';

function authorized(grantId: string, token: string): GrantRecord {
  const now = Date.now();
  const begun = applyGrantEvent(createGrantRecord({ grantId, client: 'mixi', now }), {
    type: 'authorization.begin',
    now,
    pending: { stateHash: `s-${grantId}`, deadline: now + 180_000, scope: ['r_profile'], redirectUri: 'https://app.example/cb', codeVerifier: null, serverState: null },
  });
  const done = applyGrantEvent(begun!, {
    type: 'authorization.complete',
    now,
    receivedAt: now,
    stateHash: `s-${grantId}`,
    order: 1,
    tokens: { accessToken: new Secret(token), tokenType: 'Bearer', expiresAt: now + 3_600_000, refreshToken: new Secret(`rt-${grantId}`), scope: ['r_profile'], idToken: null },
  });
  return { ...done!, version: 1 };
}

type Step = (url: string, init: RequestInit) => Promise<Response>;

/** A vault whose API answers as the scripted steps say (then 200), warmed so the grant's token is cached. */
async function warmVault(steps: Step[], executor: Record<string, unknown> = {}, token = 'tok-1') {
  const store = memoryStore();
  await store.create(authorized('g', token));
  const sent: Array<{ url: string; authorization: string | undefined }> = [];
  let script: Step[] = [];
  const fetchImpl = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = String(input);
    sent.push({ url, authorization: (init.headers as Record<string, string> | undefined)?.authorization });
    const step = script.shift();
    return step === undefined ? new Response('ok', { status: 200 }) : step(url, init);
  }) as typeof fetch;
  const vault = createVault({
    store,
    fetch: fetchImpl,
    clients: [{ id: 'mixi', provider: providers.mixi({ apiBaseUrl: BASE, tokenEndpoint: 'https://api.test/2/token' }), clientId: 'c', clientSecret: 's', redirectUri: 'https://app.example/cb' }],
    executor: { retry: { minTimeoutMs: 1, maxTimeoutMs: 2 }, ...executor },
  });
  // The token is now in the cache (a token refused before sending is cached all the same).
  const warm = await vault.fetch('g', 'warm').then((res) => res.status, (e: unknown) => e);
  if (token === 'tok-1') expect(warm).toBe(200);
  else expect(warm).toBeInstanceOf(InvalidResponseError);
  sent.length = 0;
  script = steps;
  return { vault, sent };
}

const never: Step = () => new Promise<Response>(() => {});
const status = (code: number, headers: Record<string, string> = {}): Step => async () => new Response(null, { status: code, headers });

describe('vault.fetch: the first attempt on the common path', () => {
  it('a 2xx settles the call with fetch\'s own response, one request, one response event', async () => {
    const answer = new Response('hi', { status: 201 });
    const { vault, sent } = await warmVault([async () => answer]);
    const events = recordEvents(vault, ['request', 'response', 'retry']);
    const res = await vault.fetch('g', 'people');
    expect(res).toBe(answer);
    expect(sent).toEqual([{ url: `${BASE}people`, authorization: 'Bearer tok-1' }]);
    expect(payloads(events, 'request')).toEqual([expect.objectContaining({ attempt: 1, status: 201, error: null })]);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ attempts: 1, status: 201, error: null })]);
    expect(payloads(events, 'retry')).toEqual([]);
    await vault.close();
  });

  it('a network error is retried (transient) and the retry\'s answer returned', async () => {
    const { vault, sent } = await warmVault([() => Promise.reject(new TypeError('fetch failed', { cause: new Error('ECONNRESET') }))]);
    const events = recordEvents(vault, ['request', 'response', 'retry']);
    expect((await vault.fetch('g', 'people')).status).toBe(200);
    expect(sent).toHaveLength(2);
    expect(payloads(events, 'request').map((p) => p.error)).toEqual(['network_error', null]);
    expect(payloads(events, 'retry')).toEqual([expect.objectContaining({ attempt: 2, reason: 'transient', status: null })]);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ attempts: 2, status: 200, error: null })]);
    await vault.close();
  });

  it('an attempt past attemptTimeoutMs is a transient failure: retried, the late answer abandoned', async () => {
    const { vault, sent } = await warmVault([never], { attemptTimeoutMs: 30 });
    const events = recordEvents(vault, ['request', 'response']);
    expect((await vault.fetch('g', 'people')).status).toBe(200);
    expect(sent).toHaveLength(2);
    expect(payloads(events, 'request').map((p) => p.error)).toEqual(['attempt_timeout', null]);
    await vault.close();
  });

  it('attempt timeouts without retries end in ProviderUnavailableError', async () => {
    const { vault } = await warmVault([never], { attemptTimeoutMs: 20, retry: { retries: 0 } });
    const error = await rejection(vault.fetch('g', 'people'));
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as Error).message).toContain('got no response headers within 20 ms');
    await vault.close();
  });

  it('the call\'s timeout during the first attempt rejects with TimeoutError, not a retry', async () => {
    const { vault, sent } = await warmVault([never]);
    const events = recordEvents(vault, ['request', 'response']);
    const error = await rejection(vault.fetch('g', 'people', { tokenvault: { timeoutMs: 30 } }));
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
    expect(sent).toHaveLength(1);
    expect(payloads(events, 'request')).toEqual([expect.objectContaining({ error: 'timeout' })]);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ error: 'timeout', status: null })]);
    await vault.close();
  });

  it('the caller\'s abort during the first attempt rejects with the signal\'s reason', async () => {
    const abortable: Step = (_url, init) =>
      new Promise<Response>((_, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)));
    const { vault } = await warmVault([abortable]);
    const events = recordEvents(vault, ['response']);
    const controller = new AbortController();
    const call = vault.fetch('g', 'people', { signal: controller.signal });
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 5);
    expect(await rejection(call)).toBe(reason);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ error: 'aborted' })]);
    await vault.close();
  });

  it('a 503 is retried; its body is cancelled, the retry\'s answer returned', async () => {
    const { vault, sent } = await warmVault([status(503)]);
    const events = recordEvents(vault, ['retry']);
    expect((await vault.fetch('g', 'people')).status).toBe(200);
    expect(sent).toHaveLength(2);
    expect(payloads(events, 'retry')).toEqual([expect.objectContaining({ reason: 'transient', status: 503 })]);
    await vault.close();
  });

  it('a 5xx that outlives its retries is returned as the answer', async () => {
    const { vault, sent } = await warmVault([status(500), status(500)], { retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 2 } });
    expect((await vault.fetch('g', 'people')).status).toBe(500);
    expect(sent).toHaveLength(2);
    await vault.close();
  });

  it('a 404 is returned at once; a POST\'s 503 is returned without a retry', async () => {
    const { vault, sent } = await warmVault([status(404), status(503)]);
    expect((await vault.fetch('g', 'people')).status).toBe(404);
    expect((await vault.fetch('g', 'people', { method: 'POST', body: 'x' })).status).toBe(503);
    expect(sent).toHaveLength(2);
    await vault.close();
  });

  it('a 400 invalid_request throws InvalidRequestError from the first attempt', async () => {
    const { vault } = await warmVault([status(400, { 'www-authenticate': 'Bearer error="invalid_request"' })]);
    const events = recordEvents(vault, ['response']);
    const error = await rejection(vault.fetch('g', 'people'));
    expect((error as { code?: string }).code).toBe('invalid_request');
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ error: 'invalid_request', status: null })]);
    await vault.close();
  });

  it('a token that cannot go in a header is refused before anything is sent', async () => {
    const { vault, sent } = await warmVault([], {}, 'bad\ntoken');
    const error = await rejection(vault.fetch('g', 'people'));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(sent).toEqual([]);
    await vault.close();
  });
});
