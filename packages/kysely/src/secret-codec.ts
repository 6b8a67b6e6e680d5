/**
 * The secret codec hook: defined once, in `@tokenvault/core` (`aesGcmCodec` implements it), and
 * re-exported here so the store's modules and its users can keep importing it from this package.
 */
export type { SecretCodec, SecretLocation } from '@tokenvault/core';
