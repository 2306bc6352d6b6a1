import {
  postgresError,
  qualified,
  quoteIdent,
  type PgClient,
  type SchemaModel,
  type SqliteDatabase,
  type TableModel,
} from '@liteshift/shared';
import { countSql, describeForeignKey, orphanSql } from './source-queries.js';
import { judge, type TableReport, type VerifyReport } from './report.js';
import { diffTableRows } from './row-diff.js';

export interface VerifyOptions {
  db: SqliteDatabase;
  model: SchemaModel;
  pg: PgClient;
  databaseUrl: string;
  targetSchema: string;
}

/**
 * Reconciles SQLite and PostgreSQL: row counts per table, every row compared in key order,
 * foreign-key orphans on both sides, and the rows the loader had to reject. The verdict is READY only when nothing
 * differs.
 */
export async function verify(options: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const { db, model, pg, targetSchema } = options;
  const sqliteFrom = (t: string) => `main.${quoteIdent(t)}`;
  const pgFrom = (t: string) => qualified(targetSchema, t);
  try {
    const existing = new Set(
      (await pg.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [targetSchema])).rows.map(
        (r) => r.table_name,
      ),
    );
    const rejects = await rejectCounts(pg);
    const loaded = await loadedModels(pg);
    const tables: TableReport[] = [];
    for (const sourceTable of model.tables) {
      // Values are compared with the types the loader converted them to.
      const table = loaded.get(sourceTable.name) ?? sourceTable;
      const sourceRows = Number((db.prepare(countSql(sqliteFrom, table)).get() as { n: bigint }).n);
      const present = existing.has(table.name);
      const targetRows = present ? Number((await pg.query<{ n: string }>(countSql(pgFrom, table))).rows[0]!.n) : null;
      const orphans = [];
      for (const fk of table.foreignKeys) {
        if (fk.refColumns.length === 0) continue;
        const source = Number((db.prepare(orphanSql(sqliteFrom, table, fk)).get() as { n: bigint }).n);
        const target = present && existing.has(fk.refTable) ? Number((await pg.query<{ n: string }>(orphanSql(pgFrom, table, fk))).rows[0]!.n) : 0;
        orphans.push({ foreignKey: describeForeignKey(table, fk), source, target });
      }
      const report: TableReport = { table: table.name, sourceRows, targetRows, orphans, rejects: rejects.get(table.name) ?? 0 };
      if (present) {
        const diff = await diffTableRows(db, pg, targetSchema, table, { limit: 20 });
        report.content = { missing: diff.missing, extra: diff.extra, changed: diff.changed, differences: diff.differences, ranges: diff.ranges };
      }
      tables.push(report);
    }
    const { verdict, reasons, warnings } = judge(tables);
    return { verdict, reasons, warnings, tables, checkedAt: new Date().toISOString(), durationMs: Date.now() - started };
  } catch (error) {
    throw postgresError(error, options.databaseUrl, 'verify');
  }
}

async function rejectCounts(pg: PgClient): Promise<Map<string, number>> {
  const exists = await pg.query("SELECT to_regclass('liteshift.rejects') IS NOT NULL AS present");
  if (!exists.rows[0].present) return new Map();
  const result = await pg.query<{ table_name: string; n: string }>('SELECT table_name, count(*) AS n FROM liteshift.rejects GROUP BY table_name');
  return new Map(result.rows.map((r) => [r.table_name, Number(r.n)]));
}

/** The table models the loader built the target from (liteshift.tables), by table name. */
export async function loadedModels(pg: PgClient): Promise<Map<string, TableModel>> {
  const exists = await pg.query("SELECT to_regclass('liteshift.tables') IS NOT NULL AS present");
  if (!exists.rows[0].present) return new Map();
  const result = await pg.query<{ table_name: string; model: TableModel }>('SELECT table_name, model FROM liteshift.tables');
  return new Map(result.rows.map((r) => [r.table_name, r.model]));
}
