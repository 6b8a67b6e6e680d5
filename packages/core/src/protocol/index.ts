/**
 * The protocol layer: mixi and RFC 6749 request building and answer validation, as request/process pairs
 * that do no I/O, plus `sendRequest`, the one function that does.
 */
export type {
  ClientAuthMethod,
  ClientCredentials,
  FetchLike,
  HttpRequest,
  HttpResponse,
  ResponseHeaders,
  ProviderProfile,
  TokenSet,
} from './types';
export { providers, MIXI_ENDPOINTS, type MixiEndpoints, type OAuth2ProviderOptions } from './providers';
export { effectiveScope, parseScopeString, validateScope } from './scope';
export {
  createPkcePair,
  pkceChallenge,
  randomState,
  secureRandomBytes,
  type PkcePair,
  type RandomBytes,
} from './pkce';
export { buildAuthorizationUrl, type AuthorizationDevice, type AuthorizationUrlParams } from './authorization-url';
export { FORM_CONTENT_TYPE } from './token-endpoint-request';
export { serverStateRequest, processServerStateResponse, type ServerState } from './server-state';
export { authorizationCodeGrantRequest, type AuthorizationCodeGrantParams } from './authorization-code-grant';
export { refreshTokenGrantRequest, type RefreshTokenGrantOptions } from './refresh-token-grant';
export { processTokenResponse, type ProcessTokenResponseOptions } from './token-response';
export { isTransientStatus, parseOAuthErrorBody, parseRetryAfter } from './error-answer';
export { redactBody, redactText, SECRET_KEYS } from './redact-body';
export { formatChallenge, parseWwwAuthenticate, type Challenge } from './www-authenticate';
export { classifyBearerError, type BearerProblem } from './bearer-error';
export { readBodyLimited, sendRequest, type SendRequestOptions } from './send-request';
export { HttpConnections, type HttpConnectionsOptions, type HttpConnectionsTls } from './http-connections';
