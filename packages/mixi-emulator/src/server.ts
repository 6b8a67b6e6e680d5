import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { EmulatorError } from './emulator-error';
import { isLoopbackAddress } from './http/http-kit';

/** What `@hono/node-server` calls per request (the app's `fetch`). */
type FetchCallback = Parameters<typeof createAdaptorServer>[0]['fetch'];

/** Where to listen. */
export interface ListenOptions {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Interface address. Default `127.0.0.1`; the control API refuses anything but loopback. */
  readonly host?: string;
}

/** A listening emulator. */
export interface RunningEmulator {
  /** Base URL, e.g. `http://127.0.0.1:53124` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Stops listening and closes every connection, idle keep-alive ones included. */
  close(): Promise<void>;
}

/**
 * Serves `fetch` with `@hono/node-server` (so fault rules can destroy real sockets) and resolves
 * once the port is bound; a bind error (port taken, bad host) rejects instead of crashing.
 */
export function listen(
  fetch: FetchCallback,
  options: ListenOptions,
  control: boolean,
): Promise<RunningEmulator> {
  const port = options.port ?? 0;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    return Promise.reject(new EmulatorError('invalid_input', 'port must be an integer from 0 to 65535', { field: 'port' }));
  }
  if (control && !isLoopbackAddress(host)) {
    return Promise.reject(
      new EmulatorError('control_not_loopback', 'the control API may only be enabled on a loopback address (127.0.0.1, ::1, localhost)', { field: 'host' }),
    );
  }
  const server = createAdaptorServer({ fetch, hostname: host }) as Server;
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(new EmulatorError('invalid_input', `cannot listen on ${host}:${port}: ${error.message}`, { field: 'port', cause: error }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address() as AddressInfo;
      const hostInUrl = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
      resolve({
        url: `http://${hostInUrl}:${address.port}`,
        port: address.port,
        host: address.address,
        close: () => closeServer(server),
      });
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    server.close((error) => (error ? reject(error) : resolve()));
    // Idle keep-alive sockets would hold close() open for seconds.
    server.closeAllConnections();
  });
}
