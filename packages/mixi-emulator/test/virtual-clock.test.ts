import { describe, expect, it } from 'vitest';
import { createMixiEmulator, EmulatorError, VirtualClock } from '../src/index';

describe('VirtualClock', () => {
  it('follows its source and adds what advance() adds', () => {
    let source = 1_000;
    const clock = new VirtualClock({ source: () => source });
    expect(clock.now()).toBe(1_000);
    source = 1_500;
    expect(clock.now()).toBe(1_500);
    expect(clock.advance(60_000)).toBe(61_500);
    expect(clock.offsetMs).toBe(60_000);
  });

  it('starts where it is told and can be set anywhere, then keeps running from there', () => {
    let source = 10;
    const clock = new VirtualClock({ source: () => source, startAt: 5_000 });
    expect(clock.now()).toBe(5_000);
    source = 20;
    expect(clock.now()).toBe(5_010);
    expect(clock.set(100)).toBe(100);
    source = 25;
    expect(clock.now()).toBe(105);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses advance(%s) with a coded error', (ms) => {
    const clock = new VirtualClock();
    expect(() => clock.advance(ms)).toThrow(EmulatorError);
    try {
      clock.advance(ms);
    } catch (error) {
      expect((error as EmulatorError).code).toBe('invalid_input');
    }
  });

  it('is the clock the emulator reads, injected through options', () => {
    const emulator = createMixiEmulator({ now: () => 0, startAt: 1_700_000_000_000 });
    expect(emulator.clock.now()).toBe(1_700_000_000_000);
    emulator.clock.advance(1);
    expect(emulator.clock.now()).toBe(1_700_000_000_001);
  });
});

describe('options', () => {
  it.each([
    [{ accessTokenLifetimeSec: 0 }, 'accessTokenLifetimeSec'],
    [{ codeLifetimeMs: -5 }, 'codeLifetimeMs'],
    [{ refreshTokenLifetimeMs: 1.5 }, 'refreshTokenLifetimeMs'],
    [{ reuseDetection: 'ignore' as never }, 'reuseDetection'],
    [{ control: 'yes' as never }, 'control'],
  ])('refuses %j naming %s', (options, field) => {
    expect(() => createMixiEmulator(options)).toThrow(expect.objectContaining({ code: 'invalid_option', field }));
  });

  it('applies the documented defaults', () => {
    expect(createMixiEmulator().options).toEqual({
      accessTokenLifetimeSec: 900,
      codeLifetimeMs: 180_000,
      refreshTokenLifetimeMs: undefined,
      serverStateLifetimeMs: 1_800_000,
      reuseDetection: 'revoke-grant',
      rotateRefreshTokens: true,
      omitRefreshTokenOnRefresh: false,
      revokeAccessTokenOnRefresh: false,
      control: false,
      maxBodyBytes: 65_536,
      autoCreateUsers: false,
      issuer: 'https://mixi.jp',
    });
  });

  it('mints reproducible tokens from an injected random source, with separate state per instance', () => {
    const counter = () => {
      let n = 0;
      return (size: number) => Uint8Array.from({ length: size }, () => n++ & 0xff);
    };
    const a = createMixiEmulator({ randomBytes: counter() });
    const b = createMixiEmulator({ randomBytes: counter() });
    const input = { name: 'S', description: 'd', redirectUrl: 'https://s.example/cb', inquiryEmail: 's@example.com' };
    expect(a.registerService(input)).toEqual(b.registerService(input));
    a.registerService(input);
    expect(a.getService('svc-2').name).toBe('S');
    expect(() => b.getService('svc-2')).toThrow(expect.objectContaining({ code: 'unknown_service' }));
  });
});
