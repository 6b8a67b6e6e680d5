import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors';
import { attemptUrl, draftRequest, finishRequest, type PreparedRequest } from '../../src/executor/prepared-request';
import { providers } from '../../src/protocol/index';

const API = 'https://api.example.test/2/';
const provider = providers.mixi({ apiBaseUrl: API, tokenEndpoint: 'https://api.example.test/2/token' });

function prepare(input: string | URL | Request, init?: RequestInit, profile = provider): PreparedRequest {
  const finished = finishRequest(draftRequest(input, init, 1024), profile);
  if (finished instanceof Promise) throw new Error('expected a synchronous request');
  return finished;
}

describe('the URL of a prepared request', () => {
  it('resolves a relative string against the provider\'s API base, the same way every time', () => {
    for (let i = 0; i < 3; i++) {
      const req = prepare('people/@me/@self');
      expect(req.url).toBe(`${API}people/@me/@self`);
      expect(req.querySeparator).toBe('?');
    }
  });

  it('resolves the same string against each provider\'s own base', () => {
    const other = providers.mixi({ apiBaseUrl: 'https://other.example.test/v9/', tokenEndpoint: 'https://other.example.test/token' });
    expect(prepare('people/@me/@self').url).toBe(`${API}people/@me/@self`);
    expect(prepare('people/@me/@self', undefined, other).url).toBe('https://other.example.test/v9/people/@me/@self');
    expect(prepare('people/@me/@self').url).toBe(`${API}people/@me/@self`);
  });

  it.each([
    ['people/@me/@self#section', `${API}people/@me/@self`, '?'],
    ['people/@me/@self#', `${API}people/@me/@self`, '?'],
    ['people/@me/@self?#', `${API}people/@me/@self?`, ''],
    ['people/@me/@self?count=2#', `${API}people/@me/@self?count=2`, '&'],
  ])('drops the fragment of %s, an empty one too, so a token parameter never lands in it', (input, url, separator) => {
    const req = prepare(input);
    expect(req.url).toBe(url);
    expect(req.querySeparator).toBe(separator);
    const sent = new URL(attemptUrl(req, 'query', 'tok en'));
    expect(sent.hash).toBe('');
    expect(sent.searchParams.get('access_token')).toBe('tok en');
  });

  it('reads a URL object each time it is given: changing it between calls changes the next request', () => {
    const url = new URL(`${API}people/@me/@self`);
    expect(prepare(url).url).toBe(`${API}people/@me/@self`);
    url.pathname = '/2/people/@me/@friends';
    expect(prepare(url).url).toBe(`${API}people/@me/@friends`);
    expect(prepare(new Request(`${API}voice/statuses`)).url).toBe(`${API}voice/statuses`);
  });

  it('refuses a URL with an access_token parameter, or of another scheme, every time it is given', () => {
    for (let i = 0; i < 2; i++) {
      expect(() => prepare('people/@me/@self?access_token=mine')).toThrow(InvalidArgumentError);
      expect(() => prepare('ftp://example.test/file')).toThrow(InvalidArgumentError);
    }
  });

  it('stays right past the number of URLs it remembers', () => {
    const paths = Array.from({ length: 600 }, (_, i) => `people/${i}/@self?startIndex=${i}`);
    for (const path of [...paths, ...paths.slice(0, 10)]) expect(prepare(path).url).toBe(`${API}${path}`);
  });
});

describe('the headers of a prepared request', () => {
  it('makes no Headers object when the caller gave no headers and no body', () => {
    expect(prepare('people/@me/@self').headers).toBeUndefined();
    expect(prepare('people/@me/@self', { method: 'DELETE' }).headers).toBeUndefined();
  });

  it('keeps the caller\'s headers, and adds the form content type for a URLSearchParams body', () => {
    expect(prepare('people/@me/@self', { headers: { 'x-trace': 'abc' } }).headers?.get('x-trace')).toBe('abc');
    const post = prepare('voice/statuses', { method: 'POST', body: new URLSearchParams({ status: 'hi' }) });
    expect(post.headers?.get('content-type')).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    expect(post.body.take()).toBe('status=hi');
  });
});
