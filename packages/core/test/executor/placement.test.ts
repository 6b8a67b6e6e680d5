import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mixiEndpoints } from '@tokenvault/mixi-emulator';
import { InvalidArgumentError } from '../../src/errors/errors';
import { providers } from '../../src/protocol/index';
import { createVault } from '../../src/vault/vault';
import { CLIENT, type ExecutorWorld, payloads, recordEvents, recordingFetch, rejection, startWorld } from '../helpers/executor-fixtures';

describe('vault.fetch: where the token goes', () => {
  let world: ExecutorWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.close());

  it('sends Authorization: Bearer by default, never the query parameter, and resolves relative URLs against the API base', async () => {
    const { fetch, sent } = recordingFetch();
    const vault = world.vault({ fetch });
    const { grantId, minted } = await world.grant();
    const res = await vault.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { entry: { id: string } }).entry.id).toBe(minted.userId);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe(`${world.server.url}/2/people/@me/@self`);
    expect(sent[0]!.headers.get('authorization')).toBe(`Bearer ${minted.accessToken}`);
    expect(new URL(sent[0]!.url).searchParams.has('access_token')).toBe(false);
  });

  it('puts the token in the access_token parameter for a client configured for the query', async () => {
    const { fetch, sent } = recordingFetch();
    const vault = world.vault({ fetch, tokenPlacement: 'query' });
    const { grantId, minted } = await world.grant();
    const res = await vault.fetch(grantId, `${world.server.url}/2/people/@me/@friends?count=2&startIndex=0`);
    expect(res.status).toBe(200);
    const url = new URL(sent[0]!.url);
    expect(url.searchParams.get('access_token')).toBe(minted.accessToken);
    // The caller's own parameters are kept, in order, before the token.
    expect([...url.searchParams.keys()]).toEqual(['count', 'startIndex', 'access_token']);
    expect(sent[0]!.headers.has('authorization')).toBe(false);
  });

  it('lets one call choose the other placement than its client', async () => {
    const { fetch, sent } = recordingFetch();
    const headerClient = world.vault({ fetch });
    const queryClient = world.vault({ fetch, tokenPlacement: 'query' });
    const { grantId, minted } = await world.grant();
    expect((await headerClient.fetch(grantId, 'people/@me/@self', { tokenvault: { placement: 'query' } })).status).toBe(200);
    expect((await queryClient.fetch(grantId, 'people/@me/@self', { tokenvault: { placement: 'header' } })).status).toBe(200);
    expect(new URL(sent[0]!.url).searchParams.get('access_token')).toBe(minted.accessToken);
    expect(sent[0]!.headers.has('authorization')).toBe(false);
    expect(new URL(sent[1]!.url).searchParams.has('access_token')).toBe(false);
    expect(sent[1]!.headers.get('authorization')).toBe(`Bearer ${minted.accessToken}`);
  });

  it('with query placement, hands back a response whose url, inspection and clone show no token', async () => {
    const vault = world.vault({ tokenPlacement: 'query' });
    const { grantId, minted } = await world.grant();
    const res = await vault.fetch(grantId, 'people/@me/@self?x=1');
    expect(res.status).toBe(200);
    expect(res.url).toBe(`${world.server.url}/2/people/@me/@self?x=1`);
    expect(inspect(res, { depth: 5 })).not.toContain(minted.accessToken);
    expect(res.clone().url).not.toContain(minted.accessToken);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(((await res.json()) as { entry: { id: string } }).entry.id).toBe(minted.userId);
  });

  it('accepts a URL object and a Request, keeping the Request\'s method and headers', async () => {
    const { fetch, sent } = recordingFetch();
    const vault = world.vault({ fetch });
    const { grantId } = await world.grant();
    const byUrl = await vault.fetch(grantId, new URL(`${world.server.url}/2/people/@me/@self#fragment`));
    expect(byUrl.status).toBe(200);
    const byRequest = await vault.fetch(grantId, new Request(`${world.server.url}/2/people/@me/@self`, { headers: { 'x-trace': 'abc' } }));
    expect(byRequest.status).toBe(200);
    expect(sent[0]!.url).toBe(`${world.server.url}/2/people/@me/@self`);
    expect(sent[1]!.headers.get('x-trace')).toBe('abc');
    expect(sent[1]!.headers.get('authorization')).toMatch(/^Bearer /);
  });

  it.each<[string, (url: string) => [string | Request, RequestInit?]]>([
    ['an Authorization header in init', (url) => [url, { headers: { Authorization: 'Bearer mine' } }]],
    ['an Authorization header of another scheme', (url) => [url, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }]],
    ['an Authorization header on the Request', (url) => [new Request(url, { headers: { authorization: 'Bearer mine' } })]],
    ['an access_token parameter', (url) => [`${url}?access_token=mine`]],
    ['a body on a GET', (url) => [url, { body: 'x' }]],
    ['a relative URL that does not parse', () => ['http://[bad']],
    ['a ftp: URL', () => ['ftp://example.com/file']],
  ])('refuses a request with %s before sending anything', async (_, make) => {
    const { fetch, sent } = recordingFetch();
    const vault = world.vault({ fetch });
    const events = recordEvents(vault, ['request', 'response']);
    const { grantId } = await world.grant();
    const [input, init] = make(`${world.server.url}/2/people/@me/@self`);
    const error = await rejection(vault.fetch(grantId, input, init));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).message).not.toContain('mine');
    expect(sent).toHaveLength(0);
    expect(payloads(events, 'request')).toHaveLength(0);
  });

  it('refuses a relative URL when the provider has no API base, and accepts an absolute one', async () => {
    const endpoints = mixiEndpoints(world.server.url);
    const vault = createVault({
      store: world.store,
      clients: [
        {
          id: CLIENT,
          provider: providers.oauth2({ authorizationEndpoint: endpoints.authorizationEndpoint, tokenEndpoint: endpoints.tokenEndpoint }),
          clientId: world.clientId,
          clientSecret: world.clientSecret,
          redirectUri: 'http://127.0.0.1:9/callback',
        },
      ],
    });
    const { grantId } = await world.grant();
    const error = await rejection(vault.fetch(grantId, 'people/@me/@self'));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('apiBaseUrl');
    expect((await vault.fetch(grantId, `${endpoints.apiBaseUrl}people/@me/@self`)).status).toBe(200);
  });
});
