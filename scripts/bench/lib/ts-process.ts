/**
 * Running TypeScript in child processes the way `scripts/run-source.mjs` does: workspace packages from
 * source (the `@tokenvault/source` condition) and tsx resolved from this repository, so it works
 * from any working directory and from inside vitest.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root. */
export const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Node arguments that run a `.ts` entry point from source: put the file and its arguments after them.
 * With `TOKENVAULT_BENCH_CPU_PROF=<dir>` in the environment, every child also writes a V8 CPU profile
 * there (open it in Chrome DevTools), which is how the benchmarks' hot spots are found.
 */
export function tsNodeArgs(): string[] {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const profileDir = process.env.TOKENVAULT_BENCH_CPU_PROF;
  return ['--conditions=@tokenvault/source', '--import', tsx, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
}
