/**
 * Errors the emulator's programmatic API throws. Each carries a stable string `code`; messages name
 * the offending field, never a token or secret.
 */

/** Stable machine-readable codes. Adding one is a minor change; renaming one is breaking. */
export type EmulatorErrorCode =
  | 'invalid_option'
  | 'invalid_input'
  | 'unknown_service'
  | 'unknown_user'
  | 'unknown_grant'
  | 'unknown_confirmation'
  | 'service_unconfirmed'
  | 'duplicate_user'
  | 'control_not_loopback'
  | 'random_exhausted';

/** Base class of every error the emulator throws on purpose. */
export class EmulatorError extends Error {
  override readonly name: string = 'EmulatorError';
  readonly code: EmulatorErrorCode;
  /** The input field at fault, when there is one (`redirectUrl`, `port`, …). */
  readonly field: string | undefined;

  constructor(code: EmulatorErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options?.field;
  }

  /** A plain object, safe to log or serialise. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}

/**
 * Thrown out of the in-process `fetch` when a fault rule drops the connection: over a real socket the
 * emulator destroys the socket instead, and the client's `fetch` rejects on its own. Both look like a
 * network failure to the caller.
 */
export class ConnectionDroppedError extends Error {
  override readonly name: string = 'ConnectionDroppedError';
  readonly code = 'connection_dropped' as const;

  constructor() {
    super('the emulator dropped the connection (fault injection)');
  }
}
