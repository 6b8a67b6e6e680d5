import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.ts';

const shared = sharedTestConfig(import.meta.url);

// Every CLI test starts real `tokenvault` subprocesses from source (about 1.5 s of CPU each: tsx
// resolving the store's dependencies), so a test of a few sequential commands needs more than the
// shared 30 s on a busy two-core machine.
export default defineConfig({
  ...shared,
  test: { ...shared.test, testTimeout: 120_000, hookTimeout: 60_000 },
});
