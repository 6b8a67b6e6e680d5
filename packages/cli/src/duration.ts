/**
 * Durations as people type and read them: `90s`, `2m`, `1h30m` in; `14 min`, `2 h 5 min` out.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Parses a duration made of number-and-unit parts (`ms`, `s`, `m`, `h`, `d`), or `0`. Returns
 * milliseconds, or undefined when `text` is not a duration.
 *
 * @example
 * parseDuration('2m')    // 120_000
 * parseDuration('1h30m') // 5_400_000
 * parseDuration('2')     // undefined: a unit is required
 */
export function parseDuration(text: string): number | undefined {
  const input = text.trim();
  if (input === '0') return 0;
  if (input === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  let at = 0;
  while (at < input.length) {
    PART.lastIndex = at;
    const match = PART.exec(input);
    if (match === null) return undefined;
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    at = PART.lastIndex;
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/**
 * A duration rounded to what a person needs: seconds under two minutes, minutes under two hours,
 * then hours and minutes, then days.
 *
 * @example
 * formatDuration(14 * 60_000 + 10_000) // '14 min'
 * formatDuration(45_000)               // '45 s'
 */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${Math.round(abs)} ms`;
  if (abs < 120_000) return `${Math.round(abs / 1_000)} s`;
  if (abs < 7_200_000) return `${Math.round(abs / 60_000)} min`;
  if (abs < 172_800_000) {
    const hours = Math.floor(abs / 3_600_000);
    const minutes = Math.round((abs - hours * 3_600_000) / 60_000);
    return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
  }
  return `${Math.round(abs / 86_400_000)} d`;
}

/**
 * A moment relative to `now`: `in 14 min` or `3 min ago`.
 *
 * @example
 * formatRelative(now + 840_000, now) // 'in 14 min'
 */
export function formatRelative(at: number, now: number): string {
  return at >= now ? `in ${formatDuration(at - now)}` : `${formatDuration(now - at)} ago`;
}

/**
 * Seconds with one decimal, for elapsed wall-clock time.
 *
 * @example
 * formatSeconds(1234) // '1.2 s'
 */
export function formatSeconds(ms: number): string {
  return `${(ms / 1_000).toFixed(1)} s`;
}
