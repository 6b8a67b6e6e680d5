import type { GrantRecord } from '../store/grant-store';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/logger';
import type { FetchLike } from '../protocol/types';
import type { ResolvedClient } from '../vault/vault-options';
import type { VaultEventMap, VaultEventName } from '../vault/vault-events';
import type { ExecutorOptions } from './executor-options';

/**
 * What the executor needs from the vault. The vault implements it; the executor never sees the
 * store or the machine, only "give me a usable token" and "this token was refused".
 */
export interface ExecutorHost {
  options(): ExecutorOptions;
  clock(): Clock;
  fetch(): FetchLike;
  logger(): Logger;
  emit<K extends VaultEventName>(event: K, payload: VaultEventMap[K]): void;
  /** Whether anyone listens to `event`; the executor builds (and times) no payload nobody receives. */
  listens(event: VaultEventName): boolean;
  /** The client (provider profile, token placement) the grant belongs to. */
  grantClient(grantId: string): Promise<ResolvedClient>;
  /**
   * The hot path, optional: the record and its client when this process's cache holds a fresh token
   * (valid past the refresh skew), else undefined. Synchronous and without I/O, so a call whose token is
   * fresh awaits nothing but fetch. Without it the executor uses `grantClient` and `usableRecord`.
   */
  freshRecord?(grantId: string): { readonly record: GrantRecord; readonly client: ResolvedClient } | undefined;
  /**
   * An authorized record with a usable access token: refreshed first when due, or when the stored
   * token is still `staleAccessToken` (an API just refused it as expired). Single-flight with every
   * other caller in the process, and lease-coordinated with other processes.
   */
  usableRecord(
    grantId: string,
    options: { staleAccessToken?: string | undefined; signal?: AbortSignal | undefined },
  ): Promise<GrantRecord>;
  /**
   * An API refused `token` as invalid (revoked): moves the grant to `reauthRequired` unless the
   * stored token changed meanwhile, in which case the current record is returned to retry with.
   */
  rejectAccessToken(grantId: string, token: string, signal?: AbortSignal): Promise<GrantRecord | undefined>;
}
