import { fileURLToPath } from 'node:url';
import { defaultServerConditions, type UserConfig } from 'vite';

/**
 * The vitest settings every package shares. Workspace packages resolve to their TypeScript source
 * through the "@tokenvault/source" export condition, so tests never need a build first.
 */
export function sharedTestConfig(packageConfigUrl: string): UserConfig & { test: Record<string, unknown> } {
  const conditions = ['@tokenvault/source', ...defaultServerConditions];
  return {
    root: fileURLToPath(new URL('.', packageConfigUrl)),
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@tokenvault/source'] } },
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      // Real servers on loopback and real databases: keep one worker per core.
      maxWorkers: 2,
    },
  };
}
