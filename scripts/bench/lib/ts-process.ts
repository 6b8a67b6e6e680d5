/**
 * Running TypeScript in child processes the way `scripts/run-source.mjs` does: workspace packages from
 * source (the `@tokenvault/source` condition) and tsx resolved from this repository, so it works
 * from any working directory and from inside vitest.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root. */
export const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Node arguments that run a `.ts` entry point from source: put the file and its arguments after them. */
export function tsNodeArgs(): string[] {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return ['--conditions=@tokenvault/source', '--import', tsx];
}
