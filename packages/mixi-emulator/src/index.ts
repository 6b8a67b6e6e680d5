/**
 * @tokenvault/mixi-emulator: a strict, offline stand-in for the mixi platform (Partner Dashboard,
 * authorization pages, token endpoint, Graph APIs) with a virtual clock, fault injection and
 * counters, served over real HTTP by Hono.
 */
export { createMixiEmulator } from './mixi-emulator';
export type { MixiEmulator, MixiEmulatorControls, MintGrantInput, MintGrantsInput } from './mixi-emulator';
export type { MixiEmulatorOptions, ResolvedEmulatorOptions, ReuseDetection } from './emulator-options';
export { mixiEndpoints, emulatorUrls } from './mixi-endpoints';
export type { MixiEndpoints, EmulatorUrls } from './mixi-endpoints';
export type { ListenOptions, RunningEmulator } from './server';
export { VirtualClock } from './virtual-clock';
export type { VirtualClockOptions } from './virtual-clock';
export type { RandomBytes } from './token-generator';
export { EmulatorError, ConnectionDroppedError } from './emulator-error';
export type { EmulatorErrorCode } from './emulator-error';
export type { FaultInjector, FaultEndpoint, FaultResponse, FaultRule, FaultRuleInput } from './state/fault-injector';
export type { Counters, CountersSnapshot, TokenGrantType } from './state/counters';
export type {
  ServiceInput,
  ServiceUpdate,
  ServiceView,
  ServiceStatus,
  ServiceCredentials,
  OutboxMail,
  MailPurpose,
} from './state/service-registry';
export type { TestUserInput, TestUserView, PersonEntry } from './state/user-directory';
export type { GrantInfo, MintedGrant, TokenLookup, RevocationReason, GrantOrigin, TokenResponseBody } from './state/grant-ledger';
export type { IdTokenClaims } from './id-token';
export { describeScope } from './scopes';
export { EXPIRED_TOKEN_CHALLENGE } from './http/graph-api-routes';
export { SESSION_COOKIE } from './http/authorize-routes';
export { UNCONFIRMED_MARK } from './http/dashboard-routes';
export type { AppEnv } from './http/app-context';
export type { OutboxMailView } from './http/dashboard-api-routes';
export { consentAs, ConsentAgentError, type ConsentDecision, type ConsentOptions } from './consent-agent';
