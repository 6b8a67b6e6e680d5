import {
  type ClientConfig,
  type ClientRecord,
  type GrantStore,
  type MixiEndpoints,
  type OAuth2ProviderOptions,
  type ProviderProfile,
  InvalidArgumentError,
  providers,
  resolveClient,
  type Secret,
} from '@tokenvault/core';
import { CliError } from './cli-errors';

/**
 * The registered services (consumer key and secret, redirect URL, provider) as the CLI keeps them:
 * in the store's client registry, so every command and every process on the same store sees the
 * same clients. A provider's endpoints live in `providerOptions`, so a client can point at the mixi
 * emulator as easily as at mixi itself.
 */

/** The provider profiles the CLI can rebuild from a stored client. */
export const PROVIDER_NAMES = ['mixi', 'oauth2'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

const MIXI_OPTION_KEYS: readonly (keyof MixiEndpoints)[] = [
  'authorizationEndpoint',
  'featurePhoneAuthorizationEndpoint',
  'tokenEndpoint',
  'apiBaseUrl',
];
const OAUTH2_OPTION_KEYS: readonly (keyof OAuth2ProviderOptions)[] = [
  'name',
  'authorizationEndpoint',
  'tokenEndpoint',
  'apiBaseUrl',
  'clientAuth',
  'pkce',
  'codeLifetimeMs',
  'defaultScope',
  'displays',
];

/** What `clients add` (and the demo) registers. */
export interface ClientRegistration {
  readonly id: string;
  readonly provider: ProviderName;
  /** mixi: endpoint overrides (none for the live service); oauth2: `providers.oauth2()` options. */
  readonly providerOptions: Readonly<Record<string, unknown>>;
  readonly clientId: string;
  readonly clientSecret: Secret;
  readonly redirectUri: string;
}

/**
 * The provider profile of a stored client, rebuilt from its `provider` name and `providerOptions`.
 * Throws a {@link CliError} naming the client when either is unusable.
 *
 * @example
 * providerProfileOf({ id: 'mixi', provider: 'mixi', providerOptions: mixiEndpoints('http://127.0.0.1:8787') })
 */
export function providerProfileOf(record: Pick<ClientRecord, 'id' | 'provider' | 'providerOptions'>): ProviderProfile {
  try {
    switch (record.provider) {
      case 'mixi':
        return providers.mixi(pick(record.providerOptions, MIXI_OPTION_KEYS) as Partial<MixiEndpoints>);
      case 'oauth2':
        return providers.oauth2(pick(record.providerOptions, OAUTH2_OPTION_KEYS) as unknown as OAuth2ProviderOptions);
      default:
        throw new CliError(`client "${record.id}" uses provider "${record.provider}", which this CLI does not know (known: ${PROVIDER_NAMES.join(', ')})`);
    }
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new CliError(`client "${record.id}": ${error.message}`, { cause: error });
    throw error;
  }
}

/** The vault's configuration for a stored client. */
export function clientConfigOf(record: ClientRecord): ClientConfig {
  return {
    id: record.id,
    provider: providerProfileOf(record),
    clientId: record.clientId,
    clientSecret: record.clientSecret,
    redirectUri: record.redirectUri,
  };
}

/**
 * Stores a new client after checking it the way the vault will (provider options, consumer key,
 * redirect URL). Refuses to replace an existing one: a changed secret goes through
 * {@link replaceClientSecret}, so a typo cannot silently re-point a client that has grants.
 *
 * @example
 * await registerClient(store, { id: 'mixi', provider: 'mixi', providerOptions: {}, clientId, clientSecret, redirectUri }, Date.now());
 */
export async function registerClient(store: GrantStore, registration: ClientRegistration, now: number): Promise<ClientRecord> {
  const record: ClientRecord = { ...registration, createdAt: now, updatedAt: now };
  try {
    resolveClient(clientConfigOf(record));
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new CliError(error.message, { cause: error });
    throw error;
  }
  if ((await store.getClient(registration.id)) !== undefined) {
    throw new CliError(`client "${registration.id}" is already registered; use "tokenvault clients rotate-secret ${registration.id}" to change its secret`);
  }
  await store.putClient(record);
  return record;
}

/**
 * Replaces a client's consumer secret (after the provider re-issued it) and returns the record before
 * and after. Running vaults still hold the old one until they call `vault.updateClientSecret`.
 */
export async function replaceClientSecret(
  store: GrantStore,
  id: string,
  clientSecret: Secret,
  now: number,
): Promise<{ readonly before: ClientRecord; readonly after: ClientRecord }> {
  const before = await requireClient(store, id);
  const after: ClientRecord = { ...before, clientSecret, updatedAt: now };
  await store.putClient(after);
  return { before, after };
}

/** The stored client, or a {@link CliError} that says how to list them. */
export async function requireClient(store: GrantStore, id: string): Promise<ClientRecord> {
  const record = await store.getClient(id);
  if (record === undefined) throw new CliError(`client "${id}" is not registered (see "tokenvault clients list")`);
  return record;
}

/**
 * Where a client's provider lives, for listings: the token endpoint's origin, or `mixi (live)`.
 *
 * @example
 * providerLocation(record) // 'http://127.0.0.1:8787'
 */
export function providerLocation(record: ClientRecord): string {
  const tokenEndpoint = record.providerOptions.tokenEndpoint;
  if (typeof tokenEndpoint === 'string' && URL.canParse(tokenEndpoint)) return new URL(tokenEndpoint).origin;
  return record.provider === 'mixi' ? 'mixi (live)' : '';
}

function pick(options: Readonly<Record<string, unknown>>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (options[key] !== undefined) out[key] = options[key];
  return out;
}
