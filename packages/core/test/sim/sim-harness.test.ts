import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProviderModel } from './provider-model';
import { parseCommands } from './sim-commands';
import { SIM } from './sim-config';
import { simCaseArbitrary, simulate } from './simulate';
import { expiredGrant, world } from './scenarios';

/* The simulation itself: deterministic, and its provider model is the oracle it claims to be. */

describe('the simulated world', () => {
  it('is deterministic: the same seed gives the same run, trace for trace', async () => {
    const traces = async () => {
      const out: string[] = [];
      await fc.assert(
        fc.asyncProperty(simCaseArbitrary(), async ({ scheduler, spec, commands }) => {
          out.push((await simulate(scheduler, spec, commands)).trace.join('\n'));
        }),
        { numRuns: 40, seed: 99 },
      );
      return out;
    };
    const [a, b] = [await traces(), await traces()];
    expect(a.length).toBe(40);
    expect(b).toEqual(a);
  }, 60_000);

  it('turns a hung token request into a timeout that costs requestTimeoutMs of virtual time', async () => {
    const run = await simulate(fc.sample(fc.scheduler(), { numRuns: 1, seed: 1 })[0] as fc.Scheduler, world({ grants: [expiredGrant], tokenFaults: ['hang'] }), parseCommands('refresh(v0, g0)'));
    expect(run.trace.some((l) => l.includes('[hang]') || l.includes('timed out'))).toBe(true);
    expect(run.trace.find((l) => l.includes('timed out'))).toMatch(new RegExp(`^\\[${SIM.requestTimeoutMs}ms\\]`));
  });
});

describe('the provider model', () => {
  const form = (token: string) =>
    new URLSearchParams({ grant_type: 'refresh_token', client_id: SIM.clientId, client_secret: SIM.clientSecret, refresh_token: token });
  const setup = (reuse: 'revokeChain' | 'rejectOnly') => {
    let order = 0;
    const p = new ProviderModel({ reuse, keepRefreshTokenEvery: 0, expiresInS: () => 900 }, () => SIM.t0, () => ++order);
    const { refreshToken } = p.seedChain('alice', SIM.t0);
    return { p, rt: refreshToken.value };
  };

  it('rotates the refresh token and answers in the token endpoint format', () => {
    const { p, rt } = setup('revokeChain');
    const answer = p.tokenEndpoint(p.beginExchange('v0', 'refresh', SIM.t0), form(rt), null);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    expect(answer.status).toBe(200);
    expect(body).toMatchObject({ expires_in: 900, token_type: 'Bearer' });
    expect(body.refresh_token).not.toBe(rt);
    expect(p.isRefreshTokenAlive(rt)).toBe(false);
    expect(p.isRefreshTokenAlive(body.refresh_token as string)).toBe(true);
  });

  it('detects reuse of a rotated refresh token and, by default, revokes the whole chain', () => {
    const { p, rt } = setup('revokeChain');
    const next = JSON.parse(p.tokenEndpoint(p.beginExchange('v0', 'refresh', SIM.t0), form(rt), null).body).refresh_token as string;
    const again = p.tokenEndpoint(p.beginExchange('v1', 'refresh', SIM.t0), form(rt), null);
    expect([400, 401]).toContain(again.status);
    expect(p.presentations.map((x) => x.outcome)).toEqual(['rotated', 'reuse']);
    expect(p.isRefreshTokenAlive(next)).toBe(false);
  });

  it('with rejectOnly, refuses the reused token but keeps its successor', () => {
    const { p, rt } = setup('rejectOnly');
    const next = JSON.parse(p.tokenEndpoint(p.beginExchange('v0', 'refresh', SIM.t0), form(rt), null).body).refresh_token as string;
    p.tokenEndpoint(p.beginExchange('v1', 'refresh', SIM.t0), form(rt), null);
    expect(p.isRefreshTokenAlive(next)).toBe(true);
  });
});
