import type { ColumnModel, TableModel } from '../schema/model.js';
import { quoteIdent } from '../schema/identifiers.js';
import { extractChecks } from '../schema/checks.js';

/**
 * SQLite DDL derived from the schema model, for the way back into a new file: each table
 * as the application declared it (declared types, key, NOT NULL, DEFAULT, UNIQUE, CHECK,
 * foreign keys, WITHOUT ROWID) and its indexes. Names are SQLite's, always quoted. The
 * synthetic rowid key is SQLite's own rowid: it is written, never declared.
 *
 * The model comes from a topic (checked by schema/trusted-model.ts, which makes its
 * PostgreSQL SQL again): the SQL text it carries for SQLite (a declared type, a default, a
 * CHECK) is refused unless it is one type name or one expression, so that no model can
 * slip a statement or a clause into the DDL.
 */

/** A type name as SQLite takes it: words, and at most two signed numbers (or words) in parentheses. */
const DECLARED_TYPE = /^[A-Za-z_][A-Za-z0-9_ ]*(\(\s*[+-]?\w+\s*(,\s*[+-]?\w+\s*)?\))?$/;

/** True when `text` is one whole SQL expression (parsed as a CHECK's body, it is all of it). */
function oneExpression(text: string): boolean {
  const [again, ...more] = extractChecks(`CHECK (${text})`, []);
  return again !== undefined && more.length === 0 && again.sqliteSql === text.trim();
}

function refuse(table: TableModel, what: string, text: string): never {
  throw new Error(`table ${table.name}: ${what} ${JSON.stringify(text)} is not one SQLite ${what.endsWith('type') ? 'type name' : 'expression'}`);
}

function columnDefinition(table: TableModel, column: ColumnModel): string {
  let sql = quoteIdent(column.name);
  if (column.declaredType) {
    if (!DECLARED_TYPE.test(column.declaredType.trim())) refuse(table, `column ${column.name}'s type`, column.declaredType);
    sql += ` ${column.declaredType}`;
  }
  // A rowid alias must be declared on the column itself, as exactly INTEGER PRIMARY KEY.
  if (column.identity && table.key.length === 1 && table.key[0] === column.name) sql += ' PRIMARY KEY';
  if (column.notNull && !column.identity) sql += ' NOT NULL';
  if (column.sqliteDefault !== null) {
    if (!oneExpression(column.sqliteDefault)) refuse(table, `column ${column.name}'s default expression`, column.sqliteDefault);
    sql += ` DEFAULT (${column.sqliteDefault})`;
  }
  return sql;
}

export function declaredColumns(table: TableModel): ColumnModel[] {
  return table.columns.filter((c) => !c.synthetic);
}

export function sqliteCreateTableSql(table: TableModel): string {
  const parts = declaredColumns(table).map((c) => columnDefinition(table, c));
  const alias = table.columns.some((c) => c.identity);
  if (!table.keyIsRowid && !alias) parts.push(`PRIMARY KEY (${table.key.map(quoteIdent).join(', ')})`);
  for (const index of table.indexes) if (index.origin === 'u') parts.push(`UNIQUE (${index.columns.map(quoteIdent).join(', ')})`);
  for (const check of table.checks) {
    if (!oneExpression(check.sqliteSql)) refuse(table, 'CHECK expression', check.sqliteSql);
    parts.push(`CHECK (${check.sqliteSql})`);
  }
  for (const fk of table.foreignKeys) {
    const deferrable = fk.deferrable ? ` DEFERRABLE INITIALLY ${fk.initiallyDeferred === false ? 'IMMEDIATE' : 'DEFERRED'}` : '';
    const refColumns = fk.refColumns.length ? ` (${fk.refColumns.map(quoteIdent).join(', ')})` : '';
    parts.push(
      `FOREIGN KEY (${fk.columns.map(quoteIdent).join(', ')}) REFERENCES ${quoteIdent(fk.refTable)}${refColumns} ON UPDATE ${fk.onUpdate} ON DELETE ${fk.onDelete}${deferrable}`,
    );
  }
  return `CREATE TABLE ${quoteIdent(table.name)} (\n  ${parts.join(',\n  ')}\n)${table.withoutRowid ? ' WITHOUT ROWID' : ''}`;
}

export function sqliteCreateIndexSql(table: TableModel): string[] {
  return table.indexes
    .filter((index) => index.origin === 'c')
    .map((index) => `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(index.name)} ON ${quoteIdent(table.name)} (${index.columns.map(quoteIdent).join(', ')})`);
}

/**
 * A column PostgreSQL gained after the switch, added to an existing table. SQLite adds a
 * NOT NULL column only with a default: without one it is added nullable, and says so.
 */
export function sqliteAddColumnSql(table: TableModel, column: ColumnModel): { sql: string; nullable: boolean } {
  const relaxed = column.notNull && column.sqliteDefault === null;
  const definition = columnDefinition(table, { ...column, identity: false, notNull: column.notNull && !relaxed });
  return { sql: `ALTER TABLE ${quoteIdent(table.name)} ADD COLUMN ${definition}`, nullable: relaxed };
}
