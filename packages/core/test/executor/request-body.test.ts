import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyNotReplayableError, InvalidArgumentError } from '../../src/errors/errors';
import { prepareBody, type RequestBody } from '../../src/executor/request-body';

/** The bytes fetch would send for one take of the body. */
async function bytesOf(body: RequestBody): Promise<string> {
  return new Response(body.take()).text();
}

describe('request bodies', () => {
  it('strings, bytes, Blobs and URLSearchParams send the same bytes on every take', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), async (text) => {
        for (const value of [text, new TextEncoder().encode(text), new TextEncoder().encode(text).buffer, new Blob([text])]) {
          const body = await prepareBody(value, new Headers(), 1 << 20);
          expect(body.oneShot).toBeUndefined();
          const first = await bytesOf(body);
          expect(await bytesOf(body)).toBe(first);
          expect(first).toBe(text);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('URLSearchParams: serialised once, with the form content type unless one was set', async () => {
    const headers = new Headers();
    const params = new URLSearchParams({ status: 'a b' });
    const body = await prepareBody(params, headers, 1024);
    params.set('status', 'changed');
    expect(await bytesOf(body)).toBe('status=a+b');
    expect(headers.get('content-type')).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    const own = new Headers({ 'content-type': 'text/plain' });
    await prepareBody(new URLSearchParams(), own, 1024);
    expect(own.get('content-type')).toBe('text/plain');
  });

  it('FormData: encoded once, so a retry keeps the same multipart boundary', async () => {
    const form = new FormData();
    form.set('status', 'hello');
    form.set('file', new Blob(['abc'], { type: 'text/plain' }), 'a.txt');
    const headers = new Headers();
    const body = await prepareBody(form, headers, 1 << 20);
    const boundary = /boundary=(.+)$/.exec(headers.get('content-type') ?? '')?.[1];
    expect(boundary).toBeDefined();
    const first = await bytesOf(body);
    expect(first).toContain(boundary);
    expect(first).toContain('hello');
    expect(await bytesOf(body)).toBe(first);
  });

  it('streams and async iterables are one-shot: a second take is BodyNotReplayableError', async () => {
    const stream = new Response('x').body!;
    async function* chunks() {
      yield new Uint8Array([1]);
    }
    for (const value of [stream, chunks()]) {
      const body = await prepareBody(value, new Headers(), 1024);
      expect(body.oneShot).toBe('stream');
      expect(body.needsDuplex).toBe(true);
      expect(body.replayable).toBe(true);
      body.take();
      expect(body.replayable).toBe(false);
      expect(() => body.take()).toThrow(BodyNotReplayableError);
    }
  });

  it('a body over the limit is one-shot (too_large), counted in UTF-8 bytes', async () => {
    expect((await prepareBody('é'.repeat(6), new Headers(), 12)).oneShot).toBeUndefined(); // 12 bytes
    expect((await prepareBody('é'.repeat(7), new Headers(), 12)).oneShot).toBe('too_large'); // 14 bytes
    expect((await prepareBody(new Uint8Array(13), new Headers(), 12)).oneShot).toBe('too_large');
    expect((await prepareBody(new Blob(['x'.repeat(13)]), new Headers(), 12)).oneShot).toBe('too_large');
  });

  it('no body is no body; anything else is refused', async () => {
    expect((await prepareBody(undefined, new Headers(), 1)).take()).toBeNull();
    expect((await prepareBody(null, new Headers(), 1)).take()).toBeNull();
    expect(() => prepareBody({ not: 'a body' }, new Headers(), 1)).toThrow(InvalidArgumentError);
  });
});
