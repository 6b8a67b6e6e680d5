import { inspect } from 'node:util';
import { InvalidArgumentError } from '../errors/errors';
import { Secret } from '../util/secret';
import { requireNonEmptyString } from './arguments';
import type { HttpRequest, ProviderProfile } from './types';

/** The `content-type` of every token endpoint request. */
export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded;charset=UTF-8';

const REDACTED = '[redacted]';

// application/x-www-form-urlencoded serialisation of one value, as URLSearchParams does it.
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * Freezes a request and gives it a redacted `toJSON` and `util.inspect` view. The request itself must
 * carry secrets in clear (they are what gets sent), so an accidental `console.log(req)` or
 * `JSON.stringify(req)` shows `[redacted]` for the body and the `authorization` header instead.
 * The two methods are non-enumerable: the request still compares equal to a plain object in tests.
 */
export function sealRequest(req: HttpRequest): HttpRequest {
  const headers = Object.freeze({ ...req.headers });
  const sealed = { method: req.method, url: req.url, headers, body: req.body };
  const redacted = () => ({
    method: req.method,
    url: req.url,
    headers: 'authorization' in headers ? { ...headers, authorization: REDACTED } : { ...headers },
    body: req.body === undefined ? undefined : REDACTED,
  });
  Object.defineProperty(sealed, 'toJSON', { value: redacted, enumerable: false });
  Object.defineProperty(sealed, inspect.custom, { value: () => redacted(), enumerable: false });
  return Object.freeze(sealed);
}

/**
 * Builds a POST to the token endpoint. With `authenticate: true` the client authenticates the way the
 * profile says: `client_secret_post` puts `client_id` and `client_secret` after `grant_type` in the body;
 * `client_secret_basic` sends `Authorization: Basic base64(formenc(id) ":" formenc(secret))`
 * (RFC 6749 §2.3.1) and leaves `client_id` out of the body (§3.2.1 asks for it only from clients that do
 * not authenticate). With `authenticate: false` only `client_id` is sent (mixi's `server_state`).
 *
 * The returned request holds the client secret in clear: send it, never log it.
 */
export function tokenEndpointRequest(
  profile: ProviderProfile,
  credentials: { readonly clientId: string; readonly clientSecret?: Secret | undefined },
  grantType: string,
  params: ReadonlyArray<readonly [string, string | undefined]>,
  authenticate: boolean,
): HttpRequest {
  const clientId = requireNonEmptyString(credentials.clientId, 'clientId');
  const headers: Record<string, string> = { 'content-type': FORM_CONTENT_TYPE, accept: 'application/json' };
  const body = new URLSearchParams({ grant_type: grantType });
  if (!authenticate) {
    body.append('client_id', clientId);
  } else {
    if (!(credentials.clientSecret instanceof Secret)) throw new InvalidArgumentError('clientSecret must be a Secret');
    const secret = requireNonEmptyString(credentials.clientSecret.reveal(), 'clientSecret');
    if (profile.clientAuth === 'client_secret_basic') {
      const pair = `${formEncode(clientId)}:${formEncode(secret)}`;
      headers.authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
    } else {
      body.append('client_id', clientId);
      body.append('client_secret', secret);
    }
  }
  for (const [name, value] of params) if (value !== undefined) body.append(name, value);
  return sealRequest({ method: 'POST', url: profile.tokenEndpoint, headers, body: body.toString() });
}
