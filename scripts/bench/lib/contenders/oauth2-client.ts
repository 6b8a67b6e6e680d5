/**
 * @badgateway/oauth2-client 3.3.1 used as its README recommends: one `OAuth2Fetch` per grant, with
 * `getStoredToken` / `storeToken` over this process's own storage and `getNewToken` returning null
 * (a backend job cannot send a user to the consent page; the README: "return null to fail the
 * process"). Callers ask `getAccessToken()` (or call `fetch`), which refreshes an expired token; the
 * wrapper shares one refresh among the callers of its process, and nothing coordinates processes.
 *
 * Configuration: the emulator as `server`, its token endpoint, mixi's `client_secret_post`.
 * Nothing else is changed; the library is not patched.
 */
import { OAuth2Client, OAuth2Fetch, type OAuth2Token } from '@badgateway/oauth2-client';
import type { StormGrant, WorkerConfig } from '../worker-protocol';
import type { Contender } from './contender';

/**
 * The library ends a failed refresh with a plain Error ("Unable to obtain OAuth2 tokens, a full reauth
 * may be needed") once `getNewToken` returns null: count it under a name that says so.
 */
function labelled(error: unknown): never {
  if (error instanceof Error && /full reauth/.test(error.message)) throw Object.assign(error, { code: 'reauth_needed' });
  throw error;
}

export function oauth2ClientContender(config: WorkerConfig, grants: readonly StormGrant[]): Contender {
  const { client } = config.emulator;
  const oauth = new OAuth2Client({
    server: config.emulator.url,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    tokenEndpoint: '/2/token',
    authenticationMethod: 'client_secret_post',
  });
  const storage = new Map<string, OAuth2Token>();
  const wrappers = new Map<string, OAuth2Fetch>();
  for (const g of grants) {
    storage.set(g.grantId, { accessToken: g.accessToken, refreshToken: g.refreshToken, expiresAt: g.expiresAtRealMs });
    wrappers.set(
      g.grantId,
      new OAuth2Fetch({
        client: oauth,
        getNewToken: () => null,
        storeToken: (token) => void storage.set(g.grantId, token),
        getStoredToken: () => storage.get(g.grantId) ?? null,
      }),
    );
  }
  const wrapper = (grantId: string): OAuth2Fetch => {
    const w = wrappers.get(grantId);
    if (w === undefined) throw new RangeError(`unknown grant ${grantId}`);
    return w;
  };
  const apiUrl = `${config.emulator.url}/2/people/@me/@self`;
  return {
    token: (grantId) => wrapper(grantId).getAccessToken().catch(labelled),
    fetch: async (grantId) => {
      const res = await wrapper(grantId).fetch(apiUrl).catch(labelled);
      await res.arrayBuffer();
      return res.status;
    },
    current: async (grantId) => storage.get(grantId)?.accessToken,
    close: async () => undefined,
  };
}
