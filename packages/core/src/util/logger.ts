/**
 * The logging interface tokenvault writes to: a subset of pino's, so a pino logger (or a child of
 * one) can be passed as is. tokenvault never passes a token or secret to it: fields that could hold
 * one are `Secret`s, which print as `[redacted]`, and messages name grants and clients, not values.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything: the default. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
