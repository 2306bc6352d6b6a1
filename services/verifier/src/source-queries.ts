import { pgColumnOf, pgTableName, quoteIdent, type ForeignKeyModel, type TableModel } from '@liteshift/shared';

/**
 * Count and orphan queries, derived from the schema model. SQLite and PostgreSQL share the
 * syntax used here; `from` qualifies table names for the side that needs it.
 */
export function countSql(from: (table: string) => string, table: TableModel): string {
  return `SELECT count(*) AS n FROM ${from(table.name)}`;
}

/**
 * The names a side knows the tables and columns by: SQLite's own, or PostgreSQL's (which
 * differ when folded, renamed or too long: schema/pg-names.ts).
 */
export type Side = 'sqlite' | 'postgres';

function names(table: TableModel, fk: ForeignKeyModel, side: Side): { table: string; refTable: string; columns: string[]; refColumns: string[] } {
  if (side === 'sqlite') return { table: table.name, refTable: fk.refTable, columns: fk.columns, refColumns: fk.refColumns };
  return { table: pgTableName(table), refTable: fk.pgRefTable ?? fk.refTable, columns: fk.columns.map((c) => pgColumnOf(table, c)), refColumns: fk.pgRefColumns ?? fk.refColumns };
}

export function orphanSql(from: (table: string) => string, table: TableModel, fk: ForeignKeyModel, side: Side = 'sqlite'): string {
  const n = names(table, fk, side);
  const notNull = n.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  const match = n.columns.map((c, i) => `p.${quoteIdent(n.refColumns[i]!)} = c.${quoteIdent(c)}`).join(' AND ');
  return `SELECT count(*) AS n FROM ${from(n.table)} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${from(n.refTable)} p WHERE ${match})`;
}

export function describeForeignKey(table: TableModel, fk: ForeignKeyModel): string {
  return `${table.name}(${fk.columns.join(', ')}) → ${fk.refTable}(${fk.refColumns.join(', ')})`;
}

/** Keys of the first child rows whose parent is missing (PostgreSQL side), in key order. */
export function orphanKeysSql(from: (table: string) => string, table: TableModel, fk: ForeignKeyModel, limit: number): string {
  const n = names(table, fk, 'postgres');
  const notNull = n.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  const match = n.columns.map((c, i) => `p.${quoteIdent(n.refColumns[i]!)} = c.${quoteIdent(c)}`).join(' AND ');
  const key = table.key.map((k) => `c.${quoteIdent(pgColumnOf(table, k))}`);
  return (
    `SELECT ${key.map((k) => `${k}::text`).join(', ')} FROM ${from(n.table)} c WHERE ${notNull} ` +
    `AND NOT EXISTS (SELECT 1 FROM ${from(n.refTable)} p WHERE ${match}) ORDER BY ${key.join(', ')} LIMIT ${limit}`
  );
}
