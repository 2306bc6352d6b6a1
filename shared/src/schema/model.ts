/**
 * The schema model (DESIGN contract 1): one typed description of the source tables from
 * which the PostgreSQL DDL, the Avro schemas and the verifier's queries are all derived.
 * It is plain JSON so it can travel on the schema topic to a loader that never sees the
 * SQLite file.
 */

/** How a value is converted and compared; each maps to one PostgreSQL type. */
export type ValueKind =
  | 'integer'
  | 'real'
  | 'numeric'
  | 'text'
  | 'blob'
  | 'boolean'
  | 'timestamp'
  | 'timestamptz'
  | 'date'
  | 'time';

export type StorageClass = 'null' | 'integer' | 'real' | 'text' | 'blob';

export interface ColumnProfile {
  rows: number;
  /** Non-null values that do not fit the declared type at first sight (the cheap first pass). */
  misfits: number;
  /** False when the first pass found nothing to look into: the class counts below are then not counted. */
  detailed: boolean;
  nulls: number;
  integers: number;
  reals: number;
  texts: number;
  blobs: number;
  minInteger?: string;
  maxInteger?: string;
  /** Text values that do not read as the declared kind (date, boolean, number). */
  textMisfits?: number;
  /** Text values carrying a time zone (Z or ±hh:mm). */
  textWithZone?: number;
  /** Numbers that would lose digits in the declared numeric(p,s). */
  numericMisfits?: number;
  /** Non-null values outside the boolean vocabulary. */
  booleanMisfits?: number;
}

export interface ColumnModel {
  name: string;
  /** As written in CREATE TABLE; '' when the column has no declared type. */
  declaredType: string;
  notNull: boolean;
  /** The DEFAULT expression as SQLite stores it. */
  sqliteDefault: string | null;
  kind: ValueKind;
  /** Full PostgreSQL type, e.g. `bigint`, `numeric(10,2)`. */
  pgType: string;
  pgDefault: string | null;
  /** INTEGER PRIMARY KEY (rowid alias): identity in PostgreSQL, moved past the largest key. */
  identity: boolean;
  /** Synthetic key for tables without a declared primary key: read from SQLite's rowid. */
  synthetic?: 'rowid';
  /** Why this PostgreSQL type was chosen (shown by `liteshift plan`). */
  reason: string;
  profile?: ColumnProfile;
}

export interface ForeignKeyModel {
  columns: string[];
  refTable: string;
  /** Empty in SQLite means "the parent's primary key"; resolved during introspection. */
  refColumns: string[];
  onUpdate: string;
  onDelete: string;
  deferrable: boolean;
}

export interface IndexModel {
  name: string;
  unique: boolean;
  columns: string[];
  /** `c` CREATE INDEX, `u` UNIQUE constraint. */
  origin: 'c' | 'u';
}

export interface CheckModel {
  sqliteSql: string;
  /** The same expression with identifiers re-quoted for PostgreSQL, or null if untranslatable. */
  pgSql: string | null;
}

export interface TableModel {
  name: string;
  withoutRowid: boolean;
  columns: ColumnModel[];
  /** Column names of the key that Kafka messages and upserts use, in key order. */
  key: string[];
  /** True when the table has no declared primary key and is keyed by rowid. */
  keyIsRowid: boolean;
  foreignKeys: ForeignKeyModel[];
  indexes: IndexModel[];
  checks: CheckModel[];
  /** Rows when the schema was read (for plans and progress; not a contract). */
  rowCount?: number;
}

export type SkipReason = 'view' | 'virtual-table' | 'shadow-table' | 'internal' | 'trigger';

export interface SkippedObject {
  name: string;
  type: SkipReason;
  reason: string;
}

export interface Notice {
  level: 'info' | 'warn';
  table?: string;
  column?: string;
  message: string;
}

export interface SchemaModel {
  tables: TableModel[];
  skipped: SkippedObject[];
  notices: Notice[];
}

/** Name of the synthetic key column for tables keyed by rowid. */
export const ROWID_COLUMN = 'liteshift_rowid';

export function findTable(model: SchemaModel, name: string): TableModel | undefined {
  return model.tables.find((table) => table.name === name);
}

export function keyColumns(table: TableModel): ColumnModel[] {
  return table.key.map((name) => {
    const column = table.columns.find((c) => c.name === name);
    if (!column) throw new Error(`key column ${name} missing from table ${table.name}`);
    return column;
  });
}

/** A name for SQLite's rowid that no column of the table shadows (a column may be called rowid). */
export function rowidName(table: TableModel): string | null {
  const names = new Set(table.columns.filter((c) => !c.synthetic).map((c) => c.name.toLowerCase()));
  return ['rowid', '_rowid_', 'oid'].find((n) => !names.has(n)) ?? null;
}
