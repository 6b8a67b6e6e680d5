#!/usr/bin/env node
// Runs a TypeScript entry point straight from source: workspace packages resolve to their src/
// through the "@tokenvault/source" export condition, and tsx compiles on the fly. No build step.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-source.mjs <file.ts> [args…]');
  process.exit(2);
}
const r = spawnSync(
  process.execPath,
  ['--conditions=@tokenvault/source', '--import', 'tsx', join(process.cwd(), entry), ...rest],
  { cwd: process.cwd(), stdio: 'inherit', env: process.env },
);
process.exit(r.status ?? 1);
