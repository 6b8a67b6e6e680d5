#!/usr/bin/env node
// One-step set-up for a fresh clone on a machine that has only Node.js 20+ and npm.
//
// `npm test` and `npm run demo` call this first. It installs the workspace with the pinned pnpm
// (fetched through npx, nothing global) unless node_modules already matches pnpm-lock.yaml, so a
// second run costs a few milliseconds.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager; // "pnpm@x.y.z"

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 11)) {
  console.error(`tokenvault needs Node.js 20.11 or newer (this is ${process.versions.node}).`);
  process.exit(1);
}

function installed() {
  const lock = join(root, 'pnpm-lock.yaml');
  const seen = join(root, 'node_modules', '.pnpm', 'lock.yaml');
  if (!existsSync(lock) || !existsSync(seen)) return false;
  if (readFileSync(lock, 'utf8') !== readFileSync(seen, 'utf8')) return false;
  // A failed native build leaves the package without its addon: check the one we depend on.
  return existsSync(join(root, 'packages', 'kysely', 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));
}

if (!installed()) {
  const env = { ...process.env };
  // better-sqlite3 is compiled from source; point node-gyp at the local Node headers when they exist
  // (offline machines cannot download them).
  if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
  const args = ['--yes', PNPM, 'install'];
  if (existsSync(join(root, 'pnpm-lock.yaml'))) args.push('--frozen-lockfile');
  console.error(`tokenvault setup: installing dependencies with ${PNPM} (first run only; compiling better-sqlite3 takes about 2 minutes)…`);
  const r = spawnSync('npx', args, { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' });
  if (r.status !== 0) {
    console.error(`tokenvault setup: "npx ${args.join(' ')}" failed (exit ${r.status ?? r.signal}).`);
    process.exit(r.status ?? 1);
  }
}
