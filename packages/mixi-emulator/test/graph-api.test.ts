import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPIRED_TOKEN_CHALLENGE, type MintedGrant, type ServiceCredentials } from '../src/index';
import { bodyOf, callApi, jsonOf, registerService, startEmulator, type Harness } from './support/harness';

describe('Graph API: People', () => {
  let h: Harness;
  let client: ServiceCredentials;
  let grant: MintedGrant;
  beforeAll(async () => {
    h = await startEmulator();
    client = registerService(h.emulator);
    const friends = Array.from({ length: 5 }, (_, i) => h.emulator.createTestUser({ username: `friend${i}`, displayName: `Friend ${i}` }).username);
    h.emulator.createTestUser({ username: 'alice', displayName: 'Alice', friends });
    grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_profile', username: 'alice' });
  });
  afterAll(() => h.close());

  it('answers @me/@self with the entry shape', async () => {
    const res = await callApi(h, '/2/people/@me/@self', grant.accessToken);
    expect(res.status).toBe(200);
    const body = await jsonOf<{ entry: Record<string, string> }>(res);
    expect(body.entry).toEqual({
      id: grant.userId,
      displayName: 'Alice',
      thumbnailUrl: expect.stringMatching(/^https:\/\//),
      profileUrl: `https://mixi.jp/show_friend.pl?id=${grant.userId}`,
    });
    const byId = await callApi(h, `/2/people/${grant.userId}/@self`, grant.accessToken);
    expect((await jsonOf<{ entry: { id: string } }>(byId)).entry.id).toBe(grant.userId);
  });

  it('accepts the access_token query parameter and the older OAuth scheme', async () => {
    const query = await fetch(`${h.url}/2/people/@me/@self?access_token=${grant.accessToken}`);
    expect(query.status).toBe(200);
    const oauth = await fetch(`${h.url}/2/people/@me/@self`, { headers: { authorization: `OAuth ${grant.accessToken}` } });
    expect(oauth.status).toBe(200);
  });

  it('pages @friends with startIndex and count', async () => {
    const all = await jsonOf<{ entry: { displayName: string }[]; totalResults: number; startIndex: number; itemsPerPage: number }>(
      await callApi(h, '/2/people/@me/@friends', grant.accessToken),
    );
    expect(all.totalResults).toBe(5);
    expect(all.entry.map((e) => e.displayName)).toEqual(['Friend 0', 'Friend 1', 'Friend 2', 'Friend 3', 'Friend 4']);
    const page = await jsonOf<{ entry: { displayName: string }[]; totalResults: number; startIndex: number; itemsPerPage: number }>(
      await callApi(h, '/2/people/@me/@friends?startIndex=2&count=2', grant.accessToken),
    );
    expect(page).toMatchObject({ totalResults: 5, startIndex: 2, itemsPerPage: 2 });
    expect(page.entry.map((e) => e.displayName)).toEqual(['Friend 2', 'Friend 3']);
    const past = await jsonOf<{ entry: unknown[] }>(await callApi(h, '/2/people/@me/@friends?startIndex=9', grant.accessToken));
    expect(past.entry).toEqual([]);
  });

  it.each(['startIndex=-1', 'startIndex=abc', 'count=1001', 'count=1.5', 'count=', 'count=2&count=3'])(
    'answers bad paging (%s) with 400 and Bearer invalid_request',
    async (query) => {
      const res = await callApi(h, `/2/people/@me/@friends?${query}`, grant.accessToken);
      const status = query === 'count=' ? 200 : 400;
      expect(res.status).toBe(status);
      if (status === 400) {
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_request", error_description="[^"]+"$/);
        expect((await jsonOf(res)).error).toBe('invalid_request');
      } else {
        await bodyOf(res);
      }
    },
  );

  it('answers other people and unknown groups with 404', async () => {
    expect((await callApi(h, '/2/people/someone-else/@self', grant.accessToken)).status).toBe(404);
    expect((await callApi(h, '/2/people/@me/@all', grant.accessToken)).status).toBe(404);
  });
});

describe('Graph API: Bearer errors', () => {
  let h: Harness;
  let client: ServiceCredentials;
  beforeAll(async () => {
    h = await startEmulator();
    client = registerService(h.emulator);
  });
  afterAll(() => h.close());
  const mint = (scope = 'r_profile') => h.emulator.mintGrant({ clientId: client.clientId, scope });

  it('answers an expired token with 401 and exactly the seed’s challenge', async () => {
    const grant = mint();
    h.emulator.clock.advance(900_000);
    const res = await callApi(h, '/2/people/@me/@self', grant.accessToken);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="The access token expired"');
    expect(EXPIRED_TOKEN_CHALLENGE).toBe(res.headers.get('www-authenticate'));
  });

  it('keeps a token valid until its expires_in has passed', async () => {
    const grant = mint();
    h.emulator.clock.advance(899_000);
    expect((await callApi(h, '/2/people/@me/@self', grant.accessToken)).status).toBe(200);
  });

  it('answers revoked and unknown tokens with invalid_token and another description', async () => {
    const grant = mint();
    h.emulator.revokeGrant(grant.grantId);
    const revoked = await callApi(h, '/2/people/@me/@self', grant.accessToken);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="The access token was revoked"');
    const unknown = await callApi(h, '/2/people/@me/@self', 'abcdef0123456789');
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="The access token is invalid"');
    expect((await jsonOf(unknown)).error).toBe('invalid_token');
  });

  it('answers a missing scope with 403 insufficient_scope naming the scope', async () => {
    const grant = mint('r_profile');
    const res = await callApi(h, '/2/voice/statuses/@me/user_timeline', grant.accessToken);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="r_voice"');
    expect(await jsonOf(res)).toMatchObject({ error: 'insufficient_scope', scope: 'r_voice' });
  });

  it('answers a request with no token with 401 and a realm but no error (RFC 6750 §3.1)', async () => {
    const none = await fetch(`${h.url}/2/people/@me/@self`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="api.mixi-platform.com"');
    const basic = await fetch(`${h.url}/2/people/@me/@self`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).not.toMatch(/error=/);
  });

  it.each([
    ['a token in both header and query', (t: string) => [`?access_token=${t}`, `Bearer ${t}`]],
    ['an empty Bearer header', () => ['', 'Bearer']],
    ['a Bearer header with two tokens', (t: string) => ['', `Bearer ${t} ${t}`]],
    ['a Bearer token with illegal characters', () => ['', 'Bearer abc"def']],
    ['a repeated access_token parameter', (t: string) => [`?access_token=${t}&access_token=${t}`, undefined]],
  ] as const)('answers %s with 400 invalid_request', async (_, build) => {
    const grant = mint();
    const [query, header] = build(grant.accessToken);
    const res = await fetch(`${h.url}/2/people/@me/@self${query}`, { headers: header === undefined ? {} : { authorization: header } });
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_request"/);
    expect((await jsonOf(res)).error).toBe('invalid_request');
  });

  it('counts API calls by status', async () => {
    h.emulator.counters.reset();
    const grant = mint();
    await callApi(h, '/2/people/@me/@self', grant.accessToken);
    await callApi(h, '/2/people/@me/@self', 'nope');
    await callApi(h, '/2/voice/statuses/@me/user_timeline', grant.accessToken);
    expect(h.emulator.counters.snapshot().apiCalls).toEqual({ total: 3, byStatus: { '200': 1, '401': 1, '403': 1 } });
  });
});

describe('Graph API: Voice', () => {
  let h: Harness;
  let grant: MintedGrant;
  beforeAll(async () => {
    h = await startEmulator();
    const client = registerService(h.emulator);
    grant = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_voice w_voice' });
  });
  afterAll(() => h.close());
  const post = (body: string, type = 'application/x-www-form-urlencoded') =>
    callApi(h, '/2/voice/statuses', grant.accessToken, { method: 'POST', headers: { 'content-type': type }, body });

  it('posts a status and shows it on the timeline, newest first', async () => {
    const first = await post('status=first%20post');
    expect(first.status).toBe(200);
    expect(await jsonOf(first)).toMatchObject({ text: 'first post', user: { id: grant.userId } });
    await post('status=second');
    const timeline = await jsonOf<{ text: string }[]>(await callApi(h, '/2/voice/statuses/@me/user_timeline', grant.accessToken));
    expect(timeline.map((s) => s.text)).toEqual(['second', 'first post']);
    const one = await jsonOf<{ text: string }[]>(await callApi(h, '/2/voice/statuses/@me/user_timeline?count=1', grant.accessToken));
    expect(one.map((s) => s.text)).toEqual(['second']);
  });

  it.each([
    ['a missing status', 'other=1', undefined],
    ['a blank status', 'status=%20%20', undefined],
    ['a status over 150 characters', `status=${'あ'.repeat(151)}`, undefined],
    ['a JSON body', '{"status":"x"}', 'application/json'],
    ['a token in the body', 'status=x&access_token=abc', undefined],
  ])('answers %s with 400 invalid_request', async (_, body, type) => {
    const res = await post(body, type);
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_request"/);
    expect((await jsonOf(res)).error).toBe('invalid_request');
  });

  it('accepts exactly 150 characters', async () => {
    expect((await post(`status=${'あ'.repeat(150)}`)).status).toBe(200);
  });

  it('needs w_voice to post', async () => {
    const client = registerService(h.emulator, { name: 'Reader' });
    const reader = h.emulator.mintGrant({ clientId: client.clientId, scope: 'r_voice' });
    const res = await callApi(h, '/2/voice/statuses', reader.accessToken, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'status=hi',
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="w_voice"');
  });
});
