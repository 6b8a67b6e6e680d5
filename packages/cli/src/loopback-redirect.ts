import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CliError } from './cli-errors';

/** Where a loopback redirect URL must be served: its addresses, port and path. */
export interface LoopbackTarget {
  /** Addresses to bind: `localhost` means both 127.0.0.1 and ::1, since a browser may try either. */
  readonly addresses: readonly string[];
  readonly port: number;
  readonly path: string;
  /** The redirect URL itself, for messages. */
  readonly url: string;
}

/**
 * The loopback target of `redirectUri` when it is `http://127.0.0.1:<port>/…`, `http://[::1]:<port>/…`
 * or `http://localhost:<port>/…`; undefined otherwise (an https URL, mixi's desktop page, a real host).
 *
 * @example
 * loopbackTarget('http://127.0.0.1:8765/callback') // { addresses: ['127.0.0.1'], port: 8765, path: '/callback', … }
 * loopbackTarget('https://mixi.jp/connect_authorize_success.html') // undefined
 */
export function loopbackTarget(redirectUri: string): LoopbackTarget | undefined {
  if (!URL.canParse(redirectUri)) return undefined;
  const url = new URL(redirectUri);
  if (url.protocol !== 'http:') return undefined;
  const addresses =
    url.hostname === '127.0.0.1' ? ['127.0.0.1'] : url.hostname === '[::1]' ? ['::1'] : url.hostname === 'localhost' ? ['127.0.0.1', '::1'] : undefined;
  if (addresses === undefined) return undefined;
  return { addresses, port: url.port === '' ? 80 : Number(url.port), path: url.pathname, url: redirectUri };
}

/** What the browser is shown once the redirect has been handled. */
export interface RedirectPage {
  readonly status: number;
  readonly title: string;
  readonly message: string;
}

/** Options of {@link RedirectReceiver.receive}. */
export interface ReceiveOptions<T> {
  /** Stops the wait (interruption, deadline); the promise rejects with the signal's reason. */
  readonly signal: AbortSignal;
  /**
   * True for the redirect of the authorization being waited for (its `state`). Any other request to
   * the path gets a 400 page and the wait goes on, so a stray or forged request cannot end it.
   */
  isOurs(params: URLSearchParams): boolean;
  /** Completes the authorization from the redirected URL; says what the browser shows and what `receive` resolves to. */
  handle(url: URL): Promise<{ readonly page: RedirectPage; readonly result: T }>;
}

/**
 * A small HTTP server on the redirect URL's loopback address and port, bound before the user is sent
 * to the consent page, so the redirect always finds it listening.
 */
export class RedirectReceiver {
  readonly target: LoopbackTarget;
  readonly #servers: readonly Server[];
  #onRequest: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  private constructor(target: LoopbackTarget, servers: readonly Server[]) {
    this.target = target;
    this.#servers = servers;
    for (const server of servers) server.on('request', (req, res) => this.#route(req, res));
  }

  /**
   * Binds every address of `target`. Fails with a {@link CliError} when the port is taken; a `::1`
   * that the machine lacks is skipped when 127.0.0.1 is bound.
   */
  static async listen(target: LoopbackTarget): Promise<RedirectReceiver> {
    const servers: Server[] = [];
    const failures: string[] = [];
    for (const address of target.addresses) {
      const server = createServer({ requestTimeout: 10_000 });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(target.port, address, () => {
            server.off('error', reject);
            resolve();
          });
        });
        servers.push(server);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        if (address === '::1' && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') && servers.length > 0) continue;
        failures.push(`${address}:${target.port} (${code === 'EADDRINUSE' ? 'the port is in use' : code})`);
      }
    }
    if (failures.length > 0 || servers.length === 0) {
      await Promise.all(servers.map(closeServer));
      throw new CliError(`cannot listen for the redirect to ${target.url} on ${failures.join(', ')}; free the port, or pass --paste`);
    }
    return new RedirectReceiver(target, servers);
  }

  /** Waits for this authorization's redirect and handles it. Call once. */
  receive<T>(options: ReceiveOptions<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let handling = false;
      const onAbort = () => {
        this.#onRequest = undefined;
        reject(options.signal.reason);
      };
      if (options.signal.aborted) return onAbort();
      options.signal.addEventListener('abort', onAbort, { once: true });
      this.#onRequest = (req, res) => {
        const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
        if (!options.isOurs(url.searchParams)) {
          return sendPage(res, { status: 400, title: 'Unexpected redirect', message: 'This redirect does not belong to the authorization tokenvault is waiting for.' });
        }
        if (handling) return sendPage(res, { status: 409, title: 'Already received', message: 'tokenvault has received this redirect already.' });
        handling = true;
        options.handle(url).then(
          ({ page, result }) => {
            sendPage(res, page);
            options.signal.removeEventListener('abort', onAbort);
            resolve(result);
          },
          (error: unknown) => {
            sendPage(res, { status: 500, title: 'Not authorized', message: 'tokenvault could not complete the authorization; see the terminal.' });
            options.signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        );
      };
    });
  }

  /** Stops listening and drops every connection (a browser's keep-alive one too). */
  close(): Promise<void> {
    return Promise.all(this.#servers.map(closeServer)).then(() => undefined);
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' || path !== this.target.path) {
      return sendPage(res, { status: 404, title: 'Not found', message: 'This is tokenvault waiting for an authorization redirect.' });
    }
    if (!this.#onRequest) return sendPage(res, { status: 503, title: 'Not waiting', message: 'tokenvault is not waiting for a redirect right now.' });
    this.#onRequest(req, res);
  }
}

function sendPage(res: ServerResponse, page: RedirectPage): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(page.title)} – tokenvault</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}</style></head>
<body><h1 id="title">${escapeHtml(page.title)}</h1><p id="message">${escapeHtml(page.message)}</p></body></html>`;
  res.writeHead(page.status, {
    'content-type': 'text/html; charset=utf-8',
    // The address bar holds the code: keep this page out of caches and its URL out of any Referer.
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(html);
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
