import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ConnectionDroppedError } from '../emulator-error';
import type { MixiEmulatorControls } from '../mixi-emulator';
import type { AppEnv, EmulatorState } from './app-context';
import { mountAuthorizeRoutes } from './authorize-routes';
import { mountControlRoutes } from './control-routes';
import { mountDashboardApiRoutes } from './dashboard-api-routes';
import { mountDashboardRoutes } from './dashboard-routes';
import { mountGraphApiRoutes } from './graph-api-routes';
import { sendErrorPage } from './html-page';
import { BodyTooLargeError, declaredLengthLimit, jsonError } from './http-kit';
import { mountTokenRoutes } from './token-routes';

/**
 * Builds the Hono app for one emulator: every mixi host on one origin, body size capped for every
 * route (413), JSON (or a plain page, for the browser-facing paths) for unknown routes, and an error
 * handler that never shows a stack trace.
 */
export function createApp(state: EmulatorState, emulator: MixiEmulatorControls): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', declaredLengthLimit(state.options.maxBodyBytes));
  mountTokenRoutes(app, state);
  mountGraphApiRoutes(app, state);
  mountAuthorizeRoutes(app, state);
  mountDashboardApiRoutes(app, state);
  mountDashboardRoutes(app, state);
  if (state.options.control) mountControlRoutes(app, emulator);

  app.notFound((c) => {
    const description = `no ${c.req.method} route for this path`;
    return isForPeople(c.req.path) ? sendErrorPage(c, 404, 'Not found', description) : jsonError(404, 'not_found', description);
  });
  app.onError((error, c) => {
    // A dropped connection is not an error to answer: in-process it must reach the caller as a rejection.
    if (error instanceof ConnectionDroppedError) throw error;
    if (error instanceof BodyTooLargeError) {
      const description = `the request body is larger than ${state.options.maxBodyBytes} bytes`;
      return isForPeople(c.req.path) ? sendErrorPage(c, 413, 'Request too large', description) : jsonError(413, 'invalid_request', description);
    }
    if (error instanceof HTTPException && error.status < 500) return jsonError(error.status, 'invalid_request', error.message || 'bad request');
    console.error('[mixi-emulator] internal error:', error instanceof Error ? error.message : String(error));
    return jsonError(500, 'server_error', 'the emulator failed to handle this request');
  });
  return app;
}

/** Paths a browser shows to a person get HTML errors; everything else gets JSON. */
function isForPeople(path: string): boolean {
  return !path.startsWith('/2/') && !path.startsWith('/dashboard/api/') && !path.startsWith('/_emulator');
}
