/**
 * @tokenvault/core — the OAuth 2.0 token lifecycle engine.
 *
 * @example
 * import { createVault, memoryStore, providers } from '@tokenvault/core';
 *
 * const vault = createVault({
 *   store: memoryStore(),
 *   clients: [{ id: 'mixi', provider: providers.mixi(), clientId, clientSecret, redirectUri }],
 * });
 */
export * from './errors/errors';
export { Secret, safeEqual, sha256base64url } from './util/secret';
export { systemClock, type Clock } from './util/clock';
export { silentLogger, type Logger } from './util/logger';
export { defaultRetryPolicy, type RetryPolicy } from './util/retry';
export * from './store/index';
export * from './protocol/index';
export * from './machine/index';
export * from './vault/index';
export * from './security/index';
export type { ExecutorOptions, ExecutorSettings, TokenPlacement, VaultFetchOptions } from './executor/executor-options';
export type { VaultFetchInit } from './executor/executor';
