import { ReadableCopy, connectPostgres, openSqlite, pgTableName, qualified, readSchema, sqliteTableRef, type MappingOptions } from '@liteshift/shared';
import { diffTableRows, type TableDiff } from '@liteshift/verifier';

export interface TableComparison extends TableDiff {
  /** `SELECT count(*)` on each side, independent of the diff's own counting. */
  sqliteCount: number;
  postgresCount: number;
  /** Set when the table could not be compared at all (e.g. missing in PostgreSQL). */
  error?: string;
}

/**
 * Compares every row and every column of every table of the SQLite file with the
 * PostgreSQL target (`diffTableRows`, both sides streamed in key order), plus plain counts
 * on both sides as a check that the diff really saw every row.
 */
export async function compareAllRows(
  sqlitePath: string,
  databaseUrl: string,
  targetSchema = 'public',
  /** The mapping the migration ran with (--on-misfit, --cast, --fold-identifiers): the same model compares the same way. */
  mapping: MappingOptions = {},
): Promise<TableComparison[]> {
  const db = openSqlite(sqlitePath, { readonly: true });
  // Tables SQLite cannot read here are compared as the pipeline reads them: from their readable copy.
  const copy = await ReadableCopy.attach(db);
  try {
    const model = readSchema(db, mapping);
    const pg = await connectPostgres(databaseUrl, 'liteshift-test-compare');
    try {
      const out: TableComparison[] = [];
      for (const table of model.tables) {
        const sqliteCount = Number((db.prepare(`SELECT count(*) AS n FROM ${sqliteTableRef(table)} NOT INDEXED`).get() as { n: bigint }).n);
        const exists = await pg.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [qualified(targetSchema, pgTableName(table))]);
        if (exists.rows[0]?.t == null) {
          out.push({
            table: table.name, sourceRows: sqliteCount, targetRows: 0, missing: sqliteCount, extra: 0, changed: 0, differences: [], changedColumns: {},
            ranges: { checked: 0, rechecked: 0, bisected: 0, rowsFetched: 0 },
            sqliteCount, postgresCount: 0, error: `table ${qualified(targetSchema, pgTableName(table))} does not exist in PostgreSQL`,
          });
          continue;
        }
        const counted = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified(targetSchema, pgTableName(table))}`);
        const diff = await diffTableRows(db, pg, targetSchema, table, { limit: 20 });
        out.push({ ...diff, sqliteCount, postgresCount: Number(counted.rows[0]!.n) });
      }
      return out;
    } finally {
      await pg.end().catch(() => undefined);
    }
  } finally {
    copy?.close();
    db.close();
  }
}

/** One line per table that differs, with its first differences; '' when none does. */
export function describeDifferences(tables: readonly TableComparison[], perTable = 5): string {
  const lines: string[] = [];
  for (const t of tables) {
    const countsAgree = t.sourceRows === t.sqliteCount && t.targetRows === t.postgresCount;
    if (!t.error && t.missing + t.extra + t.changed === 0 && countsAgree) continue;
    lines.push(
      `${t.table}: ${t.error ? `${t.error}; ` : ''}sqlite ${t.sqliteCount} rows (diff saw ${t.sourceRows}), postgres ${t.postgresCount} rows (diff saw ${t.targetRows}); ` +
        `missing ${t.missing}, extra ${t.extra}, changed ${t.changed}`,
    );
    for (const d of t.differences.slice(0, perTable)) {
      lines.push(`    ${d.kind} key=${JSON.stringify(d.key)}${d.columns ? ` columns=${d.columns.join(',')}` : ''}`);
    }
  }
  return lines.join('\n');
}

/** Fails with a readable list of the first differences when any table differs. */
export function expectNoDifferences(tables: readonly TableComparison[], context = ''): void {
  if (tables.length === 0) throw new Error(`${context ? `${context}: ` : ''}no tables were compared`);
  const report = describeDifferences(tables);
  if (report !== '') throw new Error(`${context ? `${context}: ` : ''}SQLite and PostgreSQL differ:\n${report}`);
}

/** compareAllRows + expectNoDifferences; returns the comparison for further checks. */
export async function expectSameRows(sqlitePath: string, databaseUrl: string, targetSchema = 'public'): Promise<TableComparison[]> {
  const tables = await compareAllRows(sqlitePath, databaseUrl, targetSchema);
  expectNoDifferences(tables, sqlitePath);
  return tables;
}
