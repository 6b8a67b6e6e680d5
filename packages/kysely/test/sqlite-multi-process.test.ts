import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteStore } from '../src/index';
import { tempDir } from './support/sqlite-harness';
import { UNENCRYPTED } from './support/unencrypted';

const PROCESSES = 4;
const ROUNDS = 150;
const GRANTS = 3;
const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/cas-worker.ts', import.meta.url));

interface Report {
  worker: string;
  won: string[];
  lost: number;
  created: number;
  retries: number;
}

/** Runs one worker process to completion; rejects with its stderr when it fails. */
function runWorker(filename: string, id: number, startAt: number): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@tokenvault/source', '--import', 'tsx', worker, filename, `w${id}`, String(ROUNDS), String(GRANTS), String(startAt)],
      { cwd: workspaceRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Report) : reject(new RangeError(`worker w${id} exited ${code}: ${err}`))));
  });
}

describe('sqliteStore across processes', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
  });

  it(`lets ${PROCESSES} processes start on a new file and hammer it: no SQLITE_BUSY reaches them, each version has one winner`, async () => {
    const { dir, remove } = await tempDir();
    cleanup = remove;
    const filename = join(dir, 'shared.db');

    // Long enough for every process to have loaded its code first, whatever the machine's load.
    const startAt = Date.now() + 5_000;
    const reports = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => runWorker(filename, i, startAt)));

    const wins = reports.flatMap((r) => r.won);
    // Every shared grant was created by exactly one process, however the start-up raced.
    expect(reports.reduce((n, r) => n + r.created, 0)).toBe(GRANTS);
    console.info(`${PROCESSES} processes: ${wins.length} wins, ${reports.reduce((n, r) => n + r.lost, 0)} lost races, ${reports.reduce((n, r) => n + r.retries, 0)} busy retries absorbed`);
    // Exactly one winner per (grant, version): a duplicate would be two writers both told "you won".
    expect(new Set(wins).size).toBe(wins.length);
    expect(wins.length + reports.reduce((n, r) => n + r.lost, 0)).toBe(PROCESSES * ROUNDS);
    const check = sqliteStore({ filename, ...UNENCRYPTED });
    for (let i = 0; i < GRANTS; i++) {
      const grantId = `shared-${i}`;
      const record = await check.get(grantId);
      const winsHere = wins.filter((w) => w.startsWith(`${grantId}@`)).length;
      // Every win moved the version by exactly one; nothing else did.
      expect(record?.version).toBe(1 + winsHere);
      expect(wins).toContain(`${grantId}@${record?.version}`);
    }
    await check.close();
  }, 120_000);
});
