/**
 * simple-oauth2 5.1.0 used as its README recommends for refresh-on-expiry ("Refresh an access
 * token"): the persisted token is turned back into an AccessToken with `client.createToken`, and a
 * caller that finds `accessToken.expired(EXPIRATION_WINDOW_IN_SECONDS)` calls
 * `accessToken.refresh()` and persists the result. The storage is this process's own (a Map), as
 * in the README; nothing coordinates callers or processes, because the library offers nothing to.
 *
 * Configuration: the emulator's token path, mixi's `client_secret_post` (`authorizationMethod:
 * 'body'`). Nothing else is changed; the library is not patched.
 */
import { createRequire } from 'node:module';
import type { StormGrant, WorkerConfig } from '../worker-protocol';
import type { Contender } from './contender';

/** The slice of simple-oauth2's (untyped) API this contender uses. */
interface AccessToken {
  readonly token: { readonly access_token: string };
  expired(expirationWindowSeconds?: number): boolean;
  refresh(params?: object): Promise<AccessToken>;
}
interface AuthorizationCodeClient {
  createToken(token: object): AccessToken;
}
interface SimpleOAuth2 {
  AuthorizationCode: new (options: object) => AuthorizationCodeClient;
}

/** The README's example window: refresh 300 s before the recorded expiry. */
const EXPIRATION_WINDOW_IN_SECONDS = 300;

export function simpleOAuth2Contender(config: WorkerConfig, grants: readonly StormGrant[]): Contender {
  const { AuthorizationCode } = createRequire(import.meta.url)('simple-oauth2') as SimpleOAuth2;
  const { client } = config.emulator;
  const oauth = new AuthorizationCode({
    client: { id: client.clientId, secret: client.clientSecret },
    auth: { tokenHost: config.emulator.url, tokenPath: '/2/token', authorizePath: '/connect_authorize.pl' },
    options: { authorizationMethod: 'body' },
  });
  // "the access token is usually persisted in an external database by first serializing it": here,
  // this process's own storage, loaded with the token every process had when the storm began.
  const storage = new Map<string, string>();
  for (const g of grants) {
    storage.set(
      g.grantId,
      JSON.stringify({ access_token: g.accessToken, refresh_token: g.refreshToken, token_type: 'Bearer', expires_at: new Date(g.expiresAtRealMs).toISOString() }),
    );
  }
  const load = (grantId: string): AccessToken => {
    const json = storage.get(grantId);
    if (json === undefined) throw new RangeError(`unknown grant ${grantId}`);
    return oauth.createToken(JSON.parse(json) as object);
  };
  const token = async (grantId: string): Promise<string> => {
    let accessToken = load(grantId);
    if (accessToken.expired(EXPIRATION_WINDOW_IN_SECONDS)) {
      accessToken = await accessToken.refresh();
      storage.set(grantId, JSON.stringify(accessToken));
    }
    return accessToken.token.access_token;
  };
  const apiBase = `${config.emulator.url}/2/`;
  return {
    token,
    fetch: async (grantId) => {
      const res = await fetch(`${apiBase}people/@me/@self`, { headers: { authorization: `Bearer ${await token(grantId)}` } });
      await res.arrayBuffer();
      return res.status;
    },
    current: async (grantId) => load(grantId).token.access_token,
    close: async () => undefined,
  };
}
