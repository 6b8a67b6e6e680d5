/**
 * Plain-text tables for terminals: left-aligned columns, two spaces apart, a header row, cells cut
 * to a maximum width with an ellipsis so one long error message cannot push the rest off screen.
 */

/** Options of {@link renderTable}. */
export interface TableOptions {
  /** Widest a cell may be, in characters (per column, by header). Default: no limit. */
  readonly maxWidth?: Readonly<Record<string, number>>;
}

/**
 * Renders `rows` under `headers`, one line each, without a trailing newline.
 *
 * @example
 * renderTable(['GRANT', 'STATE'], [['alice', 'authorized']])
 * // GRANT  STATE
 * // alice  authorized
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const cut = (text: string, column: number): string => {
    const limit = options.maxWidth?.[headers[column] ?? ''];
    return limit !== undefined && text.length > limit ? `${text.slice(0, Math.max(1, limit - 1))}…` : text;
  };
  const cells = [headers, ...rows].map((row) => headers.map((_, i) => cut(row[i] ?? '', i)));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] as string).length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
