import { InvalidArgumentError } from '../errors/errors';
import { Secret } from '../util/secret';
import { requireFiniteNumber } from './arguments';
import { expiresAtFrom, readJsonAnswer, requiredString } from './json-answer';
import { tokenEndpointRequest } from './token-endpoint-request';
import type { ClientCredentials, HttpRequest, HttpResponse, ProviderProfile } from './types';

/** mixi's `server_state`, with its deadline when the answer gave one. */
export interface ServerState {
  readonly serverState: Secret;
  /** Epoch ms; null when the answer had no `expires_in` (mixi's is about 30 minutes). */
  readonly expiresAt: number | null;
}

/**
 * The request for a fresh mixi `server_state`: `POST <token endpoint>` with
 * `grant_type=server_state&client_id=…` (no client secret: mixi asks for none).
 *
 * @example
 * const req = serverStateRequest(providers.mixi(), creds);
 * // { method: 'POST', url: 'https://secure.mixi-platform.com/2/token', body: 'grant_type=server_state&client_id=…', … }
 */
export function serverStateRequest(
  profile: ProviderProfile,
  credentials: Pick<ClientCredentials, 'clientId'>,
): HttpRequest {
  if (!profile.serverState) throw new InvalidArgumentError(`provider "${profile.name}" has no server_state`);
  return tokenEndpointRequest(profile, { clientId: credentials.clientId }, 'server_state', [], false);
}

/**
 * Validates the `server_state` answer (`{"server_state":"…","expires_in":1800}`). Errors as for
 * `processTokenResponse`.
 *
 * @example
 * const { serverState, expiresAt } = processServerStateResponse(res, clock.now());
 */
export function processServerStateResponse(res: HttpResponse, now: number): ServerState {
  requireFiniteNumber(now, 'now');
  const body = readJsonAnswer(res, 'server_state', 'server_state', now);
  return Object.freeze({
    serverState: new Secret(requiredString(body, 'server_state', 'server_state', res.status)),
    expiresAt: expiresAtFrom(body, 'expires_in', 'server_state', res.status, now),
  });
}
