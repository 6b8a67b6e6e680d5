import fc from 'fast-check';
import { createMixiEmulator, mixiEndpoints } from '@tokenvault/mixi-emulator';
import { describe, expect, it } from 'vitest';
import { createVault, type GrantStore, memoryStore, providers, systemClock } from '../../src/index';
import { TEST_RETRY } from '../helpers/vault-world';

/** A store whose reads and writes complete in an order the scheduler picks. */
function scheduledStore(store: GrantStore, s: fc.Scheduler): GrantStore {
  return {
    ...store,
    get: s.scheduleFunction((id: string) => store.get(id)),
    compareAndSet: s.scheduleFunction((next, expected: number) => store.compareAndSet(next, expected)),
    create: store.create.bind(store),
    delete: store.delete.bind(store),
    findByStateHash: store.findByStateHash.bind(store),
    listDue: store.listDue.bind(store),
    listExpiredLeases: store.listExpiredLeases.bind(store),
    list: store.list.bind(store),
    count: store.count.bind(store),
    getClient: store.getClient.bind(store),
    putClient: store.putClient.bind(store),
    deleteClient: store.deleteClient.bind(store),
    listClients: store.listClients.bind(store),
    close: store.close.bind(store),
  };
}

describe('exactly one refresh under random interleavings', () => {
  it('N concurrent getAccessToken calls on an expired grant, spread over several vaults, cause one refresh', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 24 }), fc.integer({ min: 1, max: 4 }), async (s, callers, vaultCount) => {
        const emulator = createMixiEmulator();
        const base = 'http://emulator.test';
        const credentials = emulator.registerService({
          name: 'prop',
          description: 'property test',
          redirectUrl: 'https://app.example/callback',
          inquiryEmail: 'dev@app.example',
        });
        const minted = emulator.mintGrant({ clientId: credentials.clientId, scope: ['r_profile'] });
        const clock = { now: () => emulator.clock.now(), sleep: systemClock.sleep };
        const shared = memoryStore();
        // The token endpoint runs in-process (app.fetch); each answer is released when the scheduler says.
        const inProcessFetch = s.scheduleFunction(async (input: RequestInfo | URL, init?: RequestInit) => emulator.fetch(new Request(input, init)));
        const client = { id: 'mixi', provider: providers.mixi(mixiEndpoints(base)), clientId: credentials.clientId, clientSecret: credentials.clientSecret, redirectUri: 'https://app.example/callback' };
        const vaults = Array.from({ length: vaultCount }, () =>
          createVault({
            store: scheduledStore(shared, s),
            clock,
            fetch: inProcessFetch,
            clients: [client],
            retry: TEST_RETRY,
            pollIntervalMs: { min: 1, max: 2 },
            requestTimeoutMs: 5_000,
            leaseMs: 60_000,
          }),
        );
        // Seed through a vault on the unscheduled store (nothing to interleave yet).
        await createVault({ store: shared, clock, clients: [client] }).importGrant({
          grantId: 'g',
          client: 'mixi',
          accessToken: minted.accessToken,
          refreshToken: minted.refreshToken,
          expiresAt: clock.now() + minted.expiresIn * 1000,
          scope: ['r_profile'],
        });
        emulator.clock.advance(15 * 60_000);

        const calls = Array.from({ length: callers }, (_, i) => vaults[i % vaultCount]!.getAccessToken('g'));
        const tokens = await s.waitFor(Promise.all(calls));
        expect(new Set(tokens).size).toBe(1);
        expect(tokens[0]).not.toBe(minted.accessToken);
        expect(emulator.counters.refreshesOf(minted.grantId)).toBe(1);
        expect(emulator.counters.snapshot().reuseDetections).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
