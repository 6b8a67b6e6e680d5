// Due-list paging on 1,000,000 grants in one SQLite file: the time of one listDue page of 1,000, and the
// peak RSS of a process that sweeps every page (measured in a fresh child process, so seeding does not
// count against it).
// Run: node scripts/run-source.mjs scripts/bench/store-due-page.ts [--grants N] [--keep]
//   --keep leaves the database in the temp directory and reuses it on the next run (seeding takes a while).
// Targets (issue "Stores"): a page of 1,000 due grants in under 5 ms; the sweep stays under 300 MB RSS.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { median, percentile, table, verdict } from './lib/measure';
import { seedGrants } from './lib/seed-grants';
import { openStore } from './lib/store-spec';
import { tsNodeArgs } from './lib/ts-process';

const PAGE = 1_000;
const FAR_FUTURE = Number.MAX_SAFE_INTEGER;
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

interface SweepReport {
  readonly items: number;
  readonly pages: number;
  readonly pageMs: number[];
  readonly pageCpuMs: number[];
  readonly peakRssMb: number;
  readonly maxRssMb: number;
  readonly startRssMb: number;
}

/**
 * Wall time and this process's CPU time (user + system) of one measured step. On a busy machine the
 * wall time includes waiting for a core; the CPU time is the work the step itself did.
 */
function startTimer(): () => { wall: number; cpu: number } {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { wall: performance.now() - wall, cpu: (used.user + used.system) / 1000 };
  };
}

/** Child mode: walk every due page of the file, `PAGE` at a time, and report times and memory. */
async function sweep(filename: string): Promise<SweepReport> {
  const store = openStore({ kind: 'sqlite', filename, keys: null });
  await store.ready();
  const mb = (bytes: number) => bytes / 1024 / 1024;
  const startRssMb = mb(process.memoryUsage.rss());
  let peak = startRssMb;
  const pageMs: number[] = [];
  const pageCpuMs: number[] = [];
  let items = 0;
  let cursor: string | undefined;
  do {
    const timer = startTimer();
    const page = await store.listDue(FAR_FUTURE, { limit: PAGE, cursor });
    const { wall, cpu } = timer();
    pageMs.push(wall);
    pageCpuMs.push(cpu);
    items += page.items.length;
    cursor = page.cursor;
    peak = Math.max(peak, mb(process.memoryUsage.rss()));
  } while (cursor !== undefined);
  await store.close();
  return { items, pages: pageMs.length, pageMs, pageCpuMs, peakRssMb: peak, startRssMb, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

if (option('--sweep') !== undefined) {
  const report = await sweep(option('--sweep')!);
  process.stdout.write(JSON.stringify(report));
} else {
  const grants = Number(option('--grants') ?? 1_000_000);
  const filename = join(tmpdir(), `tokenvault-bench-due-${grants}.db`);
  const reuse = flag('--keep') && existsSync(filename);
  if (!reuse) for (const suffix of ['', '-wal', '-shm']) await rm(filename + suffix, { force: true });

  const store = openStore({ kind: 'sqlite', filename, keys: null });
  let seedLine = `reused ${filename}`;
  if (!reuse) {
    const seeded = await seedGrants(store, grants, { now: Date.now() });
    seedLine = `seeded ${seeded.inserted.toLocaleString('en-US')} grants in ${(seeded.ms / 1000).toFixed(1)} s (${Math.round(seeded.inserted / (seeded.ms / 1000)).toLocaleString('en-US')} rows/s)`;
  }
  const total = await store.count({ state: 'authorized' });

  // One page, warm: the first page, and pages deep into the file (reached through real cursors).
  const firstPage: number[] = [];
  const firstPageCpu: number[] = [];
  for (let i = 0; i < 30; i++) {
    const timer = startTimer();
    await store.listDue(FAR_FUTURE, { limit: PAGE });
    const { wall, cpu } = timer();
    firstPage.push(wall);
    firstPageCpu.push(cpu);
  }
  const deepPage: number[] = [];
  const deepPageCpu: number[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 300 && (i === 0 || cursor !== undefined); i++) {
    const timer = startTimer();
    const page = await store.listDue(FAR_FUTURE, { limit: PAGE, cursor });
    const { wall, cpu } = timer();
    deepPage.push(wall);
    deepPageCpu.push(cpu);
    cursor = page.cursor;
  }
  await store.close();

  const child = spawnSync(
    process.execPath,
    [...tsNodeArgs(), fileURLToPath(import.meta.url), '--sweep', filename],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (child.status !== 0) {
    console.error(child.stderr);
    process.exit(child.status ?? 1);
  }
  const report = JSON.parse(child.stdout) as SweepReport;

  const load = loadavg()[0] ?? 0;
  console.log(`listDue on ${total.toLocaleString('en-US')} authorized grants in one SQLite file; ${seedLine}`);
  console.log(`machine: ${availableParallelism()} cores, load average ${load.toFixed(1)} (wall times include waiting for a core; CPU ms is the page's own work)\n`);
  const row = (label: string, wall: number[], cpu: number[]) => [label, median(wall), percentile(wall, 95), Math.max(...wall), median(cpu)];
  console.log(
    table(
      ['measurement', 'median ms', 'p95 ms', 'max ms', 'median CPU ms'],
      [
        row('first page of 1,000 (30 runs)', firstPage, firstPageCpu),
        row('pages 1–300 of 1,000 via cursor', deepPage, deepPageCpu),
        row(`full sweep: ${report.pages} pages (child process)`, report.pageMs, report.pageCpuMs),
      ],
    ),
  );
  console.log(
    `\nsweep: ${report.items.toLocaleString('en-US')} grants; RSS ${report.startRssMb.toFixed(0)} MB at start, peak ${report.peakRssMb.toFixed(0)} MB sampled per page, maxRSS ${report.maxRssMb.toFixed(0)} MB (getrusage)`,
  );
  console.log(
    `\none page of 1,000: ${verdict(median(deepPage) < 5)} < 5 ms wall (median ${median(deepPage).toFixed(2)} ms; CPU ${median(deepPageCpu).toFixed(2)} ms)`,
  );
  console.log(`sweep memory: ${verdict(report.maxRssMb < 300)} < 300 MB RSS (maxRSS ${report.maxRssMb.toFixed(0)} MB)`);
  console.log(`sweep completeness: ${verdict(report.items === total)} every due grant visited exactly once (${report.items} of ${total})`);
  if (!flag('--keep')) for (const suffix of ['', '-wal', '-shm']) await rm(filename + suffix, { force: true });
}
