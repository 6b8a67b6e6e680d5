import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyNotReplayableError } from '../../src/errors/errors';
import { type ExecutorWorld, type SeededGrant, payloads, recordEvents, recordingFetch, rejection, startWorld } from '../helpers/executor-fixtures';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

describe('vault.fetch: request bodies and replay', () => {
  let world: ExecutorWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.close());

  const timeline = async (grantId: string) =>
    ((await (await world.vault().fetch(grantId, 'voice/statuses/@me/user_timeline')).json()) as Array<{ text: string }>).map((s) => s.text);
  const postsSeen = () => world.emulator.counters.snapshot().apiCalls.total;
  const expired = async (): Promise<SeededGrant> => {
    const grant = await world.grant();
    world.emulator.expireAccessToken(grant.minted.grantId);
    return grant;
  };

  it('a POST with URLSearchParams on an expired token: refreshed and sent again with the same bytes, acted on once', async () => {
    const { fetch, sent } = recordingFetch();
    const vault = world.vault({ fetch });
    const { grantId, minted } = await expired();
    const res = await vault.fetch(grantId, 'voice/statuses', { method: 'POST', body: new URLSearchParams({ status: 'hello mixi' }) });
    expect(res.status).toBe(200);
    const posts = sent.filter((s) => s.method === 'POST' && s.url.endsWith('/voice/statuses'));
    expect(posts).toHaveLength(2);
    expect(posts[0]!.body).toBe('status=hello+mixi');
    expect(posts[1]!.body).toBe(posts[0]!.body);
    expect(posts[1]!.headers.get('content-type')).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    expect(world.emulator.counters.refreshesOf(minted.grantId)).toBe(1);
    expect(await timeline(grantId)).toEqual(['hello mixi']);
  });

  it('bytes are captured when vault.fetch is called: changing the buffer afterwards changes nothing, on either attempt', async () => {
    const { fetch, sent } = recordingFetch();
    const vault = world.vault({ fetch });
    const { grantId } = await expired();
    const buffer = new TextEncoder().encode('status=original');
    const pending = vault.fetch(grantId, 'voice/statuses', { method: 'POST', headers: FORM, body: buffer });
    buffer.set(new TextEncoder().encode('status=CHANGED!'));
    expect((await pending).status).toBe(200);
    expect(sent.filter((s) => s.url.endsWith('/voice/statuses')).map((s) => s.body)).toEqual(['status=original', 'status=original']);
    expect(await timeline(grantId)).toEqual(['original']);
  });

  it('a stream body on an expired token: BodyNotReplayableError, sent once, and the grant refreshed for the next call', async () => {
    const vault = world.vault();
    const events = recordEvents(vault, ['request', 'response', 'retry']);
    const { grantId, minted } = await expired();
    const before = postsSeen();
    const error = await rejection(
      vault.fetch(grantId, 'voice/statuses', { method: 'POST', headers: FORM, body: streamOf('status=streamed'), duplex: 'half' } as RequestInit),
    );
    expect(error).toBeInstanceOf(BodyNotReplayableError);
    expect((error as Error).message).toBe('the access token expired (401) and the request body is a one-shot stream, so it was not sent again');
    expect(postsSeen() - before).toBe(1);
    expect(payloads(events, 'request')).toHaveLength(1);
    expect(payloads(events, 'retry')).toHaveLength(0);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ error: 'body_not_replayable', attempts: 1 })]);
    expect(world.emulator.counters.refreshesOf(minted.grantId)).toBe(1);
    expect(await timeline(grantId)).toEqual([]);
    // The caller can send a new stream at once: the token is fresh now.
    const again = await vault.fetch(grantId, 'voice/statuses', { method: 'POST', headers: FORM, body: streamOf('status=streamed') });
    expect(again.status).toBe(200);
    expect(await timeline(grantId)).toEqual(['streamed']);
  });

  it('a stream body on a fresh token is simply sent (with duplex set for Node\'s fetch)', async () => {
    const vault = world.vault();
    const { grantId } = await world.grant();
    const res = await vault.fetch(grantId, 'voice/statuses', { method: 'POST', headers: FORM, body: streamOf('status=flowing') });
    expect(res.status).toBe(200);
    expect(await timeline(grantId)).toEqual(['flowing']);
  });

  it('a PUT-like retriable call with a stream body is not resent after a dropped connection, and the error says so', async () => {
    const vault = world.vault();
    const { grantId } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 1, drop: true });
    const error = await rejection(
      vault.fetch(grantId, 'voice/statuses', {
        method: 'POST',
        headers: FORM,
        body: streamOf('status=x'),
        tokenvault: { retryNonIdempotent: true },
      }),
    );
    expect(error).toBeInstanceOf(BodyNotReplayableError);
    expect((error as Error).message).toContain('network_error');
    expect((error as Error).message).toContain('one-shot stream, so it was not sent again');
  });

  it('a Request with a body counts as a stream; the same body given in init is replayable', async () => {
    const vault = world.vault();
    const { grantId } = await expired();
    const url = `${world.server.url}/2/voice/statuses`;
    const error = await rejection(vault.fetch(grantId, new Request(url, { method: 'POST', headers: FORM, body: 'status=via-request' })));
    expect(error).toBeInstanceOf(BodyNotReplayableError);

    const other = await expired();
    const res = await vault.fetch(other.grantId, new Request(url, { method: 'POST', headers: FORM }), { body: 'status=via-init' });
    expect(res.status).toBe(200);
    expect(await timeline(other.grantId)).toEqual(['via-init']);
  });

  it('a body over maxReplayBodyBytes is sent once and not kept: on an expired token the error names the limit', async () => {
    const vault = world.vault();
    const { grantId } = await expired();
    const error = await rejection(
      vault.fetch(grantId, 'voice/statuses', { method: 'POST', headers: FORM, body: 'status=a-long-status', tokenvault: { maxReplayBodyBytes: 8 } }),
    );
    expect(error).toBeInstanceOf(BodyNotReplayableError);
    expect((error as Error).message).toContain('maxReplayBodyBytes');
    const ok = await vault.fetch(grantId, 'voice/statuses', { method: 'POST', headers: FORM, body: 'status=a-long-status', tokenvault: { maxReplayBodyBytes: 8 } });
    expect(ok.status).toBe(200);
  });
});
