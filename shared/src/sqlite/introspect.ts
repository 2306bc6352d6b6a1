import type { ColumnModel, ForeignKeyModel, IndexModel, Notice, SchemaModel, SkippedObject, TableModel } from '../schema/model.js';
import { ROWID_COLUMN } from '../schema/model.js';
import { quoteIdent } from '../schema/identifiers.js';
import { chooseType } from '../schema/type-mapping.js';
import { translateDefault } from '../schema/defaults.js';
import { extractChecks } from '../schema/checks.js';
import { profileTable, type ProfiledColumn } from './profile.js';
import type { SqliteDatabase } from './open.js';

/** Tables liteshift itself keeps in the SQLite file (changelog, state). */
export const INTERNAL_PREFIX = '_liteshift_';

interface TableListRow {
  schema: string;
  name: string;
  type: 'table' | 'view' | 'shadow' | 'virtual';
  wr: bigint;
}
interface XInfoRow {
  cid: bigint;
  name: string;
  type: string;
  notnull: bigint;
  dflt_value: string | null;
  pk: bigint;
  hidden: bigint;
}
interface FkRow {
  id: bigint;
  seq: bigint;
  table: string;
  from: string;
  to: string | null;
  on_update: string;
  on_delete: string;
}
interface IndexListRow {
  name: string;
  unique: bigint;
  origin: 'c' | 'u' | 'pk';
  partial: bigint;
}
interface IndexXInfoRow {
  seqno: bigint;
  cid: bigint;
  name: string | null;
  key: bigint;
}

export interface ReadSchemaOptions {
  /** Scan the data to choose types that hold every stored value (default true). */
  profile?: boolean;
  /** Count rows per table (default true). */
  count?: boolean;
}

/** Reads the SQLite schema into the schema model (DESIGN contract 1). */
export function readSchema(db: SqliteDatabase, options: ReadSchemaOptions = {}): SchemaModel {
  const notices: Notice[] = [];
  const skipped: SkippedObject[] = [];
  const tables: TableModel[] = [];
  const list = db.prepare("PRAGMA main.table_list").all() as TableListRow[];
  const createSql = new Map<string, string>(
    (db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table'").all() as { name: string; sql: string | null }[]).map(
      (r) => [r.name, r.sql ?? ''],
    ),
  );

  for (const entry of list.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.schema !== 'main') continue;
    if (entry.name.startsWith('sqlite_') || entry.name.startsWith(INTERNAL_PREFIX)) continue;
    if (entry.type === 'view') {
      skipped.push({ name: entry.name, type: 'view', reason: 'views are not migrated (recreate them on PostgreSQL)' });
      continue;
    }
    if (entry.type === 'virtual') {
      skipped.push({ name: entry.name, type: 'virtual-table', reason: 'virtual tables (FTS, R*Tree, …) cannot be captured' });
      continue;
    }
    if (entry.type === 'shadow') {
      skipped.push({ name: entry.name, type: 'shadow-table', reason: 'internal storage of a virtual table' });
      continue;
    }
    tables.push(readTable(db, entry.name, entry.wr !== 0n, createSql.get(entry.name) ?? '', options, notices));
  }
  const triggers = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger'").all() as { name: string }[];
  for (const trigger of triggers) {
    if (trigger.name.startsWith(INTERNAL_PREFIX)) continue;
    skipped.push({ name: trigger.name, type: 'trigger', reason: 'application triggers are not migrated (their effects are)' });
  }
  resolveForeignKeyTargets(tables, notices);
  return { tables, skipped, notices };
}

function readTable(
  db: SqliteDatabase,
  name: string,
  withoutRowid: boolean,
  sql: string,
  options: ReadSchemaOptions,
  notices: Notice[],
): TableModel {
  const q = quoteIdent(name);
  const info = db.prepare(`PRAGMA main.table_xinfo(${q})`).all() as XInfoRow[];
  const pk = info.filter((c) => c.pk > 0n).sort((a, b) => Number(a.pk - b.pk));
  const rowidAlias = !withoutRowid && pk.length === 1 && pk[0]!.type.toUpperCase() === 'INTEGER' ? pk[0]!.name : null;
  const keyIsRowid = pk.length === 0;

  for (const c of info) {
    if (c.hidden === 2n || c.hidden === 3n) {
      notices.push({ level: 'info', table: name, column: c.name, message: 'generated column: copied as plain values' });
    }
  }
  const sources: ProfiledColumn[] = info.filter((c) => c.hidden !== 1n).map((c) => ({ name: c.name, declaredType: c.type }));
  if (keyIsRowid) sources.push({ name: ROWID_COLUMN, declaredType: 'INTEGER', expr: 'rowid' });
  const profiles = options.profile === false ? new Map() : profileTable(db, name, sources);

  const columns: ColumnModel[] = info
    .filter((c) => c.hidden !== 1n)
    .map((c) => {
      const profile = profiles.get(c.name);
      const isAlias = c.name === rowidAlias;
      const type = chooseType(c.type, profile, { rowidAlias: isAlias });
      const where = { table: name, column: c.name };
      return {
        name: c.name,
        declaredType: c.type,
        // SQLite lets a non-integer primary key hold NULL; PostgreSQL never does.
        notNull: c.notnull !== 0n || c.pk > 0n,
        sqliteDefault: c.dflt_value,
        kind: type.kind,
        pgType: type.pgType,
        pgDefault: isAlias ? null : translateDefault(c.dflt_value, type.kind, where, notices),
        identity: isAlias,
        reason: type.reason,
        ...(profile ? { profile } : {}),
      };
    });
  if (keyIsRowid) {
    if (columns.some((c) => c.name === ROWID_COLUMN)) {
      throw new Error(`table ${name} already has a column named ${ROWID_COLUMN}`);
    }
    columns.push({
      name: ROWID_COLUMN,
      declaredType: '',
      notNull: true,
      sqliteDefault: null,
      kind: 'integer',
      pgType: 'bigint',
      pgDefault: null,
      identity: false,
      synthetic: 'rowid',
      reason: 'no declared primary key: keyed by SQLite rowid',
      ...(profiles.get(ROWID_COLUMN) ? { profile: profiles.get(ROWID_COLUMN) } : {}),
    });
    notices.push({ level: 'info', table: name, message: `no primary key: keyed by rowid, kept in column ${ROWID_COLUMN}` });
  }

  const foreignKeys = readForeignKeys(db, name, sql);
  const indexes = readIndexes(db, name, notices);
  const checks = extractChecks(sql, columns.map((c) => c.name));
  for (const check of checks) {
    if (check.pgSql === null) notices.push({ level: 'warn', table: name, message: `CHECK (${check.sqliteSql}) is not portable: skipped` });
  }
  const rowCount =
    options.count === false
      ? undefined
      : profiles.size > 0
        ? profiles.values().next().value!.rows
        : Number((db.prepare(`SELECT count(*) AS n FROM ${q}`).get() as { n: bigint }).n);
  return {
    name,
    withoutRowid,
    columns,
    key: keyIsRowid ? [ROWID_COLUMN] : pk.map((c) => c.name),
    keyIsRowid,
    foreignKeys,
    indexes,
    checks,
    ...(rowCount === undefined ? {} : { rowCount }),
  };
}

function readForeignKeys(db: SqliteDatabase, table: string, sql: string): ForeignKeyModel[] {
  const rows = db.prepare(`PRAGMA main.foreign_key_list(${quoteIdent(table)})`).all() as FkRow[];
  const byId = new Map<bigint, FkRow[]>();
  for (const row of rows) byId.set(row.id, [...(byId.get(row.id) ?? []), row]);
  const deferrable = /\bDEFERRABLE\b/i.test(sql) && !/\bNOT\s+DEFERRABLE\b/i.test(sql);
  return [...byId.values()]
    .map((parts) => parts.sort((a, b) => Number(a.seq - b.seq)))
    .map((parts) => ({
      columns: parts.map((p) => p.from),
      refTable: parts[0]!.table,
      refColumns: parts.every((p) => p.to !== null) ? parts.map((p) => p.to!) : [],
      onUpdate: parts[0]!.on_update,
      onDelete: parts[0]!.on_delete,
      deferrable,
    }))
    .reverse();
}

function readIndexes(db: SqliteDatabase, table: string, notices: Notice[]): IndexModel[] {
  const list = db.prepare(`PRAGMA main.index_list(${quoteIdent(table)})`).all() as IndexListRow[];
  const out: IndexModel[] = [];
  for (const index of list) {
    if (index.origin === 'pk') continue;
    const cols = (db.prepare(`PRAGMA main.index_xinfo(${quoteIdent(index.name)})`).all() as IndexXInfoRow[])
      .filter((c) => c.key !== 0n)
      .sort((a, b) => Number(a.seqno - b.seqno));
    if (index.partial !== 0n || cols.some((c) => c.cid < 0n || c.name === null)) {
      notices.push({ level: 'warn', table, message: `index ${index.name} uses an expression or a WHERE clause: not created` });
      continue;
    }
    out.push({ name: index.name, unique: index.unique !== 0n, columns: cols.map((c) => c.name!), origin: index.origin });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A FOREIGN KEY without a column list points at the parent's primary key. */
function resolveForeignKeyTargets(tables: TableModel[], notices: Notice[]): void {
  const byName = new Map(tables.map((t) => [t.name, t]));
  for (const table of tables) {
    table.foreignKeys = table.foreignKeys.filter((fk) => {
      const parent = byName.get(fk.refTable) ?? [...byName.values()].find((t) => t.name.toLowerCase() === fk.refTable.toLowerCase());
      if (!parent) {
        notices.push({ level: 'warn', table: table.name, message: `foreign key to missing table ${fk.refTable}: skipped` });
        return false;
      }
      fk.refTable = parent.name;
      // SQLite matches identifiers without regard to case; PostgreSQL's quoted ones do not.
      fk.columns = fk.columns.map((c) => canonicalName(table, c));
      fk.refColumns = fk.refColumns.length === 0 ? (parent.keyIsRowid ? [] : [...parent.key]) : fk.refColumns.map((c) => canonicalName(parent, c));
      if (fk.refColumns.length !== fk.columns.length) {
        notices.push({ level: 'warn', table: table.name, message: `foreign key to ${parent.name} does not match its key: skipped` });
        return false;
      }
      return true;
    });
  }
}

function canonicalName(table: TableModel, name: string): string {
  return table.columns.find((c) => c.name === name)?.name ?? table.columns.find((c) => c.name.toLowerCase() === name.toLowerCase())?.name ?? name;
}
