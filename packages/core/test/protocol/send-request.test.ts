import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidResponseError, ProviderUnavailableError } from '../../src/errors/errors';
import { HttpConnections, providers, readBodyLimited, refreshTokenGrantRequest, sendRequest, type HttpRequest } from '../../src/protocol/index';
import { Secret } from '../../src/util/secret';
import { mixiCredentials } from './fixtures';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server on loopback; each test routes by path. */
let server: Server;
let base: string;
const routes = new Map<string, Handler>();
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (route) route(req, res, body);
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

const connections = new HttpConnections();

afterAll(async () => {
  connections.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const limits = { timeoutMs: 5_000, maxBytes: 1024 };
const fetchOpts = { ...limits, fetch: globalThis.fetch };
const get = (path: string): HttpRequest => ({ method: 'GET', url: `${base}${path}`, headers: {}, body: undefined });

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

// Every behaviour holds for both ways of sending: through a fetch, and over node:http connections.
describe.each([
  ['through fetch', fetchOpts],
  ['over node:http connections', { ...limits, connections }],
  ['over the shared node:http connections', limits],
])('sendRequest over real HTTP, %s', (_name, opts) => {
  it('sends the built request exactly and returns status, headers and body', async () => {
    routes.set('/2/token', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-extra': 'yes' }).end('{"access_token":"t"}');
    });
    const profile = providers.mixi({ tokenEndpoint: `${base}/2/token` });
    const req = refreshTokenGrantRequest(profile, mixiCredentials, new Secret('rt-1'));
    const res = await sendRequest(req, opts);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-extra')).toBe('yes');
    expect(res.body).toBe('{"access_token":"t"}');
    const last = seen.at(-1);
    expect(last?.method).toBe('POST');
    expect(last?.url).toBe('/2/token');
    expect(last?.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    expect(last?.headers.accept).toBe('application/json');
    expect(last?.body).toBe(req.body);
  });

  it('returns error statuses as results', async () => {
    routes.set('/busy', (_req, res) => res.writeHead(503, { 'retry-after': '5' }).end('busy'));
    const res = await sendRequest(get('/busy'), opts);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body).toBe('busy');
  });

  it('does not follow redirects', async () => {
    routes.set('/moved', (_req, res) => res.writeHead(302, { location: `${base}/elsewhere` }).end());
    routes.set('/elsewhere', (_req, res) => res.writeHead(200).end('followed'));
    const res = await sendRequest(get('/moved'), opts);
    expect(res.status).toBe(302);
    expect(res.body).toBe('');
  });

  it('accepts a body of exactly maxBytes, decoded as UTF-8', async () => {
    const text = 'あ'.repeat(341) + 'x'; // 1024 bytes
    routes.set('/exact', (_req, res) => res.writeHead(200).end(text));
    expect((await sendRequest(get('/exact'), opts)).body).toBe(text);
  });

  it('refuses a body whose content-length exceeds maxBytes', async () => {
    routes.set('/big', (_req, res) => res.writeHead(200, { 'content-length': '2048' }).end('y'.repeat(2048)));
    const e = await rejection(sendRequest(get('/big'), opts));
    expect(e).toBeInstanceOf(InvalidResponseError);
    expect(e).toMatchObject({ status: 200, message: 'the answer is larger than the 1024-byte limit' });
  });

  it('cancels a chunked body that grows past maxBytes', async () => {
    let closed: Promise<void> = Promise.resolve();
    routes.set('/endless', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      closed = new Promise((resolve) => res.on('close', () => resolve()));
      const timer = setInterval(() => res.write('z'.repeat(300)), 1);
      res.on('close', () => clearInterval(timer));
    });
    const e = await rejection(sendRequest(get('/endless'), opts));
    expect(e).toBeInstanceOf(InvalidResponseError);
    await closed; // the read was cancelled: the server sees the connection go
  });

  it('times out with a transient ProviderUnavailableError', async () => {
    routes.set('/silent', () => undefined);
    const e = await rejection(sendRequest(get('/silent'), { ...opts, timeoutMs: 50 }));
    expect(e).toBeInstanceOf(ProviderUnavailableError);
    expect((e as Error).message).toBe(`GET ${base}/silent got no answer within 50 ms`);
  });

  it('reads an answer that arrived while the event loop was stalled past the timeout, instead of timing out', async () => {
    // The server answers at once, then this process blocks (as a synchronous SQLite write under lock
    // contention does) past the timeout. When the loop wakes, the expired timer runs before the socket
    // is read: giving up there would discard an answer already received, and for a refresh-token
    // request an already rotated token would then be presented again.
    routes.set('/stall', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      const until = Date.now() + 120;
      while (Date.now() < until) {
        // blocks the event loop
      }
    });
    const res = await sendRequest(get('/stall'), { ...opts, timeoutMs: 60 });
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"ok":true}');
  });

  it('times out while the body trickles in', async () => {
    routes.set('/trickle', (_req, res) => res.writeHead(200).write('partial'));
    const e = await rejection(sendRequest(get('/trickle'), { ...opts, timeoutMs: 50 }));
    expect(e).toBeInstanceOf(ProviderUnavailableError);
  });

  it('turns a reset connection before the answer into ProviderUnavailableError with the cause', async () => {
    routes.set('/reset', (req) => req.socket.destroy());
    const e = await rejection(sendRequest(get('/reset'), opts));
    expect(e).toBeInstanceOf(ProviderUnavailableError);
    expect((e as Error).message).toBe(`GET ${base}/reset failed: network error`);
    expect((e as Error).cause).toBeInstanceOf(Error);
  });

  it('turns a reset in the middle of the body into ProviderUnavailableError', async () => {
    routes.set('/half', (req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part', () => req.socket.destroy());
    });
    expect(await rejection(sendRequest(get('/half'), opts))).toBeInstanceOf(ProviderUnavailableError);
  });

  it('turns a refused connection into ProviderUnavailableError', async () => {
    const closedServer = createServer();
    await new Promise<void>((resolve) => closedServer.listen(0, '127.0.0.1', resolve));
    const { port } = closedServer.address() as AddressInfo;
    await new Promise((resolve) => closedServer.close(resolve));
    const req: HttpRequest = { method: 'GET', url: `http://127.0.0.1:${port}/x`, headers: {}, body: undefined };
    expect(await rejection(sendRequest(req, opts))).toBeInstanceOf(ProviderUnavailableError);
  });

  it('rejects with the caller’s abort reason, untouched, while waiting for the answer', async () => {
    routes.set('/slow', () => undefined);
    const controller = new AbortController();
    const reason = { mine: true };
    const pending = sendRequest(get('/slow'), { ...opts, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 10);
    expect(await rejection(pending)).toBe(reason);
  });

  it('rejects with the caller’s abort reason while reading the body', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    routes.set('/dribble', (_req, res) => {
      res.writeHead(200).write('first', () => controller.abort(reason));
    });
    expect(await rejection(sendRequest(get('/dribble'), { ...opts, signal: controller.signal }))).toBe(reason);
  });

  it('rejects at once, without a request, when the signal is already aborted', async () => {
    const before = seen.length;
    const reason = new Error('already');
    expect(await rejection(sendRequest(get('/anything'), { ...opts, signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(seen.length).toBe(before);
  });

  it('shows no secret of the request in a network error', async () => {
    routes.set('/reset2', (req) => req.socket.destroy());
    const req: HttpRequest = {
      method: 'POST',
      url: `${base}/reset2?access_token=URL-CANARY`,
      headers: { authorization: 'Bearer HEADER-CANARY' },
      body: 'client_secret=BODY-CANARY',
    };
    const e = await rejection(sendRequest(req, opts));
    for (const text of [(e as Error).message, JSON.stringify(e), inspect(e, { depth: 10 })]) {
      expect(text).not.toMatch(/CANARY/);
    }
  });

  it.each([
    [{ ...opts, timeoutMs: -1 }, 'timeoutMs must be a non-negative integer'],
    [{ ...opts, maxBytes: 1.5 }, 'maxBytes must be a non-negative integer'],
    [{ ...opts, fetch: 'fetch' as never }, 'fetch must be a function'],
    [{ ...opts, connections: {} as never }, 'connections must be an HttpConnections'],
  ])('refuses bad options (%#)', async (options, message) => {
    const e = await rejection(sendRequest(get('/x'), options));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as Error).message).toBe(message);
  });

  it('refuses a URL that is neither http: nor https:, without showing it', async () => {
    const e = await rejection(sendRequest({ ...get('/x'), url: 'ftp://127.0.0.1/x?access_token=CANARY' }, opts));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as Error).message).toBe('request url must be an http: or https: URL');
  });

  it('refuses a relative URL without showing it', async () => {
    const e = await rejection(sendRequest({ ...get('/x'), url: '/path?access_token=CANARY' }, opts));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as Error).message).not.toContain('CANARY');
  });
});

describe('sendRequest through fetch', () => {
  it('gives up on a fetch that ignores its signal', async () => {
    const never: typeof fetch = () => new Promise<Response>(() => undefined);
    expect(await rejection(sendRequest(get('/x'), { ...fetchOpts, fetch: never, timeoutMs: 20 }))).toBeInstanceOf(
      ProviderUnavailableError,
    );
  });
});

describe('sendRequest over node:http connections', () => {
  it('reuses one keep-alive connection for requests one after another', async () => {
    const sockets = new Set<unknown>();
    routes.set('/again', (req, res) => {
      sockets.add(req.socket);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    for (let i = 0; i < 3; i++) expect((await sendRequest(get('/again'), { ...limits, connections })).body).toBe('ok');
    expect(sockets.size).toBe(1);
  });

  it('sends the body with its byte length, not chunked', async () => {
    routes.set('/len', (req, res) => res.writeHead(200).end(`${req.headers['content-length']}|${req.headers['transfer-encoding'] ?? ''}`));
    const req: HttpRequest = { method: 'POST', url: `${base}/len`, headers: { 'content-type': 'text/plain' }, body: 'あい' };
    expect((await sendRequest(req, { ...limits, connections })).body).toBe('6|');
  });

  it('joins a repeated header and drops a leading BOM', async () => {
    routes.set('/repeat', (_req, res) => {
      res.setHeader('www-authenticate', ['Bearer error="a"', 'Basic realm="b"']);
      res.writeHead(200).end('\uFEFF{"x":1}');
    });
    const res = await sendRequest(get('/repeat'), { ...limits, connections });
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer error="a", Basic realm="b"');
    expect(res.headers.get('x-absent')).toBeNull();
    expect(res.body).toBe('{"x":1}');
  });

  it('sends again on connections that were closed', async () => {
    const own = new HttpConnections();
    routes.set('/after-close', (_req, res) => res.writeHead(200).end('yes'));
    expect((await sendRequest(get('/after-close'), { ...limits, connections: own })).body).toBe('yes');
    own.close();
    expect((await sendRequest(get('/after-close'), { ...limits, connections: own })).body).toBe('yes');
    own.close();
  });
});

/** A self-signed certificate for 127.0.0.1 and its key, made with the machine's openssl. */
function selfSigned(name: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tokenvault-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('sendRequest over node:https connections', () => {
  const serverTls = selfSigned('tokenvault test server');
  const clientTls = selfSigned('tokenvault test client');
  let tlsServer: HttpsServer;
  let tlsBase: string;

  beforeAll(async () => {
    // Asks for a client certificate and answers with whether a trusted one came.
    tlsServer = createHttpsServer({ ...serverTls, requestCert: true, rejectUnauthorized: false, ca: clientTls.cert }, (req, res) => {
      const socket = req.socket as import('node:tls').TLSSocket;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(socket.authorized ? 'client known' : 'client unknown');
    });
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    tlsBase = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    tlsServer.closeAllConnections();
    await new Promise((resolve) => tlsServer.close(resolve));
  });

  const tlsGet = (): HttpRequest => ({ method: 'GET', url: `${tlsBase}/x`, headers: {}, body: undefined });

  it('verifies the server: an untrusted certificate is a network error', async () => {
    const own = new HttpConnections();
    try {
      const e = await rejection(sendRequest(tlsGet(), { ...limits, connections: own }));
      expect(e).toBeInstanceOf(ProviderUnavailableError);
      expect(((e as Error).cause as NodeJS.ErrnoException).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    } finally {
      own.close();
    }
  });

  it('trusts the CAs it is given and presents a client certificate', async () => {
    const trusting = new HttpConnections({ tls: { ca: serverTls.cert } });
    const mutual = new HttpConnections({ tls: { ca: serverTls.cert, ...clientTls } });
    try {
      expect((await sendRequest(tlsGet(), { ...limits, connections: trusting })).body).toBe('client unknown');
      expect((await sendRequest(tlsGet(), { ...limits, connections: mutual })).body).toBe('client known');
    } finally {
      trusting.close();
      mutual.close();
    }
  });

  it('never shows the client key', () => {
    const mutual = new HttpConnections({ tls: { ca: serverTls.cert, ...clientTls } });
    const secretLine = clientTls.key.split('\n')[1]!;
    for (const text of [JSON.stringify(mutual), inspect(mutual, { depth: 10, showHidden: true })]) expect(text).not.toContain(secretLine);
    mutual.close();
  });
});

describe('readBodyLimited', () => {
  it('reads an in-memory body and an empty one', async () => {
    expect(await readBodyLimited(new Response('\uFEFF{"a":1}'), 100)).toBe('{"a":1}');
    expect(await readBodyLimited(new Response(null, { status: 204 }), 100)).toBe('');
  });

  it('refuses a stream past the limit', async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(10));
      },
    });
    const e = await rejection(readBodyLimited(new Response(stream, { status: 500 }), 25));
    expect(e).toMatchObject({ code: 'invalid_response', status: 500 });
    expect(pulled).toBeLessThan(10);
  });

  it('replaces invalid UTF-8 instead of failing', async () => {
    expect(await readBodyLimited(new Response(new Uint8Array([0x61, 0xff, 0x62])), 10)).toBe('a\uFFFDb');
  });

  it('stops with the signal’s reason', async () => {
    const controller = new AbortController();
    const stream = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => undefined) });
    const pending = readBodyLimited(new Response(stream), 100, controller.signal);
    controller.abort('enough');
    expect(await rejection(pending)).toBe('enough');
  });
});
