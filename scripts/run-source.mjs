#!/usr/bin/env node
// Runs a TypeScript entry point straight from source: workspace packages resolve to their src/
// through the "@tokenvault/source" export condition, and tsx compiles on the fly. No build step.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-source.mjs <file.ts> [args…]');
  process.exit(2);
}
const r = spawnSync(
  process.execPath,
  // tsx is resolved from this repository, so the script works from any working directory.
  ['--conditions=@tokenvault/source', '--import', import.meta.resolve('tsx'), resolve(process.cwd(), entry), ...rest],
  { cwd: process.cwd(), stdio: 'inherit', env: process.env },
);
process.exit(r.status ?? 1);
