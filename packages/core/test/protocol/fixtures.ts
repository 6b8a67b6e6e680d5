import { Secret } from '../../src/util/secret';
import type { ClientCredentials, HttpResponse } from '../../src/protocol/index';

/** An answer as `sendRequest` would hand it over. */
export function answer(status: number, body: string | object, headers: Record<string, string> = {}): HttpResponse {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const h = new Headers(headers);
  if (typeof body !== 'string' && !h.has('content-type')) h.set('content-type', 'application/json');
  return { status, headers: h, body: text };
}

export const NOW = 1_700_000_000_000;

export const mixiCredentials: ClientCredentials = {
  clientId: '908ed4da74f885a2ab',
  clientSecret: new Secret('cs-5ecr3t-value'),
  redirectUri: 'https://app.example.com/callback',
};

/** The seed's token answer. */
export const seedTokenAnswer = {
  refresh_token: '39c5662a2e8b87d41c1eebe79f68af',
  expires_in: 900,
  access_token: 'c2be2257f3dae3df4efcb010ae6eea',
  token_type: 'Bearer',
  scope: 'r_profile r_voice',
};
