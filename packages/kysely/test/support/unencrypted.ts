import { silentLogger } from '@tokenvault/core';

/**
 * The explicit opt-out of encryption at rest, without its console warning: for tests whose raw-read
 * oracle compares stored secrets with what was written. Encryption itself is tested in
 * `store-encryption.test.ts` and by the encrypted conformance runs.
 */
export const UNENCRYPTED = { encryption: 'none', logger: silentLogger } as const;
