import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderUnavailableError } from '../../src/errors/errors';
import { defaultRetryPolicy, type RetryPolicy } from '../../src/util/retry';
import { type ExecutorWorld, payloads, recordEvents, rejection, startWorld, type WorldVaultOptions } from '../helpers/executor-fixtures';

/** A retry policy with these changes (the vault's `executor` option takes a whole policy today). */
const policy = (changes: Partial<RetryPolicy>): RetryPolicy => ({ ...defaultRetryPolicy, ...changes });

/** Quick backoff, so the tests spend their time on HTTP, not sleeping. */
const FAST: WorldVaultOptions = { executor: { retry: policy({ retries: 3, minTimeoutMs: 5, maxTimeoutMs: 20 }) } };

describe('vault.fetch: transient failures', () => {
  let world: ExecutorWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.close());
  beforeEach(() => world.emulator.faults.clear());

  const timeline = async (vault: ReturnType<ExecutorWorld['vault']>, grantId: string) =>
    (await (await vault.fetch(grantId, 'voice/statuses/@me/user_timeline')).json()) as Array<{ text: string }>;

  it('absorbs a 503 burst (mixi\'s rate limit): retries with backoff until the API answers', async () => {
    const vault = world.vault(FAST);
    const events = recordEvents(vault, ['request', 'retry', 'response']);
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 2, respond: { status: 503, body: 'busy' } });
    const res = await vault.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(200);
    expect(payloads(events, 'request').map((r) => r.status)).toEqual([503, 503, 200]);
    expect(payloads(events, 'retry').map((r) => [r.attempt, r.reason, r.status])).toEqual([
      [2, 'transient', 503],
      [3, 'transient', 503],
    ]);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ status: 200, attempts: 3 })]);
  });

  it('absorbs a burst spread over 20 concurrent calls', async () => {
    // Backoff long enough that one call cannot eat the whole burst before the others arrive.
    const vault = world.vault({ executor: { retry: policy({ retries: 3, minTimeoutMs: 50, maxTimeoutMs: 200 }) } });
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 30, respond: { status: 503 } });
    const responses = await Promise.all(Array.from({ length: 20 }, () => vault.fetch(grantId, 'people/@me/@self')));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(world.emulator.faults.list()).toHaveLength(0); // all 30 were served
  });

  it('honours Retry-After: the retry leaves no earlier than the API asked', async () => {
    const vault = world.vault(FAST);
    const events = recordEvents(vault, ['request', 'retry']);
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 1, respond: { status: 503, headers: { 'Retry-After': '1' } } });
    const res = await vault.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(200);
    const [first, second] = payloads(events, 'request');
    const [retry] = payloads(events, 'retry');
    expect(retry).toEqual(expect.objectContaining({ reason: 'transient', status: 503, retryAfterMs: 1000 }));
    expect(retry!.delayMs).toBeGreaterThanOrEqual(1000);
    expect(second!.at - second!.durationMs - first!.at).toBeGreaterThanOrEqual(1000);
  });

  it('returns the 503 at once when Retry-After asks for longer than maxRetryAfterMs', async () => {
    const vault = world.vault(FAST);
    const events = recordEvents(vault, ['request', 'retry']);
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 1, respond: { status: 503, body: 'come back later', headers: { 'Retry-After': '120' } } });
    const res = await vault.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('120');
    expect(await res.text()).toBe('come back later');
    expect(payloads(events, 'request')).toHaveLength(1);
    expect(payloads(events, 'retry')).toHaveLength(0);
  });

  it('returns the last 5xx response, body intact, once the retries are spent', async () => {
    const vault = world.vault({ executor: { retry: policy({ retries: 2, minTimeoutMs: 5, maxTimeoutMs: 20 }) } });
    const events = recordEvents(vault, ['request', 'response']);
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 10, respond: { status: 502, body: { error: 'bad_gateway' } } });
    const res = await vault.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: 'bad_gateway' });
    expect(payloads(events, 'request')).toHaveLength(3);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ status: 502, error: null, attempts: 3 })]);
  });

  it('per call, retry: false sends once', async () => {
    const vault = world.vault(FAST);
    const events = recordEvents(vault, ['request']);
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 1, respond: { status: 503 } });
    const res = await vault.fetch(grantId, 'people/@me/@self', { tokenvault: { retry: false } });
    expect(res.status).toBe(503);
    expect(payloads(events, 'request')).toHaveLength(1);
  });

  it('does not retry a POST on 503 unless the caller opts in', async () => {
    const vault = world.vault(FAST);
    const { grantId } = await world.grant();
    const post = (text: string, optIn: boolean) =>
      vault.fetch(grantId, 'voice/statuses', {
        method: 'POST',
        body: new URLSearchParams({ status: text }),
        ...(optIn ? { tokenvault: { retryNonIdempotent: true } } : {}),
      });

    world.emulator.faults.add({ endpoint: 'api', method: 'POST', times: 1, respond: { status: 503 } });
    expect((await post('first', false)).status).toBe(503);
    expect(await timeline(vault, grantId)).toEqual([]);

    world.emulator.faults.add({ endpoint: 'api', method: 'POST', times: 1, respond: { status: 503 } });
    const res = await post('second', true);
    expect(res.status).toBe(200);
    expect((await timeline(vault, grantId)).map((s) => s.text)).toEqual(['second']);
  });

  it('retries a dropped connection, and throws ProviderUnavailableError when every attempt is dropped', async () => {
    const vault = world.vault({ executor: { retry: policy({ retries: 2, minTimeoutMs: 5, maxTimeoutMs: 20 }) } });
    const events = recordEvents(vault, ['request', 'response']);
    const { grantId } = await world.grant();

    world.emulator.faults.add({ endpoint: 'api', times: 1, drop: true });
    expect((await vault.fetch(grantId, 'people/@me/@self')).status).toBe(200);
    expect(payloads(events, 'request').map((r) => r.error)).toEqual(['network_error', null]);

    world.emulator.faults.add({ endpoint: 'api', times: 3, drop: true });
    const error = await rejection(vault.fetch(grantId, 'people/@me/@self'));
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as Error).message).toContain('/2/people/@me/@self');
    expect(payloads(events, 'response').at(-1)).toEqual(expect.objectContaining({ status: null, error: 'provider_unavailable', attempts: 3 }));
  });

  it('does not resend a POST whose connection dropped (it may have been processed)', async () => {
    const vault = world.vault(FAST);
    const events = recordEvents(vault, ['request']);
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', method: 'POST', times: 1, loseAnswer: true });
    const error = await rejection(
      vault.fetch(grantId, 'voice/statuses', { method: 'POST', body: new URLSearchParams({ status: 'once' }) }),
    );
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(payloads(events, 'request')).toHaveLength(1);
    expect((await timeline(vault, grantId)).map((s) => s.text)).toEqual(['once']);
  });

  it('retries an attempt that gets no headers within attemptTimeoutMs', async () => {
    const vault = world.vault({ executor: { attemptTimeoutMs: 100, retry: policy({ retries: 2, minTimeoutMs: 5, maxTimeoutMs: 20 }) } });
    const events = recordEvents(vault, ['request']);
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 1, delayMs: 1_000 });
    const res = await vault.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(200);
    expect(payloads(events, 'request').map((r) => r.error)).toEqual(['attempt_timeout', null]);
  });
});
