import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors';
import { MIXI_ENDPOINTS, providers } from '../../src/protocol/index';

describe('providers.mixi', () => {
  it('describes the live mixi platform by default', () => {
    expect(providers.mixi()).toEqual({
      name: 'mixi',
      authorizationEndpoint: 'https://mixi.jp/connect_authorize.pl',
      featurePhoneAuthorizationEndpoint: 'http://m.mixi.jp/connect_authorize.pl',
      tokenEndpoint: 'https://secure.mixi-platform.com/2/token',
      apiBaseUrl: 'https://api.mixi-platform.com/2/',
      clientAuth: 'client_secret_post',
      pkce: false,
      serverState: true,
      codeLifetimeMs: 180_000,
      redirectUriInAuthorizationRequest: false,
      displays: ['pc', 'touch', 'smartphone', 'ios'],
      defaultScope: [],
    });
  });

  it('takes endpoint overrides such as the emulator on loopback, adding the base URL slash', () => {
    const p = providers.mixi({
      authorizationEndpoint: 'http://127.0.0.1:8787/connect_authorize.pl',
      featurePhoneAuthorizationEndpoint: 'http://127.0.0.1:8787/m/connect_authorize.pl',
      tokenEndpoint: 'http://127.0.0.1:8787/2/token',
      apiBaseUrl: 'http://127.0.0.1:8787/2',
    });
    expect(p.authorizationEndpoint).toBe('http://127.0.0.1:8787/connect_authorize.pl');
    expect(p.featurePhoneAuthorizationEndpoint).toBe('http://127.0.0.1:8787/m/connect_authorize.pl');
    expect(p.tokenEndpoint).toBe('http://127.0.0.1:8787/2/token');
    expect(p.apiBaseUrl).toBe('http://127.0.0.1:8787/2/');
    expect(p.clientAuth).toBe('client_secret_post');
  });

  it('keeps the defaults for endpoints not overridden', () => {
    expect(providers.mixi({ tokenEndpoint: 'http://127.0.0.1:1/2/token' }).authorizationEndpoint).toBe(
      MIXI_ENDPOINTS.authorizationEndpoint,
    );
  });

  it.each([
    ['not a URL', 'tokenEndpoint must be an absolute URL'],
    ['ftp://mixi.jp/token', 'tokenEndpoint must be an http: or https: URL'],
    ['https://user:pw@mixi.jp/token', 'tokenEndpoint must not carry credentials'],
    ['https://mixi.jp/token#x', 'tokenEndpoint must not have a fragment'],
  ])('refuses the token endpoint %s', (url, message) => {
    const call = () => providers.mixi({ tokenEndpoint: url });
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(message);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(providers.mixi())).toBe(true);
    expect(Object.isFrozen(providers.mixi().displays)).toBe(true);
  });
});

describe('providers.oauth2', () => {
  const base = { authorizationEndpoint: 'https://as.example/authorize', tokenEndpoint: 'https://as.example/token' };

  it('uses RFC 6749 defaults', () => {
    expect(providers.oauth2(base)).toEqual({
      name: 'oauth2',
      authorizationEndpoint: 'https://as.example/authorize',
      featurePhoneAuthorizationEndpoint: undefined,
      tokenEndpoint: 'https://as.example/token',
      apiBaseUrl: undefined,
      clientAuth: 'client_secret_basic',
      pkce: true,
      serverState: false,
      codeLifetimeMs: 600_000,
      redirectUriInAuthorizationRequest: true,
      displays: [],
      defaultScope: [],
    });
  });

  it('takes every option', () => {
    const p = providers.oauth2({
      ...base,
      name: 'example',
      apiBaseUrl: 'https://api.example/v1/',
      clientAuth: 'client_secret_post',
      pkce: false,
      codeLifetimeMs: 60_000,
      defaultScope: ['openid', 'openid', 'email'],
      displays: ['page', 'popup'],
    });
    expect(p).toMatchObject({
      name: 'example',
      apiBaseUrl: 'https://api.example/v1/',
      clientAuth: 'client_secret_post',
      pkce: false,
      codeLifetimeMs: 60_000,
      defaultScope: ['openid', 'email'],
      displays: ['page', 'popup'],
    });
  });

  it.each([
    [{ ...base, authorizationEndpoint: '/relative' }, 'authorizationEndpoint must be an absolute URL'],
    [{ ...base, apiBaseUrl: 'mailto:x@y' }, 'apiBaseUrl must be an http: or https: URL'],
    [{ ...base, clientAuth: 'private_key_jwt' as never }, 'clientAuth must be'],
    [{ ...base, codeLifetimeMs: 0 }, 'codeLifetimeMs must be a positive integer'],
    [{ ...base, codeLifetimeMs: 1.5 }, 'codeLifetimeMs must be a positive integer'],
    [{ ...base, defaultScope: ['a b'] }, 'defaultScope[0] must be a scope token'],
    [{ ...base, name: '' }, 'name must be a non-empty string'],
    [{ ...base, pkce: 'yes' as never }, 'pkce must be a boolean'],
  ])('refuses bad options (%#)', (options, message) => {
    const call = () => providers.oauth2(options);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(message);
  });
});
