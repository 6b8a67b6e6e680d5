import { CompiledQuery } from 'kysely';
import type { StoreDialect } from './table-names';

/** One row of a guarded update: its key, the value its guard column must still hold, its new values. */
export interface GuardedRow {
  readonly key: unknown;
  readonly guard: unknown;
  /** In the order of {@link GuardedUpdate.columns}. */
  readonly values: readonly unknown[];
}

/** What a guarded update writes. Every name is tokenvault's own, checked identifier. */
export interface GuardedUpdate {
  readonly dialect: StoreDialect;
  /** The table, quoted and qualified as it goes into SQL. */
  readonly table: string;
  /** The key column and the guard column (a version, or the value being replaced). */
  readonly key: string;
  readonly guard: string;
  /** The columns set. */
  readonly columns: readonly string[];
  /**
   * PostgreSQL types of the key, the guard and each column (`text`, `bigint`), so that a parameter is
   * never left to inference; SQLite needs none.
   */
  readonly types?: { readonly key: string; readonly guard: string; readonly columns: readonly string[] };
}

/**
 * Many rows in one statement, each written only where its guard still holds, exactly as a one-row
 * `UPDATE … WHERE key = ? AND guard = ?` would:
 *
 *   WITH v(k, g, c0, c1, …) AS (VALUES (?, ?, ?, …), …)
 *   UPDATE <table> AS t SET <column0> = v.c0, … FROM v WHERE t.<key> = v.k AND t.<guard> = v.g
 *   RETURNING <key> AS k
 *
 * The answer's rows are the keys written. Group commit (PostgreSQL compare-and-sets) and rekey (both
 * dialects) write with it. Every value is a bound parameter.
 *
 * @example
 * const query = guardedUpdateQuery({ dialect: 'sqlite', table: '"tv_clients"', key: 'id', guard: 'client_secret', columns: ['client_secret'] }, rows);
 * const written = new Set((await db.executeQuery<{ k: string }>(query)).rows.map((r) => r.k));
 */
export function guardedUpdateQuery(spec: GuardedUpdate, rows: readonly GuardedRow[]): CompiledQuery<{ k: unknown }> {
  const postgres = spec.dialect === 'postgres';
  const types = postgres ? spec.types : undefined;
  const q = (name: string) => `"${name}"`;
  const parameters: unknown[] = [];
  const param = (value: unknown, type: string | undefined) => {
    parameters.push(value);
    if (!postgres) return '?';
    return type === undefined ? `$${parameters.length}` : `$${parameters.length}::${type}`;
  };
  const tuples = rows.map(
    (row) =>
      `(${[param(row.key, types?.key), param(row.guard, types?.guard), ...spec.columns.map((_, i) => param(row.values[i], types?.columns[i]))].join(', ')})`,
  );
  const names = ['k', 'g', ...spec.columns.map((_, i) => `c${i}`)];
  const text =
    `with v(${names.join(', ')}) as (values ${tuples.join(', ')}) ` +
    `update ${spec.table} as t set ${spec.columns.map((c, i) => `${q(c)} = v.c${i}`).join(', ')} from v ` +
    `where t.${q(spec.key)} = v.k and t.${q(spec.guard)} = v.g ` +
    // SQLite's RETURNING takes the target's own columns unqualified.
    `returning ${postgres ? `t.${q(spec.key)}` : q(spec.key)} as k`;
  return CompiledQuery.raw(text, parameters) as CompiledQuery<{ k: unknown }>;
}
