import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReauthRequiredError } from '../../src/errors/errors';
import { executeFetch } from '../../src/executor/executor';
import type { ExecutorHost } from '../../src/executor/executor-host';
import { resolveExecutorOptions } from '../../src/executor/executor-options';
import type { GrantRecord } from '../../src/store/grant-store';
import { systemClock } from '../../src/util/clock';
import { silentLogger } from '../../src/util/logger';
import type { Vault } from '../../src/vault/vault';
import type { VaultEventMap, VaultEventName } from '../../src/vault/vault-events';
import { type ExecutorWorld, rejection, startWorld } from '../helpers/executor-fixtures';

/**
 * An ExecutorHost over a real vault's public methods, plus its own synchronous `freshRecord` (the vault
 * offers one from its cache; this one is the test's, so hits can be counted): it serves what
 * `usableRecord` last returned while valid.
 */
function hostWithFreshRecord(vault: Vault) {
  const remembered = new Map<string, GrantRecord>();
  const calls = { freshHits: 0, usableRecord: 0, grantClient: 0 };
  const events: Array<{ name: VaultEventName; payload: unknown }> = [];
  const host: ExecutorHost = {
    options: () => resolveExecutorOptions({}),
    clock: () => systemClock,
    fetch: () => fetch,
    logger: () => silentLogger,
    emit: <K extends VaultEventName>(name: K, payload: VaultEventMap[K]) => void events.push({ name, payload }),
    listens: () => true,
    grantClient: async (grantId) => {
      calls.grantClient++;
      return vault.client((await vault.inspect(grantId))!.client);
    },
    usableRecord: async (grantId, options) => {
      calls.usableRecord++;
      const record = await vault.usableRecord(grantId, options);
      remembered.set(grantId, record);
      return record;
    },
    rejectAccessToken: (grantId, token, signal) => vault.rejectAccessToken(grantId, token, signal),
    freshRecord: (grantId) => {
      const record = remembered.get(grantId);
      if (record === undefined || (record.accessTokenExpiresAt !== null && record.accessTokenExpiresAt - 60_000 <= Date.now())) return undefined;
      calls.freshHits++;
      return { record, client: vault.client(record.client) };
    },
  };
  return { host, calls, events };
}

describe('executor with a host that offers freshRecord (the synchronous hot path)', () => {
  let world: ExecutorWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.close());

  it('uses the fresh record without asking for a client or a token, once one is remembered', async () => {
    const { host, calls } = hostWithFreshRecord(world.vault());
    const { grantId } = await world.grant();
    expect((await executeFetch(host, grantId, 'people/@me/@self')).status).toBe(200);
    expect(calls).toEqual({ freshHits: 0, usableRecord: 1, grantClient: 1 });
    expect((await executeFetch(host, grantId, 'people/@me/@self')).status).toBe(200);
    expect((await executeFetch(host, grantId, 'people/@me/@self')).status).toBe(200);
    expect(calls).toEqual({ freshHits: 2, usableRecord: 1, grantClient: 1 });
  });

  it('an expired answer to the fresh record still refreshes once and retries with the new token', async () => {
    const { host, calls, events } = hostWithFreshRecord(world.vault());
    const { grantId, minted } = await world.grant();
    expect((await executeFetch(host, grantId, 'people/@me/@self')).status).toBe(200);
    world.emulator.expireAccessToken(minted.grantId);
    expect((await executeFetch(host, grantId, 'people/@me/@self')).status).toBe(200);
    expect(calls.freshHits).toBe(1);
    expect(calls.usableRecord).toBe(2); // the second one with the stale token
    expect(world.emulator.counters.refreshesOf(minted.grantId)).toBe(1);
    expect(events.filter((e) => e.name === 'retry').map((e) => (e.payload as { reason: string }).reason)).toEqual(['token_expired']);
  });

  it('a revoked token behind the fresh record still ends in ReauthRequiredError', async () => {
    const vault = world.vault();
    const { host } = hostWithFreshRecord(vault);
    const { grantId, minted } = await world.grant();
    expect((await executeFetch(host, grantId, 'people/@me/@self')).status).toBe(200);
    world.emulator.revokeGrant(minted.grantId);
    expect(await rejection(executeFetch(host, grantId, 'people/@me/@self'))).toBeInstanceOf(ReauthRequiredError);
    expect((await vault.inspect(grantId))?.state).toBe('reauthRequired');
  });
});
