import { inspect } from 'node:util';
import { EXPIRED_TOKEN_CHALLENGE } from '@tokenvault/mixi-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProviderUnavailableError } from '../../src/errors/errors';
import { defaultRetryPolicy } from '../../src/util/retry';
import type { Vault } from '../../src/vault/vault';
import type { VaultEventName } from '../../src/vault/vault-events';
import { type ExecutorWorld, recordEvents, recordingLogger, rejection, startWorld, type WorldVaultOptions } from '../helpers/executor-fixtures';

const EVENTS: VaultEventName[] = ['request', 'retry', 'response', 'transition', 'refreshed', 'reauthRequired'];
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Every way an error or a response is commonly printed. */
function renderings(value: unknown): string[] {
  const out = [String(value), inspect(value, { depth: Infinity }), inspect(value, { depth: Infinity, showHidden: true })];
  if (value instanceof Error) out.push(value.message, String(value.stack), JSON.stringify(value));
  return out;
}

describe('vault.fetch never shows a token: events, log lines, errors, responses', () => {
  let world: ExecutorWorld;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.close());

  /** Runs `scenario` with a debug-level recording logger and every event recorded; returns everything printable. */
  async function observe(options: WorldVaultOptions, scenario: (vault: Vault, grantId: string) => Promise<unknown[]>) {
    const { logger, lines } = recordingLogger();
    const vault = world.vault({ logger, executor: { retry: { ...defaultRetryPolicy, minTimeoutMs: 1, maxTimeoutMs: 5 } }, ...options });
    const events = recordEvents(vault, EVENTS);
    const { grantId, minted } = await world.grant();
    const outcomes = await scenario(vault, grantId);
    const record = await world.store.get(grantId);
    const tokens = [minted.accessToken, minted.refreshToken, record?.accessToken?.reveal(), record?.refreshToken?.reveal()].filter(
      (t): t is string => typeof t === 'string',
    );
    const printed = [...lines, ...events.map((e) => JSON.stringify(e.payload)), ...events.map((e) => inspect(e.payload)), ...outcomes.flatMap(renderings)];
    return { tokens, printed, lines, events };
  }

  function expectClean({ tokens, printed }: { tokens: string[]; printed: string[] }) {
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    for (const text of printed) for (const token of tokens) expect(text).not.toContain(token);
  }

  it.each<[string, WorldVaultOptions, (vault: Vault, grantId: string) => Promise<unknown[]>]>([
    ['success, header', {}, async (v, g) => [await v.fetch(g, 'people/@me/@self')]],
    ['success, query', { tokenPlacement: 'query' }, async (v, g) => [await v.fetch(g, 'people/@me/@self?x=1')]],
    [
      'expired → refresh → retry, query',
      { tokenPlacement: 'query' },
      async (v, g) => {
        world.emulator.faults.add({ endpoint: 'api', times: 1, respond: { status: 401, headers: { 'WWW-Authenticate': EXPIRED_TOKEN_CHALLENGE } } });
        return [await v.fetch(g, 'people/@me/@self')];
      },
    ],
    [
      'expired twice → OAuthError',
      {},
      async (v, g) => {
        world.emulator.faults.add({ endpoint: 'api', times: 2, respond: { status: 401, headers: { 'WWW-Authenticate': EXPIRED_TOKEN_CHALLENGE } } });
        return [await rejection(v.fetch(g, 'people/@me/@self'))];
      },
    ],
    [
      'revoked → ReauthRequiredError, query',
      { tokenPlacement: 'query' },
      async (v, g) => {
        const minted = world.emulator.findGrant({ accessToken: (await world.store.get(g))!.accessToken!.reveal() })!;
        world.emulator.revokeGrant(minted.grantId);
        return [await rejection(v.fetch(g, 'people/@me/@self'))];
      },
    ],
    [
      'insufficient scope',
      {},
      async (v, g) => {
        world.emulator.faults.add({ endpoint: 'api', times: 1, respond: { status: 403, headers: { 'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="w_voice"' } } });
        return [await rejection(v.fetch(g, 'people/@me/@self'))];
      },
    ],
    ['invalid_request, query', { tokenPlacement: 'query' }, async (v, g) => [await rejection(v.fetch(g, 'people/@me/@friends?count=x'))]],
    [
      '503 exhausted, query',
      { tokenPlacement: 'query' },
      async (v, g) => {
        world.emulator.faults.add({ endpoint: 'api', times: 4, respond: { status: 503 } });
        return [await v.fetch(g, 'people/@me/@self')];
      },
    ],
    [
      'connections dropped, query',
      { tokenPlacement: 'query' },
      async (v, g) => {
        world.emulator.faults.add({ endpoint: 'api', times: 4, drop: true });
        return [await rejection(v.fetch(g, 'people/@me/@self'))];
      },
    ],
    [
      'stream body on an expired token',
      {},
      async (v, g) => {
        world.emulator.faults.add({ endpoint: 'api', times: 1, respond: { status: 401, headers: { 'WWW-Authenticate': EXPIRED_TOKEN_CHALLENGE } } });
        const body = new Response('status=x').body!;
        return [await rejection(v.fetch(g, 'voice/statuses', { method: 'POST', headers: FORM, body }))];
      },
    ],
    [
      'aborted mid-flight',
      {},
      async (v, g) => {
        world.emulator.faults.add({ endpoint: 'api', times: 1, delayMs: 500 });
        return [await rejection(v.fetch(g, 'people/@me/@self', { signal: AbortSignal.timeout(50) }))];
      },
    ],
  ])('%s', async (_, options, scenario) => {
    world.emulator.faults.clear();
    expectClean(await observe(options, scenario));
  });

  it('a fetch failure that quotes the URL (query placement) is redacted, and a cause that would show the token is dropped', async () => {
    const quoting: typeof fetch = async (input) => {
      const url = String(input);
      if (url.includes('people/@me/@self')) throw new TypeError(`Failed to parse URL from ${url}`);
      throw new TypeError('fetch failed', { cause: new Error(`connect ECONNRESET while calling ${url}`) });
    };
    const observed = await observe({ tokenPlacement: 'query', fetch: quoting }, async (v, g) => {
      const refused = await rejection(v.fetch(g, 'people/@me/@self'));
      expect(refused).toBeInstanceOf(InvalidArgumentError);
      expect((refused as Error).message).toContain('[redacted]');
      const failed = await rejection(v.fetch(g, 'people/@me/@friends'));
      expect(failed).toBeInstanceOf(ProviderUnavailableError);
      expect((failed as Error).cause).toBeUndefined();
      return [refused, failed];
    });
    expectClean(observed);
  });

  it('the logger gets lines for retries and revocations, and events carry the URL without the token', async () => {
    const observed = await observe({ tokenPlacement: 'query' }, async (v, g) => {
      world.emulator.faults.add({ endpoint: 'api', times: 1, respond: { status: 503 } });
      return [await v.fetch(g, 'people/@me/@self?count=1')];
    });
    expect(observed.lines.some((l) => l.includes('tokenvault: retrying an API call'))).toBe(true);
    const urls = observed.events.filter((e) => e.name === 'request').map((e) => (e.payload as { url: string }).url);
    expect(urls).toEqual([`${world.server.url}/2/people/@me/@self?count=1`, `${world.server.url}/2/people/@me/@self?count=1`]);
    expectClean(observed);
  });
});
