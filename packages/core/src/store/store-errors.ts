import { StoreError } from '../errors/errors';

/**
 * Errors every adapter raises in the same situations, with the same wording, so callers and the
 * conformance suite see one behaviour whatever the backend.
 */

/** Any call on a store after `close()`. */
export function closedStoreError(): StoreError {
  return new StoreError('the store is closed');
}

/**
 * A write that would give a second grant the same pending state hash (a unique index in SQL). States
 * are random, so this means one was reused: the write is refused and the stored grants stay as they were.
 */
export function stateHashTakenError(options?: { cause?: unknown }): StoreError {
  return new StoreError('another grant already has a pending authorization with this state hash; nothing was written', options);
}
