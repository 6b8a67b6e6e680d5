/**
 * How a vault sends its token requests: over keep-alive node:http connections of its own by default,
 * through `fetch` when one is given, over the caller's `connections` when those are given.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mixiEndpoints } from '@tokenvault/mixi-emulator';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpConnections, InvalidArgumentError, providers, type FetchLike, type Vault } from '../../src/index';
import { REDIRECT_URI, startVaultWorld, type VaultWorld } from '../helpers/vault-world';

let w: VaultWorld;
let proxy: CountingProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await w?.close();
});

/** A TCP relay in front of the emulator that counts the connections made through it and those still open. */
interface CountingProxy {
  readonly url: string;
  readonly open: Set<Socket>;
  accepted: number;
  close(): Promise<void>;
}

async function countingProxy(target: string): Promise<CountingProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  const state = { accepted: 0 };
  const server: Server = createServer((client) => {
    state.accepted++;
    open.add(client);
    const upstream = connect(Number(port), hostname);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('close', drop);
      s.on('error', drop);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open,
    get accepted() {
      return state.accepted;
    },
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  } as CountingProxy;
}

const FIFTEEN_MINUTES = 15 * 60_000;

/** A vault whose token endpoint is reached through `proxy`; grants 'a'…'c' seeded and due. */
async function vaultThroughProxy(extra: { fetch?: FetchLike; connections?: HttpConnections } = {}): Promise<Vault> {
  w = await startVaultWorld();
  proxy = await countingProxy(w.url);
  for (const id of ['a', 'b', 'c']) await w.seedGrant(id);
  w.emulator.clock.advance(FIFTEEN_MINUTES - 30_000);
  return w.newVault({
    clients: [{ id: 'mixi', provider: providers.mixi(mixiEndpoints(proxy.url)), clientId: w.clientId, clientSecret: w.clientSecret, redirectUri: REDIRECT_URI }],
    ...extra,
  });
}

/** A fetch that records the token requests it sends. */
function recordingFetch(): { fetch: FetchLike; tokenRequests: number } {
  const seen = { fetch: undefined as unknown as FetchLike, tokenRequests: 0 };
  seen.fetch = (input, init) => {
    if (String(input instanceof Request ? input.url : input).endsWith('/2/token')) seen.tokenRequests++;
    return globalThis.fetch(input, init);
  };
  return seen;
}

describe('token requests', () => {
  it('go over one keep-alive connection of the vault’s own by default, closed with the vault', async () => {
    const vault = await vaultThroughProxy();
    for (const id of ['a', 'b', 'c']) expect((await vault.refresh(id)).state).toBe('authorized');
    expect(proxy!.accepted).toBe(1);
    expect(proxy!.open.size).toBe(1);
    await vault.close();
    await vi.waitFor(() => expect(proxy!.open.size).toBe(0));
  });

  it('go through `fetch` when one is given', async () => {
    const recording = recordingFetch();
    const vault = await vaultThroughProxy({ fetch: recording.fetch });
    for (const id of ['a', 'b', 'c']) await vault.refresh(id);
    expect(recording.tokenRequests).toBe(3);
  });

  it('go over the given connections even when a fetch is given too, and the vault leaves them open', async () => {
    const recording = recordingFetch();
    const connections = new HttpConnections({ maxSocketsPerHost: 4 });
    try {
      const vault = await vaultThroughProxy({ fetch: recording.fetch, connections });
      for (const id of ['a', 'b', 'c']) await vault.refresh(id);
      expect(recording.tokenRequests).toBe(0);
      expect(proxy!.accepted).toBe(1);
      await vault.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(proxy!.open.size).toBe(1); // still ours to use …
    } finally {
      connections.close(); // … and to close
    }
    await vi.waitFor(() => expect(proxy!.open.size).toBe(0));
  });

  it('refuses `connections` that are not HttpConnections', async () => {
    w = await startVaultWorld();
    expect(() => w.newVault({ connections: {} as never })).toThrow(InvalidArgumentError);
    expect(() => w.newVault({ connections: {} as never })).toThrow('vault option "connections" must be an HttpConnections');
  });

  it.each([
    [{ maxSocketsPerHost: 0 }, '"maxSocketsPerHost" must be a positive integer'],
    [{ maxSocketsPerHost: 1.5 }, '"maxSocketsPerHost" must be a positive integer'],
    [{ tls: 'ca.pem' }, '"tls" must be an object'],
  ])('HttpConnections refuses bad options (%#)', (options, message) => {
    expect(() => new HttpConnections(options as never)).toThrow(message);
  });
});
