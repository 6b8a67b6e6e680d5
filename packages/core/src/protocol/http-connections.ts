import { Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { InvalidArgumentError, InvalidResponseError } from '../errors/errors';
import type { HttpRequest, HttpResponse, ResponseHeaders } from './types';

/**
 * Idle keep-alive sockets are closed after this long (or sooner when the server's `Keep-Alive: timeout`
 * hint says so, less a second), before the 5 s a Node.js server keeps them by default: a request sent on
 * a socket the server is closing at that moment fails with a reset.
 */
const IDLE_SOCKET_MS = 4_000;

/** TLS settings of {@link HttpConnections} for `https:` endpoints. */
export interface HttpConnectionsTls {
  /** Certificate authorities to trust (PEM), instead of Node's bundled ones: a private CA, say. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** A client certificate chain (PEM), for a token endpoint that asks for mutual TLS. */
  readonly cert?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** The client certificate's private key (PEM). Kept inside the connections; never shown. */
  readonly key?: string | Buffer;
}

/** Options of {@link HttpConnections}. */
export interface HttpConnectionsOptions {
  /** TLS settings for `https:` endpoints. Default: Node's trusted CAs, no client certificate. */
  readonly tls?: HttpConnectionsTls;
  /** The most connections open to one host at once; further requests queue. Default: no limit. */
  readonly maxSocketsPerHost?: number;
}

/**
 * Keep-alive connections for token-endpoint requests sent without a `fetch` (see `sendRequest`), over
 * Node's own `http` and `https` modules. On Node 20 that costs about a quarter of the CPU per request that
 * `fetch` does, and a large `refreshDue` sweep is bound by CPU per grant: `npm run bench -- --only sweep
 * --token-requests fetch` against the same command without the flag shows the difference.
 *
 * Idle sockets do not keep the process alive. `close()` ends every socket, idle or busy; the vault calls
 * it from its own `close()`, after its requests have finished.
 *
 * @example
 * const connections = new HttpConnections({ tls: { ca: readFileSync('corp-ca.pem') } });
 * const vault = createVault({ store, clients, connections });
 * // … and after vault.close():
 * connections.close();
 */
export class HttpConnections {
  readonly #http: HttpAgent;
  readonly #https: HttpsAgent;

  constructor(options: HttpConnectionsOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('HttpConnections options must be an object');
    const maxSockets = options.maxSocketsPerHost ?? Number.POSITIVE_INFINITY;
    if (maxSockets !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxSockets) || maxSockets < 1)) {
      throw new InvalidArgumentError('"maxSocketsPerHost" must be a positive integer');
    }
    const tls = options.tls ?? {};
    if (tls === null || typeof tls !== 'object') throw new InvalidArgumentError('"tls" must be an object');
    const common = { keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo', maxSockets } as const;
    this.#http = new HttpAgent(common);
    this.#https = new HttpsAgent({
      ...common,
      ...(tls.ca !== undefined && { ca: tls.ca as string | Buffer | Array<string | Buffer> }),
      ...(tls.cert !== undefined && { cert: tls.cert as string | Buffer | Array<string | Buffer> }),
      ...(tls.key !== undefined && { key: tls.key }),
    });
  }

  /**
   * Sends `req` and reads the whole answer, `maxBytes` at most. `setCancel` receives the function that
   * abandons the exchange (the socket is destroyed and the promise rejects with the reason given).
   * Network failures reject with Node's own error; the caller turns them into typed errors.
   * @internal
   */
  exchange(req: HttpRequest, maxBytes: number, setCancel: (cancel: (reason: unknown) => void) => void): Promise<HttpResponse> {
    const secure = /^https:/i.test(req.url);
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      let response: IncomingMessage | undefined;
      const fail = (reason: unknown) => {
        if (settled) return;
        settled = true;
        // A socket with an unread or half-sent exchange cannot go back to the pool.
        request.destroy();
        response?.destroy();
        reject(reason);
      };
      // The whole body goes to end() before the headers are sent, so Node sends a Content-Length.
      const request = (secure ? httpsRequest : httpRequest)(req.url, { method: req.method, headers: req.headers, agent: secure ? this.#https : this.#http }, (res) => {
        response = res;
        const status = res.statusCode ?? 0;
        const declared = Number(res.headers['content-length'] ?? Number.NaN);
        if (declared > maxBytes) return fail(tooLarge(status, maxBytes));
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.byteLength;
          if (total > maxBytes) return fail(tooLarge(status, maxBytes));
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({ status, headers: new NodeResponseHeaders(res.headers), body: decodeBody(chunks) });
        });
        // Includes a connection that closes in the middle of the body ('aborted').
        res.on('error', fail);
      });
      request.on('error', fail);
      setCancel(fail);
      request.end(req.body);
    });
  }

  /** Closes every connection. Requests sent afterwards open new ones. */
  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

/** `InvalidResponseError` for an answer over the size limit. @internal */
export function tooLarge(status: number, maxBytes: number): InvalidResponseError {
  return new InvalidResponseError(`the answer is larger than the ${maxBytes}-byte limit`, status);
}

const utf8 = new TextDecoder('utf-8');

/** A body as text: UTF-8, a leading BOM dropped, invalid sequences replaced (as `fetch`'s `text()`). @internal */
export function decodeBody(chunks: readonly Uint8Array[]): string {
  if (chunks.length === 0) return '';
  return utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
}

/** `Headers.get` over Node's parsed headers: names are lower-cased already, repeated values joined. */
class NodeResponseHeaders implements ResponseHeaders {
  readonly #headers: IncomingHttpHeaders;

  constructor(headers: IncomingHttpHeaders) {
    this.#headers = headers;
  }

  get(name: string): string | null {
    const value = this.#headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
}
