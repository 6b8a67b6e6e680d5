import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultRetryPolicy } from '../../src/util/retry';
import type { Vault } from '../../src/vault/vault';
import { type ExecutorWorld, payloads, recordEvents, recordingFetch, rejection, startWorld, until } from '../helpers/executor-fixtures';

/** Starts a refresh in `holder` that holds the lease until the token endpoint answers (held back by `delayMs`). */
async function holdRefreshLease(world: ExecutorWorld, holder: Vault, grantId: string, delayMs: number) {
  world.emulator.faults.add({ endpoint: 'token', grantType: 'refresh_token', times: 1, delayMs });
  let settled = false;
  const leased = new Promise<void>((resolve) => {
    const off = holder.on('transition', (t) => {
      if (t.grantId === grantId && t.to === 'refreshing') {
        off();
        resolve();
      }
    });
  });
  const refresh = holder.refresh(grantId, { force: true }).finally(() => {
    settled = true;
  });
  await leased;
  return { refresh, settled: () => settled };
}

describe('vault.fetch: cancellation and timeouts', () => {
  let world: ExecutorWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.close());
  beforeEach(() => world.emulator.faults.clear());

  it('an abort while another vault holds the refresh lease rejects at once with AbortError; the grant stays consistent', async () => {
    const holder = world.vault();
    const waiter = world.vault();
    const { grantId, minted } = await world.grant();
    const lease = await holdRefreshLease(world, holder, grantId, 1_500);
    expect((await world.store.get(grantId))?.state).toBe('refreshing');

    const controller = new AbortController();
    const call = waiter.fetch(grantId, 'people/@me/@self', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const error = await rejection(call);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    // "At once": rejected while the lease holder was still waiting for the token endpoint.
    expect(lease.settled()).toBe(false);

    await lease.refresh;
    const record = await world.store.get(grantId);
    expect(record?.state).toBe('authorized');
    expect(record?.lease).toBeNull();
    expect(world.emulator.counters.refreshesOf(minted.grantId)).toBe(1);
    expect((await waiter.fetch(grantId, 'people/@me/@self')).status).toBe(200);
    expect(world.emulator.counters.refreshesOf(minted.grantId)).toBe(1);
  });

  it('the per-call timeout also covers waiting for another process\'s refresh: TimeoutError', async () => {
    const holder = world.vault();
    const waiter = world.vault();
    const events = recordEvents(waiter, ['response']);
    // The stored token has 10 s left: too little to hand out while another process refreshes, so the
    // waiter must wait for the new one.
    const { grantId } = await world.grant({ clock: { now: () => Date.now() - 890_000, sleep: async () => {} } });
    const lease = await holdRefreshLease(world, holder, grantId, 1_500);
    const error = await rejection(waiter.fetch(grantId, 'people/@me/@self', { tokenvault: { timeoutMs: 50 } }));
    expect((error as DOMException).name).toBe('TimeoutError');
    expect(lease.settled()).toBe(false);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ error: 'timeout', attempts: 0, status: null })]);
    await lease.refresh;
    expect((await world.store.get(grantId))?.state).toBe('authorized');
  });

  it('an abort while the request is in flight rejects with the signal\'s reason, untouched', async () => {
    const vault = world.vault();
    const events = recordEvents(vault, ['request', 'response']);
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 1, delayMs: 2_000 });
    const applied = world.emulator.counters.snapshot().faultsApplied;
    const controller = new AbortController();
    const reason = new Error('worker shutting down');
    const call = vault.fetch(grantId, 'people/@me/@self', { signal: controller.signal });
    await until(() => world.emulator.counters.snapshot().faultsApplied > applied, 'the emulator holds the request');
    controller.abort(reason);
    expect(await rejection(call)).toBe(reason);
    expect(payloads(events, 'request')).toEqual([expect.objectContaining({ attempt: 1, status: null, error: 'aborted' })]);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ error: 'aborted' })]);
  });

  it('a per-call timeoutMs ends a slow call with TimeoutError, not a retry', async () => {
    const vault = world.vault();
    const events = recordEvents(vault, ['request']);
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 1, delayMs: 2_000 });
    const error = await rejection(vault.fetch(grantId, 'people/@me/@self', { tokenvault: { timeoutMs: 100 } }));
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
    expect(payloads(events, 'request')).toEqual([expect.objectContaining({ error: 'timeout' })]);
  });

  it('an already aborted signal rejects without sending anything', async () => {
    const { fetch, sent } = recordingFetch();
    const vault = world.vault({ fetch });
    const { grantId } = await world.grant();
    const error = await rejection(vault.fetch(grantId, 'people/@me/@self', { signal: AbortSignal.abort() }));
    expect((error as DOMException).name).toBe('AbortError');
    expect(sent).toHaveLength(0);
  });

  it('an abort during a Retry-After wait rejects at once, without another attempt', async () => {
    const vault = world.vault({ executor: { retry: { ...defaultRetryPolicy, maxRetryAfterMs: 60_000, maxRetryTimeMs: 60_000 } } });
    const events = recordEvents(vault, ['request']);
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 1, respond: { status: 503, headers: { 'Retry-After': '10' } } });
    const controller = new AbortController();
    vault.on('request', () => setTimeout(() => controller.abort(), 10));
    const error = await rejection(vault.fetch(grantId, 'people/@me/@self', { signal: controller.signal }));
    expect((error as DOMException).name).toBe('AbortError');
    expect(payloads(events, 'request')).toHaveLength(1);
  });

  it('the caller\'s signal still aborts reading the body after vault.fetch resolved, as with fetch', async () => {
    const vault = world.vault();
    const { grantId } = await world.grant();
    const controller = new AbortController();
    const res = await vault.fetch(grantId, 'people/@me/@self', { signal: controller.signal });
    expect(res.status).toBe(200);
    controller.abort();
    expect(((await rejection(res.text())) as DOMException).name).toBe('AbortError');
  });

  it('a signal on the Request is honoured like one in init', async () => {
    const vault = world.vault();
    const { grantId } = await world.grant();
    const request = new Request(`${world.server.url}/2/people/@me/@self`, { signal: AbortSignal.abort() });
    expect(((await rejection(vault.fetch(grantId, request))) as DOMException).name).toBe('AbortError');
  });
});
