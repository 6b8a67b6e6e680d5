import { EXPIRED_TOKEN_CHALLENGE } from '@tokenvault/mixi-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InsufficientScopeError, InvalidRequestError, OAuthError, ProviderUnavailableError, ReauthRequiredError } from '../../src/errors/errors';
import { type ExecutorWorld, payloads, recordEvents, recordingFetch, rejection, startWorld } from '../helpers/executor-fixtures';

describe('vault.fetch: the API\'s WWW-Authenticate answers', () => {
  let world: ExecutorWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.close());

  const refreshesOf = (minted: { grantId: string }) => world.emulator.counters.refreshesOf(minted.grantId);

  it('expired ("The access token expired"): refreshes once and retries with the new token', async () => {
    const { fetch, sent } = recordingFetch();
    const vault = world.vault({ fetch });
    const events = recordEvents(vault, ['request', 'retry', 'response', 'refreshed']);
    const { grantId, minted } = await world.grant();
    world.emulator.expireAccessToken(minted.grantId);

    const res = await vault.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(200);
    expect(refreshesOf(minted)).toBe(1);
    const tokens = sent.filter((s) => s.url.includes('/people/')).map((s) => s.headers.get('authorization'));
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBe(`Bearer ${minted.accessToken}`);
    expect(tokens[1]).not.toBe(tokens[0]);
    expect(payloads(events, 'request').map((r) => r.status)).toEqual([401, 200]);
    expect(payloads(events, 'retry')).toEqual([expect.objectContaining({ attempt: 2, reason: 'token_expired', status: 401, retryAfterMs: null })]);
    expect(payloads(events, 'refreshed')).toHaveLength(1);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ status: 200, error: null, attempts: 2 })]);
    expect((await vault.inspect(grantId))?.state).toBe('authorized');
  });

  it('expired in the older spec\'s form (OAuth error=\'expired_token\'): the same', async () => {
    const vault = world.vault();
    const { grantId, minted } = await world.grant();
    world.emulator.faults.add({
      endpoint: 'api',
      times: 1,
      respond: { status: 401, headers: { 'WWW-Authenticate': "OAuth error='expired_token'" } },
    });
    const res = await vault.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(200);
    expect(refreshesOf(minted)).toBe(1);
  });

  it('expired, while the store already holds a newer token (another process refreshed): retries with it, no refresh', async () => {
    const worker = world.vault();
    const other = world.vault();
    const events = recordEvents(worker, ['retry', 'refreshed']);
    const { grantId, minted } = await world.grant();
    // The worker caches the first token; then it expires at the provider (the vaults' clocks do not
    // know), and the other vault refreshes.
    expect((await worker.fetch(grantId, 'people/@me/@self')).status).toBe(200);
    world.emulator.clock.advance(minted.expiresIn * 1000);
    await other.refresh(grantId, { force: true });
    expect(refreshesOf(minted)).toBe(1);

    const res = await worker.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(200);
    expect(refreshesOf(minted)).toBe(1); // the worker did not refresh
    expect(payloads(events, 'refreshed')).toHaveLength(0);
    expect(payloads(events, 'retry')).toEqual([expect.objectContaining({ reason: 'token_expired', status: 401 })]);
  });

  it('invalid_token (revoked): the grant goes to reauthRequired and the call throws ReauthRequiredError', async () => {
    const vault = world.vault();
    const events = recordEvents(vault, ['reauthRequired', 'response']);
    const { grantId, minted } = await world.grant();
    world.emulator.revokeGrant(minted.grantId);

    const error = await rejection(vault.fetch(grantId, 'people/@me/@self'));
    expect(error).toBeInstanceOf(ReauthRequiredError);
    expect((error as ReauthRequiredError).reason).toBe('token_revoked');
    expect((error as ReauthRequiredError).grantId).toBe(grantId);
    expect(refreshesOf(minted)).toBe(0);
    expect((await vault.inspect(grantId))?.state).toBe('reauthRequired');
    expect(payloads(events, 'reauthRequired')).toEqual([expect.objectContaining({ grantId, reason: 'token_revoked' })]);
    expect(payloads(events, 'response')).toEqual([expect.objectContaining({ status: null, error: 'reauth_required', attempts: 1 })]);
    // Later calls fail fast, without sending anything.
    const again = await rejection(vault.fetch(grantId, 'people/@me/@self'));
    expect(again).toBeInstanceOf(ReauthRequiredError);
  });

  it('insufficient_scope (403): throws with the scope the API asked for; the grant stays authorized', async () => {
    const vault = world.vault();
    const { grantId, minted } = await world.grant({ scope: 'r_profile' });
    const error = await rejection(vault.fetch(grantId, 'voice/statuses/@me/user_timeline'));
    expect(error).toBeInstanceOf(InsufficientScopeError);
    expect((error as InsufficientScopeError).requiredScope).toEqual(['r_voice']);
    expect((error as InsufficientScopeError).code).toBe('insufficient_scope');
    expect((await vault.inspect(grantId))?.state).toBe('authorized');
    expect(refreshesOf(minted)).toBe(0);
    expect((await vault.fetch(grantId, 'people/@me/@self')).status).toBe(200);
  });

  it('invalid_request (400): throws InvalidRequestError at once, no refresh, no retry', async () => {
    const vault = world.vault();
    const events = recordEvents(vault, ['request']);
    const { grantId, minted } = await world.grant();
    const error = await rejection(vault.fetch(grantId, 'people/@me/@friends?count=abc'));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).status).toBe(400);
    expect((error as InvalidRequestError).description).toContain('count');
    expect(payloads(events, 'request')).toHaveLength(1);
    expect(refreshesOf(minted)).toBe(0);
  });

  it('expired again right after the refresh: throws OAuthError (invalid_token); the new token stays stored', async () => {
    const vault = world.vault();
    const { grantId, minted } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 2, respond: { status: 401, headers: { 'WWW-Authenticate': EXPIRED_TOKEN_CHALLENGE } } });
    const error = await rejection(vault.fetch(grantId, 'people/@me/@self'));
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).error).toBe('invalid_token');
    expect((error as OAuthError).status).toBe(401);
    expect(refreshesOf(minted)).toBe(1);
    const info = await vault.inspect(grantId);
    expect(info?.state).toBe('authorized');
    expect((await vault.fetch(grantId, 'people/@me/@self')).status).toBe(200);
    expect(refreshesOf(minted)).toBe(1);
  });

  it('expired while the token endpoint is down: ProviderUnavailableError, the same token is not sent again', async () => {
    const { fetch, sent } = recordingFetch();
    const vault = world.vault({ fetch, retry: { retries: 0 } });
    const { grantId, minted } = await world.grant();
    world.emulator.expireAccessToken(minted.grantId);
    world.emulator.faults.add({ endpoint: 'token', grantType: 'refresh_token', times: 1, respond: { status: 503 } });
    const error = await rejection(vault.fetch(grantId, 'people/@me/@self'));
    // The refresh's own failure (the token endpoint's 503) is the answer: the refused token is not reused.
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as ProviderUnavailableError).status).toBe(503);
    expect(sent.filter((s) => s.url.includes('/people/'))).toHaveLength(1);
    expect((await vault.inspect(grantId))?.state).toBe('authorized');
    // Once the token endpoint is back, the next call refreshes and succeeds.
    expect((await vault.fetch(grantId, 'people/@me/@self')).status).toBe(200);
    expect(refreshesOf(minted)).toBe(1);
  });

  it('a 401 without a bearer error is returned as it is: no refresh, no re-authorization', async () => {
    const vault = world.vault();
    const { grantId, minted } = await world.grant();
    world.emulator.faults.add({ endpoint: 'api', times: 1, respond: { status: 401, body: { error: 'something_else' } } });
    const res = await vault.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'something_else' });
    expect(refreshesOf(minted)).toBe(0);
    expect((await vault.inspect(grantId))?.state).toBe('authorized');
  });
});

describe('vault.fetch: invalid_token when the provider revokes old tokens on refresh', () => {
  let world: ExecutorWorld;
  beforeAll(async () => {
    world = await startWorld({ revokeAccessTokenOnRefresh: true });
  });
  afterAll(() => world.close());

  it('retries with the token another process stored instead of signing the user out', async () => {
    const worker = world.vault();
    const other = world.vault();
    const events = recordEvents(worker, ['retry', 'reauthRequired']);
    const { grantId, minted } = await world.grant();
    expect((await worker.fetch(grantId, 'people/@me/@self')).status).toBe(200); // caches the first token
    await other.refresh(grantId, { force: true }); // the first token is now revoked at the provider

    const res = await worker.fetch(grantId, 'people/@me/@self');
    expect(res.status).toBe(200);
    expect(payloads(events, 'retry')).toEqual([expect.objectContaining({ reason: 'token_rejected', status: 401 })]);
    expect(payloads(events, 'reauthRequired')).toHaveLength(0);
    expect((await worker.inspect(grantId))?.state).toBe('authorized');
    expect(world.emulator.counters.refreshesOf(minted.grantId)).toBe(1);
  });
});
