import type { ClientRecord } from '@tokenvault/core';
import { CliError, EXIT_OK, UsageError } from '../cli-errors';
import { type ClientRegistration, type ProviderName, providerLocation, registerClient, replaceClientSecret, requireClient } from '../client-registry';
import type { CommandContext } from '../command-context';
import { readClientSecret } from '../secret-input';
import { renderTable } from '../text-table';
import { withWorkspace } from '../workspace';

/** Options of `tokenvault clients add`. */
export interface ClientsAddOptions {
  readonly provider: ProviderName;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly secretStdin?: boolean;
  readonly endpointsFrom?: string;
  readonly authorizationEndpoint?: string;
  readonly featurePhoneAuthorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
  readonly apiBaseUrl?: string;
  readonly clientAuth?: 'client_secret_basic' | 'client_secret_post';
  /** `--no-pkce` sets it false; commander defaults it to true. */
  readonly pkce?: boolean;
}

/** `tokenvault clients add <id>`: registers a service in the store's client registry. */
export async function runClientsAdd(ctx: CommandContext, id: string, options: ClientsAddOptions): Promise<number> {
  const providerOptions = await providerOptionsOf(options);
  // Before the store is opened (and perhaps created): a missing secret is a usage error that leaves nothing behind.
  const clientSecret = await readClientSecret(ctx, { secretStdin: options.secretStdin, prompt: `consumer secret of "${id}"` });
  return withWorkspace(ctx, { create: true }, async (workspace) => {
    const registration: ClientRegistration = {
      id,
      provider: options.provider,
      providerOptions,
      clientId: options.clientId,
      clientSecret,
      redirectUri: options.redirectUri,
    };
    const record = await registerClient(workspace.store, registration, Date.now());
    ctx.out(`registered client "${record.id}" (${record.provider} at ${providerLocation(record)}, redirect URL ${record.redirectUri}) in ${workspace.location.display}`);
    return EXIT_OK;
  });
}

/** The `providerOptions` a registration stores, from the endpoint flags. */
async function providerOptionsOf(options: ClientsAddOptions): Promise<Record<string, unknown>> {
  const explicit = {
    ...(options.authorizationEndpoint !== undefined && { authorizationEndpoint: options.authorizationEndpoint }),
    ...(options.tokenEndpoint !== undefined && { tokenEndpoint: options.tokenEndpoint }),
    ...(options.apiBaseUrl !== undefined && { apiBaseUrl: options.apiBaseUrl }),
  };
  if (options.provider === 'mixi') {
    if (options.clientAuth !== undefined || options.pkce === false) {
      throw new UsageError('--client-auth and --no-pkce apply to --provider oauth2 only (mixi sends the secret in the body, without PKCE)');
    }
    // The emulator package is loaded only for --endpoints-from: one URL mapping, its single source of truth.
    const fromEmulator = options.endpointsFrom === undefined ? {} : (await import('@tokenvault/mixi-emulator')).mixiEndpoints(options.endpointsFrom);
    return {
      ...fromEmulator,
      ...(options.featurePhoneAuthorizationEndpoint !== undefined && { featurePhoneAuthorizationEndpoint: options.featurePhoneAuthorizationEndpoint }),
      ...explicit,
    };
  }
  if (options.endpointsFrom !== undefined || options.featurePhoneAuthorizationEndpoint !== undefined) {
    throw new UsageError('--endpoints-from and --feature-phone-authorization-endpoint apply to --provider mixi only');
  }
  if (explicit.authorizationEndpoint === undefined || explicit.tokenEndpoint === undefined) {
    throw new UsageError('--provider oauth2 needs --authorization-endpoint and --token-endpoint');
  }
  return {
    ...explicit,
    ...(options.clientAuth !== undefined && { clientAuth: options.clientAuth }),
    ...(options.pkce === false && { pkce: false }),
  };
}

/** `tokenvault clients list`: the registered services with a fingerprint of the secret, never the secret. */
export async function runClientsList(ctx: CommandContext, options: { readonly json?: boolean }): Promise<number> {
  return withWorkspace(ctx, {}, async (workspace) => {
    const clients = await workspace.clients();
    const grants = await Promise.all(clients.map((client) => workspace.store.count({ client: client.id })));
    if (options.json) {
      ctx.out(JSON.stringify(clients.map((client, i) => clientView(client, grants[i] ?? 0)), null, 2));
      return EXIT_OK;
    }
    if (clients.length === 0) {
      ctx.out('no clients registered yet; add one with "tokenvault clients add"');
      return EXIT_OK;
    }
    ctx.out(
      renderTable(
        ['ID', 'PROVIDER', 'CONSUMER KEY', 'REDIRECT URL', 'PROVIDER AT', 'SECRET', 'GRANTS'],
        clients.map((client, i) => [
          client.id,
          client.provider,
          client.clientId,
          client.redirectUri,
          providerLocation(client),
          fingerprint(client),
          String(grants[i] ?? 0),
        ]),
      ),
    );
    return EXIT_OK;
  });
}

/** What a listing shows of a client: everything but the secret, which only gets a fingerprint. */
function clientView(client: ClientRecord, grants: number) {
  return {
    id: client.id,
    provider: client.provider,
    providerOptions: client.providerOptions,
    clientId: client.clientId,
    redirectUri: client.redirectUri,
    secretFingerprint: fingerprint(client),
    grants,
    createdAt: new Date(client.createdAt).toISOString(),
    updatedAt: new Date(client.updatedAt).toISOString(),
  };
}

/** 32 bits of SHA-256: enough to tell two secrets apart, far too little to recover one. */
function fingerprint(client: ClientRecord): string {
  return `sha256:${client.clientSecret.fingerprint()}`;
}

/** `tokenvault clients rotate-secret <id>`: stores the re-issued consumer secret. */
export async function runClientsRotateSecret(ctx: CommandContext, id: string, options: { readonly secretStdin?: boolean }): Promise<number> {
  return withWorkspace(ctx, {}, async (workspace) => {
    await requireClient(workspace.store, id);
    const secret = await readClientSecret(ctx, { secretStdin: options.secretStdin, prompt: `new consumer secret of "${id}"` });
    const { before, after } = await replaceClientSecret(workspace.store, id, secret, Date.now());
    if (before.clientSecret.equals(after.clientSecret)) {
      ctx.out(`the secret of client "${id}" is unchanged (${fingerprint(after)})`);
    } else {
      ctx.out(`replaced the secret of client "${id}" (${fingerprint(before)} → ${fingerprint(after)}); processes already running keep the old one until restarted`);
    }
    return EXIT_OK;
  });
}

/** `tokenvault clients remove <id>`: refuses while grants depend on the client, unless told to forget them. */
export async function runClientsRemove(ctx: CommandContext, id: string, options: { readonly forgetGrants?: boolean }): Promise<number> {
  return withWorkspace(ctx, {}, async (workspace) => {
    await requireClient(workspace.store, id);
    const grants = await workspace.store.count({ client: id });
    if (grants > 0 && !options.forgetGrants) {
      throw new CliError(`client "${id}" has ${grants} grant${grants === 1 ? '' : 's'}; pass --forget-grants to delete ${grants === 1 ? 'it' : 'them'} with the client`);
    }
    let forgotten = 0;
    if (grants > 0) {
      const vault = await workspace.vault();
      for (;;) {
        // Deleting as we go: the first page is always the next one.
        const page = await vault.list({ client: id }, { limit: 500 });
        if (page.items.length === 0) break;
        for (const grant of page.items) if (await vault.forget(grant.grantId)) forgotten++;
      }
    }
    await workspace.store.deleteClient(id);
    ctx.out(`removed client "${id}"${forgotten > 0 ? ` and ${forgotten} grant${forgotten === 1 ? '' : 's'}` : ''}`);
    return EXIT_OK;
  });
}
