/**
 * Measurement helpers shared by the benchmarks: throughput of an async operation over a fixed time,
 * latency percentiles, and a plain-text table. Figures are medians of several rounds so one noisy
 * round does not decide a ratio; rounds of the things being compared are interleaved so drift in the
 * machine's speed hits both sides alike.
 */
import { performance } from 'node:perf_hooks';

/** Calls/s of `op` run back to back (each awaited) for `durationMs`. */
export async function opsPerSecond(op: (i: number) => Promise<unknown> | unknown, durationMs: number): Promise<number> {
  let i = 0;
  const start = performance.now();
  let now = start;
  const end = start + durationMs;
  // Check the clock every 1,024 calls: reading it is not free at millions of calls per second.
  while (now < end) {
    for (let k = 0; k < 1024; k++) await op(i++);
    now = performance.now();
  }
  return (i / (now - start)) * 1000;
}

/** Runs each named operation `rounds` times, interleaved, and returns the median calls/s of each. */
export async function compareThroughput(
  ops: Record<string, (i: number) => Promise<unknown> | unknown>,
  options: { rounds?: number; durationMs?: number; warmupMs?: number } = {},
): Promise<Record<string, number>> {
  const rounds = options.rounds ?? 5;
  const durationMs = options.durationMs ?? 400;
  for (const op of Object.values(ops)) await opsPerSecond(op, options.warmupMs ?? 200);
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, op] of Object.entries(ops)) samples[name]!.push(await opsPerSecond(op, durationMs));
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0–100) of `values`, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Formats rows as an aligned plain-text table (also valid Markdown). */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...cells.slice(1).map(line)].join('\n');
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

/** "PASS"/"FAIL" against a target, for the printed verdict lines. */
export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'FAIL';
}
