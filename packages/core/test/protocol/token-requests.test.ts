import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors';
import {
  authorizationCodeGrantRequest,
  providers,
  refreshTokenGrantRequest,
  serverStateRequest,
} from '../../src/protocol/index';
import { Secret } from '../../src/util/secret';
import { mixiCredentials } from './fixtures';

const mixi = providers.mixi();
const FORM = 'application/x-www-form-urlencoded;charset=UTF-8';
const basicProfile = providers.oauth2({
  authorizationEndpoint: 'https://as.example/authorize',
  tokenEndpoint: 'https://as.example/token',
});
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

describe('serverStateRequest', () => {
  it('posts grant_type=server_state with the client id only', () => {
    expect(serverStateRequest(mixi, mixiCredentials)).toEqual({
      method: 'POST',
      url: 'https://secure.mixi-platform.com/2/token',
      headers: { 'content-type': FORM, accept: 'application/json' },
      body: 'grant_type=server_state&client_id=908ed4da74f885a2ab',
    });
  });

  it('refuses a profile without server_state', () => {
    expect(() => serverStateRequest(basicProfile, mixiCredentials)).toThrow(InvalidArgumentError);
  });
});

describe('authorizationCodeGrantRequest', () => {
  it('exchanges the code with client_secret_post, redirect_uri and server_state (mixi)', () => {
    const req = authorizationCodeGrantRequest(mixi, mixiCredentials, {
      code: new Secret('auth-code-1'),
      redirectUri: 'https://app.example.com/callback',
      serverState: new Secret('ss-1'),
    });
    expect(req).toEqual({
      method: 'POST',
      url: 'https://secure.mixi-platform.com/2/token',
      headers: { 'content-type': FORM, accept: 'application/json' },
      body:
        'grant_type=authorization_code&client_id=908ed4da74f885a2ab&client_secret=cs-5ecr3t-value' +
        '&code=auth-code-1&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&server_state=ss-1',
    });
  });

  it('defaults redirect_uri to the credentials and accepts a plain string code', () => {
    const req = authorizationCodeGrantRequest(mixi, mixiCredentials, { code: 'c' });
    expect(new URLSearchParams(req.body).get('redirect_uri')).toBe('https://app.example.com/callback');
    expect(new URLSearchParams(req.body).has('server_state')).toBe(false);
  });

  it('uses HTTP Basic with form-encoded id and secret, and sends the PKCE verifier', () => {
    const req = authorizationCodeGrantRequest(
      basicProfile,
      { clientId: 'my client', clientSecret: new Secret('s:e/c+r%t'), redirectUri: 'https://app.example/cb' },
      { code: 'abc', codeVerifier: VERIFIER },
    );
    expect(req).toEqual({
      method: 'POST',
      url: 'https://as.example/token',
      headers: {
        'content-type': FORM,
        accept: 'application/json',
        authorization: `Basic ${Buffer.from('my+client:s%3Ae%2Fc%2Br%25t').toString('base64')}`,
      },
      body: `grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=${VERIFIER}`,
    });
  });

  it.each([
    [{ code: '' }, 'code must be a non-empty string'],
    [{ code: 'c', redirectUri: 'nope' }, 'redirectUri must be an absolute URL'],
    [{ code: 'c', serverState: '' }, 'serverState must be a non-empty string'],
    [{ code: 'c', codeVerifier: 'short' }, 'codeVerifier must be 43 to 128 unreserved characters'],
  ])('refuses bad params (%#)', (params, message) => {
    const call = () => authorizationCodeGrantRequest(mixi, mixiCredentials, params);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(message);
  });

  it('requires the verifier when the profile uses PKCE', () => {
    expect(() => authorizationCodeGrantRequest(basicProfile, mixiCredentials, { code: 'c' })).toThrow(
      'codeVerifier is required: provider "oauth2" uses PKCE',
    );
  });

  it('refuses a client secret that is not a Secret', () => {
    const creds = { ...mixiCredentials, clientSecret: 'plain' as unknown as Secret };
    expect(() => authorizationCodeGrantRequest(mixi, creds, { code: 'c' })).toThrow('clientSecret must be a Secret');
  });
});

describe('refreshTokenGrantRequest', () => {
  it('refreshes with client_secret_post (mixi)', () => {
    expect(refreshTokenGrantRequest(mixi, mixiCredentials, new Secret('39c5662a2e8b87d41c1eebe79f68af'))).toEqual({
      method: 'POST',
      url: 'https://secure.mixi-platform.com/2/token',
      headers: { 'content-type': FORM, accept: 'application/json' },
      body:
        'grant_type=refresh_token&client_id=908ed4da74f885a2ab&client_secret=cs-5ecr3t-value' +
        '&refresh_token=39c5662a2e8b87d41c1eebe79f68af',
    });
  });

  it('asks for a narrower scope and authenticates with Basic', () => {
    const req = refreshTokenGrantRequest(basicProfile, mixiCredentials, new Secret('rt'), { scope: ['r_profile', 'r_voice'] });
    expect(req.body).toBe('grant_type=refresh_token&refresh_token=rt&scope=r_profile+r_voice');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('908ed4da74f885a2ab:cs-5ecr3t-value').toString('base64')}`);
  });

  it('refuses a refresh token that is not a Secret or is empty', () => {
    expect(() => refreshTokenGrantRequest(mixi, mixiCredentials, 'rt' as unknown as Secret)).toThrow(
      'refreshToken must be a Secret',
    );
    expect(() => refreshTokenGrantRequest(mixi, mixiCredentials, new Secret(''))).toThrow(
      'refreshToken must be a non-empty string',
    );
  });
});

describe('a built request printed by accident', () => {
  const req = refreshTokenGrantRequest(basicProfile, mixiCredentials, new Secret('RT-CANARY'));

  it('shows neither the secret nor the refresh token in JSON or inspect output', () => {
    for (const text of [JSON.stringify(req), inspect(req, { depth: 5 }), inspect(req, { showHidden: true })]) {
      expect(text).not.toContain('RT-CANARY');
      expect(text).not.toContain(Buffer.from('908ed4da74f885a2ab:cs-5ecr3t-value').toString('base64'));
      expect(text).toContain('[redacted]');
    }
  });

  it('is frozen', () => {
    expect(Object.isFrozen(req)).toBe(true);
    expect(Object.isFrozen(req.headers)).toBe(true);
  });
});
