import { INTERNAL_PREFIX, foldIdentifier, pgColumnName, pgTableName, quoteIdent, type ExcludedColumn, type PgClient, type SchemaModel, type SqliteDatabase } from '@liteshift/shared';

/**
 * What SQLite holds and PostgreSQL lacks, read from both catalogs rather than from the
 * model the loader applied with: a table or a column that never reached the target (one
 * SQLite could not read, one added since, one dropped there) must keep the verdict from
 * READY, unless the user left it out by name. Tables liteshift leaves out by design
 * (views, virtual tables and their shadow tables, SQLite's own) are not asked for.
 */
export interface Completeness {
  /** Source tables absent from the target, each with why (the reason SQLite could not read it, when that is why). */
  missingTables: { table: string; reason: string }[];
  /** Source columns absent from a target table that exists, by table. */
  missingColumns: Map<string, string[]>;
  /** Left out on purpose (--exclude-table, --exclude-column). */
  excluded: { tables: string[]; columns: ExcludedColumn[] };
}

interface SourceColumn {
  name: string;
  hidden: bigint;
}

export async function checkCompleteness(db: SqliteDatabase, pg: PgClient, targetSchema: string, model: SchemaModel): Promise<Completeness> {
  const excluded = model.excluded ?? { tables: [], columns: [] };
  const leftOutByDesign = new Set(model.skipped.filter((s) => s.type !== 'unreadable').map((s) => s.name));
  const unreadable = new Map(model.skipped.filter((s) => s.type === 'unreadable').map((s) => [s.name, s.reason]));
  const sourceTables = (db.prepare('PRAGMA main.table_list').all() as { schema: string; name: string; type: string }[])
    .filter((t) => t.schema === 'main' && t.type === 'table' && !t.name.startsWith('sqlite_') && !t.name.startsWith(INTERNAL_PREFIX))
    .filter((t) => !leftOutByDesign.has(t.name) && !excluded.tables.includes(t.name))
    .map((t) => t.name)
    .sort();
  const rows = (
    await pg.query<{ table_name: string; column_name: string }>('SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1', [targetSchema])
  ).rows;
  const target = new Map<string, Set<string>>();
  for (const r of rows) target.set(r.table_name, (target.get(r.table_name) ?? new Set()).add(r.column_name));
  // A name arrives as the model named it in PostgreSQL (folded, renamed or shortened), or,
  // for what the model does not know, as SQLite spells it or with A-Z lowered (--fold-identifiers
  // lower); SQLite's names differ by more than ASCII case, so these never point at different objects.
  const known = new Map(model.tables.map((t) => [t.name, t]));
  const columnsOf = (table: string): Set<string> | undefined => {
    const modelled = known.get(table);
    return (modelled && target.get(pgTableName(modelled))) ?? target.get(table) ?? target.get(foldIdentifier(table, 'lower'));
  };
  const has = (columns: Set<string>, table: string, name: string): boolean => {
    const modelled = known.get(table)?.columns.find((c) => c.name === name);
    return (modelled !== undefined && columns.has(pgColumnName(modelled))) || columns.has(name) || columns.has(foldIdentifier(name, 'lower'));
  };

  const out: Completeness = { missingTables: [], missingColumns: new Map(), excluded };
  for (const table of sourceTables) {
    const columns = columnsOf(table);
    if (!columns) {
      // A table of the model missing in the target is reported with its row counts.
      if (!model.tables.some((t) => t.name === table)) {
        out.missingTables.push({ table, reason: unreadable.get(table) ?? 'not in the schema liteshift read' });
      }
      continue;
    }
    const source = (db.prepare(`PRAGMA main.table_xinfo(${quoteIdent(table)})`).all() as SourceColumn[]).filter((c) => c.hidden !== 1n);
    const missing = source
      .map((c) => c.name)
      .filter((c) => !excluded.columns.some((x) => x.table === table && x.column === c))
      .filter((c) => !has(columns, table, c));
    if (missing.length > 0) out.missingColumns.set(table, missing);
  }
  return out;
}

/** The verdict's reasons for what is missing, each with the way out. */
export function completenessReasons(c: Completeness): string[] {
  const reasons = c.missingTables.map(
    ({ table, reason }) => `${table}: in SQLite, not in PostgreSQL (${reason}); leave it out on purpose with --exclude-table ${table}`,
  );
  for (const [table, columns] of c.missingColumns) {
    reasons.push(
      `${table}: column(s) ${columns.join(', ')} in SQLite, not in PostgreSQL (migrate again to add them; leave them out on purpose with ${columns.map((col) => `--exclude-column ${table}.${col}`).join(' ')})`,
    );
  }
  return reasons;
}
