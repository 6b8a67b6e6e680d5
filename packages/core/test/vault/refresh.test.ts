import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientRejectedError,
  NotAuthorizedError,
  ProviderUnavailableError,
  ReauthRequiredError,
  UnknownGrantError,
  CorruptRecordError,
  memoryStore,
  StoreError,
  type GrantRecord,
  type GrantStore,
  type PageRequest,
  type VaultEventMap,
} from '../../src/index';
import { startVaultWorld, type VaultWorld } from '../helpers/vault-world';

const FIFTEEN_MINUTES = 15 * 60_000;
let w: VaultWorld;
afterEach(() => w?.close());

const refreshesOf = (emulatorGrantId: string) => w.emulator.counters.refreshesOf(emulatorGrantId);

describe('refresh', () => {
  it('hands out the stored token while it is fresh, without a request', async () => {
    w = await startVaultWorld();
    const seeded = await w.seedGrant('alice');
    expect(await w.vault.getAccessToken('alice')).toBe(seeded.accessToken);
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(0);
  });

  it('refreshes refreshSkewMs before expiry, never on a hard-coded lifetime', async () => {
    w = await startVaultWorld({ emulator: { accessTokenLifetimeSec: 120 }, vault: { refreshSkewMs: 30_000 } });
    const seeded = await w.seedGrant('alice');
    w.emulator.clock.advance(120_000 - 31_000);
    expect(await w.vault.getAccessToken('alice')).toBe(seeded.accessToken);
    w.emulator.clock.advance(2_000); // now inside the skew window
    const fresh = await w.vault.getAccessToken('alice');
    expect(fresh).not.toBe(seeded.accessToken);
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(1);
    const info = await w.vault.inspect('alice');
    // The lifetime is the answer's expires_in (120 s here), counted from when the answer arrived.
    const lifetime = info!.accessTokenExpiresAt! - info!.tokensIssuedAt!;
    expect(lifetime).toBeGreaterThan(119_000);
    expect(lifetime).toBeLessThanOrEqual(120_000);
  });

  it('makes exactly one refresh request for 200 concurrent callers', async () => {
    w = await startVaultWorld();
    const seeded = await w.seedGrant('alice');
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    const tokens = await Promise.all(Array.from({ length: 200 }, () => w.vault.getAccessToken('alice')));
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(seeded.accessToken);
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(1);
    const api = await fetch(`${w.url}/2/people/@me/@self`, { headers: { authorization: `Bearer ${tokens[0]}` } });
    expect(api.status).toBe(200);
  });

  it('reads the store once for a storm of callers on one grant (cache on); with the cache off every call reads it', async () => {
    const store = memoryStore();
    let reads = 0;
    const counted = new Proxy(store, {
      get: (target, key) => {
        if (key === 'get') {
          return (grantId: string) => {
            reads++;
            return target.get(grantId);
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as GrantStore;
    w = await startVaultWorld({ store: counted });
    const seeded = await w.seedGrant('alice');
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    reads = 0;
    const tokens = await Promise.all(Array.from({ length: 500 }, () => w.vault.getAccessToken('alice')));
    expect(new Set(tokens).size).toBe(1);
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(1);
    // One read shared by the 500 callers, then the refresh flight's own read.
    expect(reads).toBe(2);

    // Without the cache, a caller reads what is stored when it asks: no sharing.
    const uncached = w.newVault({ cache: false });
    reads = 0;
    const again = await Promise.all(Array.from({ length: 50 }, () => uncached.getAccessToken('alice')));
    expect(new Set(again)).toEqual(new Set(tokens));
    expect(reads).toBe(50);
  });

  it('makes exactly one refresh request across several vaults sharing one store', async () => {
    w = await startVaultWorld();
    const others = [w.newVault(), w.newVault(), w.newVault()];
    const seeded = await w.seedGrant('alice');
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    const all = [w.vault, ...others];
    const tokens = await Promise.all(Array.from({ length: 120 }, (_, i) => all[i % all.length]!.getAccessToken('alice')));
    expect(new Set(tokens).size).toBe(1);
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(1);
    expect(w.emulator.counters.snapshot().reuseDetections).toBe(0);
    expect(w.emulator.counters.snapshot().invalidGrant).toBe(0);
  });

  it('persists the rotated refresh token and keeps the old one when an answer has none', async () => {
    w = await startVaultWorld({ emulator: { omitRefreshTokenOnRefresh: true } });
    const seeded = await w.seedGrant('alice');
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    await w.vault.getAccessToken('alice');
    expect((await w.store.get('alice'))?.refreshToken?.reveal()).toBe(seeded.refreshToken);
    // And it still works for the next refresh.
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    await w.vault.getAccessToken('alice');
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(2);
  });

  it('stores each rotated refresh token (the next refresh uses the newest)', async () => {
    w = await startVaultWorld();
    const seeded = await w.seedGrant('alice');
    for (let i = 0; i < 3; i++) {
      w.emulator.clock.advance(FIFTEEN_MINUTES);
      await w.vault.getAccessToken('alice');
    }
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(3);
    expect(w.emulator.counters.snapshot().reuseDetections).toBe(0);
    expect((await w.store.get('alice'))?.refreshToken?.reveal()).not.toBe(seeded.refreshToken);
  });

  it('goes to reauthRequired when the provider refuses the refresh token, and says so once', async () => {
    w = await startVaultWorld();
    const seeded = await w.seedGrant('alice');
    const events: VaultEventMap['reauthRequired'][] = [];
    w.vault.on('reauthRequired', (e) => events.push(e));
    w.emulator.expireRefreshToken(seeded.emulatorGrantId);
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => w.vault.getAccessToken('alice')));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ReauthRequiredError);
      expect((r as PromiseRejectedResult).reason.reason).toBe('refresh_token_rejected');
    }
    const info = await w.vault.inspect('alice');
    expect(info).toMatchObject({ state: 'reauthRequired', reauthReason: 'refresh_token_rejected', hasAccessToken: false, hasRefreshToken: false });
    expect(events).toEqual([expect.objectContaining({ grantId: 'alice', reason: 'refresh_token_rejected' })]);
    expect(w.emulator.counters.snapshot().tokenRequests.refresh_token).toBe(1);
  });

  it('never signs the user out on transient failures: 503s are retried, then the error is recorded', async () => {
    w = await startVaultWorld();
    const seeded = await w.seedGrant('alice');
    w.emulator.faults.add({ endpoint: 'token', respond: { status: 503 }, times: 2 });
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    const token = await w.vault.getAccessToken('alice');
    expect(token).not.toBe(seeded.accessToken);
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(1);

    w.emulator.faults.add({ endpoint: 'token', respond: { status: 503 }, times: 100 });
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    await expect(w.vault.getAccessToken('alice')).rejects.toBeInstanceOf(ProviderUnavailableError);
    const info = await w.vault.inspect('alice');
    expect(info).toMatchObject({ state: 'authorized', hasRefreshToken: true });
    expect(info?.lastError?.code).toBe('provider_unavailable');
    w.emulator.faults.clear();
    expect(await w.vault.getAccessToken('alice')).not.toBe(token);
  });

  it('keeps serving a still-valid token when an early refresh fails', async () => {
    w = await startVaultWorld({ vault: { refreshSkewMs: 120_000 } });
    const seeded = await w.seedGrant('alice');
    w.emulator.clock.advance(FIFTEEN_MINUTES - 60_000); // inside the skew, still valid for a minute
    w.emulator.faults.add({ endpoint: 'token', respond: { status: 500 }, times: 100 });
    expect(await w.vault.getAccessToken('alice')).toBe(seeded.accessToken);
    expect((await w.vault.inspect('alice'))?.lastError?.code).toBe('provider_unavailable');
  });

  it('a sweep counts a transient failure as failed even though the old token still works', async () => {
    w = await startVaultWorld();
    await w.seedGrant('alice');
    w.emulator.clock.advance(FIFTEEN_MINUTES - 60_000);
    w.emulator.faults.add({ endpoint: 'token', respond: { status: 503 }, times: 100 });
    const summary = await w.vault.refreshDue({ withinMs: 120_000 });
    expect(summary).toMatchObject({ seen: 1, refreshed: 0, alreadyFresh: 0, failed: 1 });
    expect((await w.vault.inspect('alice'))?.state).toBe('authorized');
  });

  it('a malformed token answer leaves the stored tokens unchanged', async () => {
    w = await startVaultWorld();
    await w.seedGrant('alice');
    const before = await w.store.get('alice');
    w.emulator.faults.add({ endpoint: 'token', respond: { status: 200, body: { token_type: 'Bearer', expires_in: 900 } }, times: 1 });
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    await expect(w.vault.getAccessToken('alice')).rejects.toMatchObject({ code: 'invalid_response' });
    const after = await w.store.get('alice');
    expect(after?.state).toBe('authorized');
    expect(after?.accessToken?.reveal()).toBe(before?.accessToken?.reveal());
    expect(after?.refreshToken?.reveal()).toBe(before?.refreshToken?.reveal());
    expect(after?.lastError?.code).toBe('invalid_response');
  });

  it('on invalid_client keeps the tokens, fails fast, and recovers after updateClientSecret', async () => {
    w = await startVaultWorld();
    const seeded = await w.seedGrant('alice');
    const rejected: VaultEventMap['clientRejected'][] = [];
    w.vault.on('clientRejected', (e) => rejected.push(e));
    const reissued = w.emulator.reissueSecret(w.emulator.getService(w.clientId).serviceId);
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    await expect(w.vault.getAccessToken('alice')).rejects.toBeInstanceOf(ClientRejectedError);
    expect(w.vault.isClientRejected('mixi')).toBe(true);
    expect(rejected).toHaveLength(1);
    const requests = w.emulator.counters.snapshot().tokenRequests.refresh_token;
    await expect(w.vault.getAccessToken('alice')).rejects.toBeInstanceOf(ClientRejectedError);
    expect(w.emulator.counters.snapshot().tokenRequests.refresh_token).toBe(requests); // failed fast
    expect((await w.vault.inspect('alice'))).toMatchObject({ state: 'authorized', hasRefreshToken: true });

    w.vault.updateClientSecret('mixi', reissued.clientSecret);
    expect(w.vault.isClientRejected('mixi')).toBe(false);
    expect(await w.vault.getAccessToken('alice')).not.toBe(seeded.accessToken);
  });

  it('takes over the lease of a crashed process after its deadline', async () => {
    w = await startVaultWorld();
    const seeded = await w.seedGrant('alice');
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    // A process took the lease and died before asking the provider.
    const record = (await w.store.get('alice'))!;
    const { applyGrantEvent } = await import('../../src/index');
    const leased = applyGrantEvent(record, { type: 'refresh.start', now: w.clock.now(), owner: 'crashed', leaseUntil: w.clock.now() + 5_000 })!;
    expect(await w.store.compareAndSet(leased, record.version)).toBe(true);

    const pending = w.vault.getAccessToken('alice');
    await new Promise((r) => setTimeout(r, 30));
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(0); // waits while the lease is live
    w.emulator.clock.advance(5_000);
    const token = await pending;
    expect(token).not.toBe(seeded.accessToken);
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(1);
    expect((await w.vault.inspect('alice'))?.state).toBe('authorized');
  });

  it('a crashed process that rotated before dying leaves reauthRequired, never a grant stuck in refreshing', async () => {
    w = await startVaultWorld();
    const seeded = await w.seedGrant('alice');
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    const record = (await w.store.get('alice'))!;
    const { applyGrantEvent } = await import('../../src/index');
    const leased = applyGrantEvent(record, { type: 'refresh.start', now: w.clock.now(), owner: 'crashed', leaseUntil: w.clock.now() + 5_000 })!;
    await w.store.compareAndSet(leased, record.version);
    // The crashed process did reach the provider: the refresh token rotated, the answer died with it.
    const rotated = await fetch(`${w.url}/2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: w.clientId, client_secret: w.clientSecret, refresh_token: seeded.refreshToken }),
    });
    expect(rotated.status).toBe(200);
    w.emulator.clock.advance(5_000);
    await expect(w.vault.getAccessToken('alice')).rejects.toBeInstanceOf(ReauthRequiredError);
    expect((await w.vault.inspect('alice'))).toMatchObject({ state: 'reauthRequired', reauthReason: 'refresh_token_rejected' });
  });

  it('refresh({ force }) refreshes a fresh token; errors for unknown and unauthorized grants', async () => {
    w = await startVaultWorld();
    const seeded = await w.seedGrant('alice');
    const info = await w.vault.refresh('alice', { force: true });
    expect(info.state).toBe('authorized');
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(1);
    await expect(w.vault.getAccessToken('nobody')).rejects.toBeInstanceOf(UnknownGrantError);
    await w.vault.beginAuthorization({ grantId: 'pending', client: 'mixi', scope: ['r_profile'] });
    await expect(w.vault.getAccessToken('pending')).rejects.toBeInstanceOf(NotAuthorizedError);
  });

  it('an abort while waiting for another process rejects promptly and leaves the grant alone', async () => {
    w = await startVaultWorld();
    await w.seedGrant('alice');
    w.emulator.clock.advance(FIFTEEN_MINUTES);
    const record = (await w.store.get('alice'))!;
    const { applyGrantEvent } = await import('../../src/index');
    const leased = applyGrantEvent(record, { type: 'refresh.start', now: w.clock.now(), owner: 'other', leaseUntil: w.clock.now() + 5_000 })!;
    await w.store.compareAndSet(leased, record.version);
    const controller = new AbortController();
    const pending = w.vault.getAccessToken('alice', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(await w.store.get('alice')).toMatchObject({ state: 'refreshing', version: leased.version, lease: leased.lease });
  });

  it('while another process holds the lease, a token that stays valid for a while is handed out without waiting', async () => {
    w = await startVaultWorld({ vault: { refreshSkewMs: 120_000 } });
    const seeded = await w.seedGrant('alice');
    w.emulator.clock.advance(FIFTEEN_MINUTES - 100_000); // inside the skew; valid for 100 s more
    const record = (await w.store.get('alice'))!;
    const { applyGrantEvent } = await import('../../src/index');
    const leased = applyGrantEvent(record, { type: 'refresh.start', now: w.clock.now(), owner: 'other', leaseUntil: w.clock.now() + 60_000 })!;
    await w.store.compareAndSet(leased, record.version);
    expect(await w.vault.getAccessToken('alice')).toBe(seeded.accessToken);
    expect(refreshesOf(seeded.emulatorGrantId)).toBe(0);
    // With less than half the skew left, the caller waits for the other process instead (here: its lease ends).
    w.emulator.clock.advance(50_000);
    const waiting = w.vault.getAccessToken('alice');
    const settled = await Promise.race([waiting.then(() => 'settled'), new Promise((r) => setTimeout(() => r('waiting'), 50))]);
    expect(settled).toBe('waiting');
    w.emulator.clock.advance(10_000);
    expect(await waiting).not.toBe(seeded.accessToken);
  });

  it('refreshDue reports a due grant that cannot be read as unreadable, logs it, and refreshes the rest', async () => {
    const store = memoryStore();
    const logged: { obj: unknown; msg: string }[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (obj: unknown, msg: string) => logged.push({ obj, msg }) };
    // What an adapter does with a row it cannot decode (a flipped ciphertext byte, say).
    let damage = false;
    const damaged = new Proxy(store, {
      get: (target, key) => {
        if (key === 'get') {
          return async (grantId: string) => {
            if (damage && grantId === 'b') throw new CorruptRecordError('b', 'column "access_token" could not be decoded');
            return target.get(grantId);
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as GrantStore;
    w = await startVaultWorld({ store: damaged, vault: { logger } });
    const seeded = await Promise.all(['a', 'b', 'c'].map((id) => w.seedGrant(id)));
    damage = true;
    w.emulator.clock.advance(FIFTEEN_MINUTES - 60_000);
    const summary = await w.vault.refreshDue({ withinMs: 120_000 });
    expect(summary).toMatchObject({ seen: 3, refreshed: 2, unreadable: 1, failed: 0 });
    expect(refreshesOf(seeded[1]!.emulatorGrantId)).toBe(0);
    expect(logged).toEqual([expect.objectContaining({ obj: expect.objectContaining({ grantId: 'b' }), msg: expect.stringContaining('could not be read') })]);
  });

  it('refreshDue reads the next page while the current one is still being refreshed, and misses none', async () => {
    const store = memoryStore();
    let leased = 0; // grants in 'refreshing' right now
    const busyAtPageReads: number[] = [];
    const watched = new Proxy(store, {
      get: (target, key) => {
        if (key === 'compareAndSet') {
          return async (next: GrantRecord, expected: number) => {
            const before = await target.get(next.grantId);
            const ok = await target.compareAndSet(next, expected);
            if (ok && next.state === 'refreshing' && before?.state !== 'refreshing') leased++;
            if (ok && next.state !== 'refreshing' && before?.state === 'refreshing') leased--;
            return ok;
          };
        }
        if (key === 'listDue') {
          return (before: number, page: PageRequest) => {
            busyAtPageReads.push(leased);
            return target.listDue(before, page);
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as GrantStore;
    w = await startVaultWorld({ store: watched });
    const ids = Array.from({ length: 9 }, (_, i) => `g${i}`);
    const seeded = await Promise.all(ids.map((id) => w.seedGrant(id)));
    w.emulator.clock.advance(FIFTEEN_MINUTES - 60_000);
    const summary = await w.vault.refreshDue({ withinMs: 120_000, concurrency: 3, pageSize: 3 });
    expect(summary).toMatchObject({ seen: 9, refreshed: 9, failed: 0 });
    for (const s of seeded) expect(refreshesOf(s.emulatorGrantId)).toBe(1);
    expect(busyAtPageReads[0]).toBe(0);
    // Later pages were asked for while refreshes of the page before were under way.
    expect(Math.max(...busyAtPageReads.slice(1))).toBeGreaterThan(0);
  });

  it('refreshDue fails with the store’s error when a page cannot be read, leaving nothing unhandled', async () => {
    const store = memoryStore();
    let reads = 0;
    const failing = new Proxy(store, {
      get: (target, key) => {
        if (key === 'listDue') {
          return (before: number, page: PageRequest) => {
            if (++reads === 2) return Promise.reject(new StoreError('the database went away'));
            return target.listDue(before, page);
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as GrantStore;
    w = await startVaultWorld({ store: failing });
    await Promise.all(['a', 'b', 'c', 'd'].map((id) => w.seedGrant(id)));
    w.emulator.clock.advance(FIFTEEN_MINUTES - 60_000);
    await expect(w.vault.refreshDue({ withinMs: 120_000, concurrency: 2, pageSize: 2 })).rejects.toThrow('the database went away');
  });

  it('refreshDue leaves a grant another process is refreshing to it, instead of waiting', async () => {
    const store = memoryStore();
    const { applyGrantEvent } = await import('../../src/index');
    // Right after the sweep reads its page, another process takes a refresh lease on 'b' for a minute.
    const racing = new Proxy(store, {
      get: (target, key) => {
        if (key === 'listDue') {
          return async (before: number, page: PageRequest) => {
            const listed = await target.listDue(before, page);
            const b = (await target.get('b'))!;
            if (b.state === 'authorized') {
              await target.compareAndSet(applyGrantEvent(b, { type: 'refresh.start', now: w.clock.now(), owner: 'elsewhere', leaseUntil: w.clock.now() + 60_000 })!, b.version);
            }
            return listed;
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as GrantStore;
    w = await startVaultWorld({ store: racing });
    const seeded = await Promise.all(['a', 'b', 'c'].map((id) => w.seedGrant(id)));
    w.emulator.clock.advance(FIFTEEN_MINUTES + 1_000); // expired: nothing to hand out meanwhile
    const summary = await w.vault.refreshDue({ withinMs: 120_000 });
    expect(summary).toMatchObject({ seen: 3, refreshed: 2, refreshingElsewhere: 1, alreadyFresh: 0, failed: 0 });
    expect(refreshesOf(seeded[1]!.emulatorGrantId)).toBe(0);
    expect((await store.get('b'))?.lease?.owner).toBe('elsewhere');
  });

  it('refreshDue does not leave a grant to an owner past its lease deadline: it waits out the clock tolerance and takes over', async () => {
    w = await startVaultWorld();
    const seeded = await Promise.all(['a', 'b'].map((id) => w.seedGrant(id)));
    w.emulator.clock.advance(FIFTEEN_MINUTES + 1_000);
    // 'b''s owner missed its deadline a second ago; the default 5 s clock tolerance has not run out yet.
    const b = (await w.store.get('b'))!;
    const { applyGrantEvent } = await import('../../src/index');
    await w.store.compareAndSet(applyGrantEvent(b, { type: 'refresh.start', now: w.clock.now() - 2_000, owner: 'late', leaseUntil: w.clock.now() - 1_000 })!, b.version);
    const sweeping = w.vault.refreshDue({ withinMs: 120_000 });
    setTimeout(() => w.emulator.clock.advance(10_000), 50); // time passes while the sweep waits
    const summary = await sweeping;
    expect(summary).toMatchObject({ seen: 2, refreshed: 2, refreshingElsewhere: 0, failed: 0 });
    for (const s of seeded) expect(refreshesOf(s.emulatorGrantId)).toBe(1);
  });

  it('refreshDue walks each page from a random place, round to where it began', async () => {
    const store = memoryStore();
    const leasedInOrder: string[] = [];
    const watched = new Proxy(store, {
      get: (target, key) => {
        if (key === 'compareAndSet') {
          return async (next: GrantRecord, expected: number) => {
            if (next.state === 'refreshing') leasedInOrder.push(next.grantId);
            return target.compareAndSet(next, expected);
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as GrantStore;
    // Every random draw is one half: a page of four starts at its third grant.
    const half = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i === 0 ? 0x80 : 0));
    w = await startVaultWorld({ store: watched, vault: { random: half } });
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => w.seedGrant(id)));
    w.emulator.clock.advance(FIFTEEN_MINUTES - 60_000);
    const summary = await w.vault.refreshDue({ withinMs: 120_000, concurrency: 1, pageSize: 4 });
    expect(summary).toMatchObject({ seen: 8, refreshed: 8 });
    expect(leasedInOrder).toEqual(['c', 'd', 'a', 'b', 'g', 'h', 'e', 'f']);
  });

  it('two processes sweeping the same grants at once refresh each exactly once between them', async () => {
    w = await startVaultWorld();
    const ids = Array.from({ length: 40 }, (_, i) => `g${i}`);
    const seeded = await Promise.all(ids.map((id) => w.seedGrant(id)));
    w.emulator.clock.advance(FIFTEEN_MINUTES - 60_000);
    const other = w.newVault();
    const [one, two] = await Promise.all([
      w.vault.refreshDue({ withinMs: 120_000, concurrency: 4, pageSize: 8 }),
      other.refreshDue({ withinMs: 120_000, concurrency: 4, pageSize: 8 }),
    ]);
    for (const s of seeded) expect(refreshesOf(s.emulatorGrantId)).toBe(1);
    expect(one.refreshed + two.refreshed).toBe(40);
    for (const summary of [one, two]) {
      expect(summary.failed + summary.reauthRequired + summary.unreadable).toBe(0);
      expect(summary.refreshed + summary.alreadyFresh + summary.refreshingElsewhere).toBe(summary.seen);
    }
    for (const id of ids) expect((await w.store.get(id))?.state).toBe('authorized');
  });

  it('refreshDue sweeps due grants and recovers abandoned leases', async () => {
    w = await startVaultWorld();
    const seeded = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => w.seedGrant(id)));
    // 'e' was being refreshed by a process that died: its lease is left behind.
    const e = (await w.store.get('e'))!;
    const { applyGrantEvent } = await import('../../src/index');
    await w.store.compareAndSet(applyGrantEvent(e, { type: 'refresh.start', now: w.clock.now(), owner: 'dead', leaseUntil: w.clock.now() + 1_000 })!, e.version);
    w.emulator.clock.advance(FIFTEEN_MINUTES - 60_000);
    const progress: number[] = [];
    const summary = await w.vault.refreshDue({ withinMs: 120_000, concurrency: 2, pageSize: 2, onProgress: (s) => progress.push(s.seen) });
    expect(summary).toMatchObject({ seen: 5, refreshed: 5, failed: 0, reauthRequired: 0 });
    expect(progress).toHaveLength(5);
    expect(Math.max(...progress)).toBe(5);
    for (const s of seeded) expect(refreshesOf(s.emulatorGrantId)).toBe(1);
    expect((await w.vault.inspect('e'))?.state).toBe('authorized');
    // Nothing is due any more.
    expect((await w.vault.refreshDue({ withinMs: 120_000 })).seen).toBe(0);
  });
});
