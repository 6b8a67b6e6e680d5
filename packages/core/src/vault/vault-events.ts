import type { ReauthReason } from '../errors/errors';
import type { GrantEvent } from '../machine/grant-machine';
import type { GrantState } from '../store/grant-store';

/** Payloads of the events a vault emits. None carries a token or secret. */
export interface VaultEventMap {
  /** A grant changed state (or was rewritten in the same state) and the change is persisted. */
  transition: {
    readonly grantId: string;
    readonly client: string;
    readonly from: GrantState | null;
    readonly to: GrantState;
    readonly event: GrantEvent['type'] | 'grant.create';
    readonly version: number;
    readonly at: number;
  };
  /** New tokens were obtained by this vault and persisted. */
  refreshed: {
    readonly grantId: string;
    readonly client: string;
    readonly expiresAt: number | null;
    readonly at: number;
  };
  /** A grant needs a new authorization. */
  reauthRequired: {
    readonly grantId: string;
    readonly client: string;
    readonly reason: ReauthReason;
    readonly at: number;
  };
  /** The provider rejected a client's credentials; its refreshes stop until its secret is updated. */
  clientRejected: {
    readonly client: string;
    readonly at: number;
  };
  /** A grant was authorized (its code exchanged). */
  authorized: {
    readonly grantId: string;
    readonly client: string;
    readonly scope: readonly string[];
    readonly at: number;
  };
  /**
   * `vault.fetch`: one HTTP attempt ended, with an answer (`status`) or without one (`error`).
   * `url` never carries the token (nor a fragment).
   */
  request: {
    readonly grantId: string;
    readonly client: string;
    readonly method: string;
    readonly url: string;
    /** 1 for a call's first attempt; every send counts, token retries included. */
    readonly attempt: number;
    /** The answer's status, or null when none came. */
    readonly status: number | null;
    /** Why no answer came: `network_error`, `attempt_timeout`, `aborted`, `timeout`, `invalid_argument`; else null. */
    readonly error: string | null;
    readonly durationMs: number;
    /** When the attempt ended (the vault's clock), epoch ms. */
    readonly at: number;
  };
  /** `vault.fetch` is about to send a request again. */
  retry: {
    readonly grantId: string;
    readonly client: string;
    readonly method: string;
    readonly url: string;
    /** The attempt about to be sent (2 or more). */
    readonly attempt: number;
    /**
     * `token_expired`: the API called the token expired; a newer one (refreshed, or already stored by
     * another process) is sent. `token_rejected`: the API refused the token, but the store already held
     * another. `transient`: a network error, attempt timeout, 5xx, 503 or 429, after backoff.
     */
    readonly reason: 'token_expired' | 'token_rejected' | 'transient';
    /** Status of the answer that caused the retry; null after a network error or timeout. */
    readonly status: number | null;
    /** What the answer's `Retry-After` asked for, ms; null when it had none. */
    readonly retryAfterMs: number | null;
    /** Time between the failed attempt's end and this retry (backoff, or getting a new token), ms. */
    readonly delayMs: number;
    readonly at: number;
  };
  /** `vault.fetch` settled: with a response (`status`) or an error (`error`, a stable code). */
  response: {
    readonly grantId: string;
    readonly client: string;
    readonly method: string;
    readonly url: string;
    /** HTTP attempts made (0 when the call failed before sending anything). */
    readonly attempts: number;
    /** Status of the returned response; null when the call threw. */
    readonly status: number | null;
    /**
     * The thrown error's `code` (`reauth_required`, `insufficient_scope`, `provider_unavailable`, …),
     * `aborted` (the caller's signal) or `timeout` (`timeoutMs`); null when a response was returned.
     */
    readonly error: string | null;
    /** From the call to its outcome, ms. */
    readonly durationMs: number;
    readonly at: number;
  };
}

export type VaultEventName = keyof VaultEventMap;
export type VaultListener<K extends VaultEventName> = (payload: VaultEventMap[K]) => void;

/**
 * A small typed event emitter. A listener that throws is reported through `onListenerError` and never
 * breaks the engine's own work.
 */
export class VaultEmitter {
  readonly #listeners = new Map<VaultEventName, Set<(payload: never) => void>>();
  readonly #onListenerError: (error: unknown, event: VaultEventName) => void;

  constructor(onListenerError: (error: unknown, event: VaultEventName) => void) {
    this.#onListenerError = onListenerError;
  }

  on<K extends VaultEventName>(event: K, listener: VaultListener<K>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => this.off(event, listener);
  }

  off<K extends VaultEventName>(event: K, listener: VaultListener<K>): void {
    this.#listeners.get(event)?.delete(listener as (payload: never) => void);
  }

  /** Whether anyone listens to `event`: lets a hot path skip building a payload nobody receives. */
  listens(event: VaultEventName): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  emit<K extends VaultEventName>(event: K, payload: VaultEventMap[K]): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as VaultListener<K>)(payload);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }
}
