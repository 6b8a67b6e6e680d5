import { describe, expect, it } from 'vitest';
import { EmulatorError, emulatorUrls, mixiEndpoints } from '../src/index';

describe('mixiEndpoints', () => {
  it('maps a base URL to the four mixi endpoints, with or without a trailing slash', () => {
    const expected = {
      authorizationEndpoint: 'http://127.0.0.1:8787/connect_authorize.pl',
      featurePhoneAuthorizationEndpoint: 'http://127.0.0.1:8787/m/connect_authorize.pl',
      tokenEndpoint: 'http://127.0.0.1:8787/2/token',
      apiBaseUrl: 'http://127.0.0.1:8787/2/',
    };
    expect(mixiEndpoints('http://127.0.0.1:8787')).toEqual(expected);
    expect(mixiEndpoints(new URL('http://127.0.0.1:8787/'))).toEqual(expected);
  });

  it('keeps a path prefix and lists the other URLs', () => {
    const urls = emulatorUrls('http://[::1]:9000/mixi/');
    expect(urls.tokenEndpoint).toBe('http://[::1]:9000/mixi/2/token');
    expect(urls.dashboardUrl).toBe('http://[::1]:9000/mixi/dashboard');
    expect(urls.desktopRedirectUrl).toBe('http://[::1]:9000/mixi/connect_authorize_success.html');
  });

  it.each(['not a url', 'ftp://127.0.0.1/'])('refuses %s', (base) => {
    expect(() => mixiEndpoints(base)).toThrow(EmulatorError);
  });
});
