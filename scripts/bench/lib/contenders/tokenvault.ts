/**
 * tokenvault as a storm or sweep worker runs it: a vault on the shared store, against the emulator,
 * with a clock that agrees with the emulator's virtual clock (`Date.now() + offsetMs`, the offset
 * set by each command).
 */
import { type Clock, createVault, type FetchLike, type Logger, providers, systemClock, type Vault } from '@tokenvault/core';
import { mixiEndpoints } from '@tokenvault/mixi-emulator';
import { openStore } from '../store-spec';
import type { WorkerConfig } from '../worker-protocol';
import type { Contender } from './contender';

export interface TokenvaultContender extends Contender {
  readonly vault: Vault;
  /** Resolves once the store is open and migrated (fails fast on a bad database). */
  ready(): Promise<void>;
}

/**
 * @param offset  read on every `now()`, so a command can move the clock
 * @param fetchImpl  the token and API `fetch` when the crash tests wrap it; undefined for the vault's
 *                   defaults (its own keep-alive connections for token requests, the global fetch for APIs)
 */
export function tokenvaultContender(config: WorkerConfig, offset: { ms: number }, fetchImpl: FetchLike | undefined, logger: Logger): TokenvaultContender {
  if (!config.store) throw new RangeError('a tokenvault worker needs a store');
  const clock: Clock = { now: () => Date.now() + offset.ms, sleep: systemClock.sleep };
  const { client } = config.emulator;
  const store = openStore(config.store);
  const vault = createVault({
    store,
    clients: [
      {
        id: 'mixi',
        provider: providers.mixi(mixiEndpoints(config.emulator.url)),
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        redirectUri: client.redirectUri,
      },
    ],
    clock,
    ...(fetchImpl && { fetch: fetchImpl }),
    logger,
    ...(config.vault?.leaseMs === undefined ? {} : { leaseMs: config.vault.leaseMs }),
    ...(config.vault?.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.vault.requestTimeoutMs }),
    ...(config.vault?.cache === undefined ? {} : { cache: config.vault.cache }),
  });
  return {
    vault,
    ready: () => store.ready(),
    token: (grantId) => vault.getAccessToken(grantId),
    fetch: async (grantId) => {
      const res = await vault.fetch(grantId, 'people/@me/@self');
      await res.arrayBuffer();
      return res.status;
    },
    current: async (grantId) => {
      try {
        return await vault.getAccessToken(grantId);
      } catch {
        return undefined;
      }
    },
    close: () => vault.close(),
  };
}
