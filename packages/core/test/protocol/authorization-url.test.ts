import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors';
import { buildAuthorizationUrl, providers } from '../../src/protocol/index';
import { Secret } from '../../src/util/secret';
import { mixiCredentials } from './fixtures';

const mixi = providers.mixi();
const oauth2 = providers.oauth2({
  authorizationEndpoint: 'https://as.example/authorize?tenant=t1',
  tokenEndpoint: 'https://as.example/token',
  defaultScope: ['openid'],
  displays: ['page', 'popup'],
});
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('buildAuthorizationUrl for mixi', () => {
  it('builds the seed URL, without redirect_uri, scope space-separated', () => {
    const url = buildAuthorizationUrl(mixi, mixiCredentials, {
      scope: ['r_profile', 'r_voice'],
      state: '5c1b3eea390b53f54ad0975e9a4bbba2',
    });
    expect(url.href).toBe(
      'https://mixi.jp/connect_authorize.pl?client_id=908ed4da74f885a2ab&response_type=code' +
        '&scope=r_profile+r_voice&state=5c1b3eea390b53f54ad0975e9a4bbba2',
    );
    expect(url.searchParams.get('scope')).toBe('r_profile r_voice');
  });

  it('adds display and server_state in the documented order', () => {
    const url = buildAuthorizationUrl(mixi, mixiCredentials, {
      scope: ['r_profile'],
      state: 'st',
      display: 'touch',
      serverState: new Secret('ss-1'),
    });
    expect([...url.searchParams]).toEqual([
      ['client_id', '908ed4da74f885a2ab'],
      ['response_type', 'code'],
      ['scope', 'r_profile'],
      ['display', 'touch'],
      ['state', 'st'],
      ['server_state', 'ss-1'],
    ]);
  });

  it.each(['pc', 'touch', 'smartphone', 'ios'])('accepts display=%s', (display) => {
    const url = buildAuthorizationUrl(mixi, mixiCredentials, { scope: ['r_profile'], state: 's', display });
    expect(url.searchParams.get('display')).toBe(display);
  });

  it('refuses a display the profile does not list', () => {
    const call = () => buildAuthorizationUrl(mixi, mixiCredentials, { scope: [], state: 's', display: 'wap' });
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow('display must be one of "pc", "touch", "smartphone", "ios"');
  });

  it('uses the feature-phone page, drops display, adds guid=ON for Docomo', () => {
    const url = buildAuthorizationUrl(mixi, mixiCredentials, {
      scope: ['r_profile'],
      state: 's',
      display: 'touch',
      device: 'featurePhone',
      docomo: true,
    });
    expect(url.href).toBe(
      'http://m.mixi.jp/connect_authorize.pl?client_id=908ed4da74f885a2ab&response_type=code&scope=r_profile&state=s&guid=ON',
    );
  });

  it('sends no guid for a non-Docomo feature phone', () => {
    const url = buildAuthorizationUrl(mixi, mixiCredentials, { scope: ['r_profile'], state: 's', device: 'featurePhone' });
    expect(url.searchParams.has('guid')).toBe(false);
    expect(url.origin).toBe('http://m.mixi.jp');
  });

  it('refuses docomo on the PC page', () => {
    expect(() => buildAuthorizationUrl(mixi, mixiCredentials, { scope: [], state: 's', docomo: true })).toThrow(
      'docomo applies only to device "featurePhone"',
    );
  });

  it('requires server_state with openid', () => {
    expect(() => buildAuthorizationUrl(mixi, mixiCredentials, { scope: ['openid'], state: 's' })).toThrow(
      'serverState is required when the scope contains "openid"',
    );
  });

  it('removes duplicate scopes and omits an empty scope', () => {
    const dup = buildAuthorizationUrl(mixi, mixiCredentials, { scope: ['r_voice', 'r_voice'], state: 's' });
    expect(dup.searchParams.getAll('scope')).toEqual(['r_voice']);
    const none = buildAuthorizationUrl(mixi, mixiCredentials, { scope: [], state: 's' });
    expect(none.searchParams.has('scope')).toBe(false);
  });

  it.each([
    [{ scope: ['r profile'], state: 's' }, 'scope[0] must be a scope token'],
    [{ scope: [''], state: 's' }, 'scope[0] must be a scope token'],
    [{ scope: [], state: '' }, 'state must be a non-empty string'],
    [{ scope: [], state: 's', serverState: '' }, 'serverState must be a non-empty string'],
    [{ scope: [], state: 's', device: 'tablet' as never }, 'device must be "pc" or "featurePhone"'],
    [{ scope: [], state: 's', extra: { state: 'x' } }, 'extra parameter "state" would replace a standard one'],
    [{ scope: [], state: 's', codeChallenge: 'short' }, 'codeChallenge must be an S256 challenge'],
  ])('refuses bad params (%#)', (params, message) => {
    const call = () => buildAuthorizationUrl(mixi, mixiCredentials, params);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(message);
  });

  it('never echoes the state in its errors', () => {
    const call = () => buildAuthorizationUrl(mixi, mixiCredentials, { scope: ['bad scope'], state: 'CANARY-STATE' });
    expect(call).toThrow(/^(?!.*CANARY-STATE)/);
  });
});

describe('buildAuthorizationUrl for a generic OAuth 2.0 server', () => {
  it('sends redirect_uri, the default scope first, PKCE S256, extras; keeps the endpoint query', () => {
    const url = buildAuthorizationUrl(oauth2, mixiCredentials, {
      scope: ['email', 'openid'],
      state: 'st',
      display: 'popup',
      codeChallenge: CHALLENGE,
      extra: { prompt: 'consent' },
    });
    expect(url.origin + url.pathname).toBe('https://as.example/authorize');
    expect([...url.searchParams]).toEqual([
      ['tenant', 't1'],
      ['client_id', '908ed4da74f885a2ab'],
      ['response_type', 'code'],
      ['scope', 'openid email'],
      ['display', 'popup'],
      ['state', 'st'],
      ['redirect_uri', 'https://app.example.com/callback'],
      ['code_challenge', CHALLENGE],
      ['code_challenge_method', 'S256'],
      ['prompt', 'consent'],
    ]);
  });

  it('requires a code challenge when the profile uses PKCE', () => {
    expect(() => buildAuthorizationUrl(oauth2, mixiCredentials, { scope: [], state: 's' })).toThrow(
      'codeChallenge is required: provider "oauth2" uses PKCE',
    );
  });

  it('refuses server_state and the feature phone, which it does not have', () => {
    const params = { scope: [], state: 's', codeChallenge: CHALLENGE };
    expect(() => buildAuthorizationUrl(oauth2, mixiCredentials, { ...params, serverState: 'x' })).toThrow(
      'serverState is not supported by provider "oauth2"',
    );
    expect(() => buildAuthorizationUrl(oauth2, mixiCredentials, { ...params, device: 'featurePhone' })).toThrow(
      'device "featurePhone" needs a profile with a featurePhoneAuthorizationEndpoint',
    );
  });

  it('sends a custom-scheme redirect URI unchanged and refuses a relative one', () => {
    const url = buildAuthorizationUrl(
      oauth2,
      { clientId: 'c', redirectUri: 'com.example.app:/cb' },
      { scope: [], state: 's', codeChallenge: CHALLENGE },
    );
    expect(url.searchParams.get('redirect_uri')).toBe('com.example.app:/cb');
    expect(() =>
      buildAuthorizationUrl(oauth2, { clientId: 'c', redirectUri: '/cb' }, { scope: [], state: 's', codeChallenge: CHALLENGE }),
    ).toThrow('redirectUri must be an absolute URL');
  });
});
