import { quoteIdent, type ForeignKeyModel, type TableModel } from '@liteshift/shared';

/**
 * Count and orphan queries, derived from the schema model. SQLite and PostgreSQL share the
 * syntax used here; `from` qualifies table names for the side that needs it.
 */
export function countSql(from: (table: string) => string, table: TableModel): string {
  return `SELECT count(*) AS n FROM ${from(table.name)}`;
}

export function orphanSql(from: (table: string) => string, table: TableModel, fk: ForeignKeyModel): string {
  const notNull = fk.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  const match = fk.columns.map((c, i) => `p.${quoteIdent(fk.refColumns[i]!)} = c.${quoteIdent(c)}`).join(' AND ');
  return `SELECT count(*) AS n FROM ${from(table.name)} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${from(fk.refTable)} p WHERE ${match})`;
}

export function describeForeignKey(table: TableModel, fk: ForeignKeyModel): string {
  return `${table.name}(${fk.columns.join(', ')}) → ${fk.refTable}(${fk.refColumns.join(', ')})`;
}
