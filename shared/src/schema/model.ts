/**
 * The schema model (DESIGN contract 1): one typed description of the source tables from
 * which the PostgreSQL DDL, the Avro schemas and the verifier's queries are all derived.
 * It is plain JSON so it can travel on the schema topic to a loader that never sees the
 * SQLite file.
 */
import { quoteIdent } from './identifiers.js';
import type { CastRule } from './casts.js';
import type { BuiltinCollation } from './collations.js';
import type { RenameRule } from './pg-names.js';
import type { ExcludedColumn } from './exclusions.js';
import type { MisfitPolicy, TimestampMode } from './type-mapping.js';

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

export interface ColumnProfile {
  rows: number;
  /**
   * Non-null values the cheap first pass could not vouch for: values of another storage
   * class or shape than the declared type, and text PostgreSQL text cannot hold.
   */
  misfits: number;
  /** False when the first pass found nothing to look into: the class counts below are then not counted. */
  detailed: boolean;
  nulls: number;
  integers: number;
  reals: number;
  texts: number;
  blobs: number;
  /** Smallest and largest integer stored, as decimal text (they may exceed 2^53). */
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
  /** Text values PostgreSQL text cannot hold: a NUL byte, or bytes that are not UTF-8. */
  textNotPg?: number;
  /** Blobs that are not NUL-free UTF-8, so no text column can hold them. */
  blobsNotText?: number;
  /** Date and time columns: integers that are not whole days, counted as epoch seconds and as milliseconds. */
  integersOffDay?: number;
  integersOffDayMs?: number;
  /** Date and time columns: integers that read as YYYYMMDD (20240131), which are not epochs. */
  integersLikeYmd?: number;
  /** Values the loader will refuse with the chosen type (--on-misfit reject, --cast): counted by the plan. */
  rejects?: number;
}

export interface ColumnModel {
  /** The name in SQLite, exactly as declared. */
  name: string;
  /** The name in PostgreSQL when it differs (--fold-identifiers, --rename, or too long: schema/pg-names.ts); see pgColumnName. */
  pgName?: string;
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
  /**
   * Integers in a date/time column are Unix epochs in this unit, converted by the loader;
   * they travel through Kafka as stored.
   */
  epoch?: 'seconds' | 'milliseconds';
  /**
   * Read as `CAST(x AS BLOB)`: the column holds text that is not UTF-8, which the SQLite
   * driver would otherwise hand over with U+FFFD in place of the bytes.
   */
  readAs?: 'blob';
  /**
   * The column's declared collation when it is NOCASE (ASCII letters compare without regard
   * to case) or RTRIM (trailing spaces are ignored); absent for BINARY. What a CHECK's
   * comparison with the column means depends on it (schema/checks.ts).
   */
  collation?: BuiltinCollation;
  /** A collation only the application registers: liteshift compares this column as BINARY. */
  foreignCollation?: string;
  /**
   * A timestamptz column that SQLite holds as text without a UTC offset ('2026-01-02
   * 03:04:05.123456', as ORMs write UTC) or as epochs: that clock is read as UTC
   * (--timestamps utc or convert). Values with an offset keep their instant. What becomes of
   * a target column an earlier run made `timestamp` (the default before): `adopt` keeps the
   * table's such columns timestamp, `convert` alters them to timestamptz, read as UTC.
   */
  naiveUtc?: 'adopt' | 'convert';
  /** How the application wrote the column's dates, times or booleans as text: the way back writes them alike. */
  storedForm?: StoredForm;
  profile?: ColumnProfile;
}

/**
 * The text form of a date/time or boolean column, read from what the application stored
 * (a sample of its values). PostgreSQL keeps the value, not its spelling: `export-sqlite`
 * writes each value back in this form, so that the application's own parsing and its
 * text comparisons (`WHERE due_date < '2025-01-01'`) see what they saw before.
 */
export type StoredForm = TemporalForm | BooleanForm;

export interface TemporalForm {
  type: 'temporal';
  /** Between date and time: ' ' as SQLite's datetime() writes, 'T' as ISO-8601 in JavaScript or Python. */
  separator: ' ' | 'T';
  /** Only 'YYYY-MM-DD', in a date-time column (a value with a time of day still gets one). */
  dateOnly: boolean;
  /** ':SS' written; false for 'HH:MM'. */
  seconds: boolean;
  /** Digits after the seconds (at most 6: microseconds, as PostgreSQL keeps them); 0 when none were stored. */
  fractionDigits: number;
  /** Those digits written even when they are all zero (JavaScript's toISOString), or only when not (Python's isoformat). */
  fractionAlways: boolean;
  /** The zone written after a UTC time: '' (naive text, read as UTC), 'Z', '+00:00', '+0000' or '+00'. */
  zone: '' | 'Z' | '+00:00' | '+0000' | '+00';
}

export interface BooleanForm {
  type: 'boolean';
  /** How true and false were stored: the integers 1 and 0, or these spellings ('t'/'f', 'true'/'false', …). */
  true: string | 1;
  false: string | 0;
}

export interface ForeignKeyModel {
  columns: string[];
  refTable: string;
  /** Empty in SQLite means "the parent's primary key"; resolved during introspection. */
  refColumns: string[];
  /** The parent's PostgreSQL names when they differ from SQLite's (schema/pg-names.ts). */
  pgRefTable?: string;
  pgRefColumns?: string[];
  onUpdate: string;
  onDelete: string;
  deferrable: boolean;
  /** DEFERRABLE INITIALLY DEFERRED (checked at commit); a DEFERRABLE alone is checked per statement. */
  initiallyDeferred?: boolean;
}

export interface IndexModel {
  name: string;
  /** The name in PostgreSQL when it differs (--fold-identifiers). */
  pgName?: string;
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
  /** The name in SQLite, exactly as declared. */
  name: string;
  /** The name in PostgreSQL when it differs (--fold-identifiers, --rename, or too long: schema/pg-names.ts); see pgTableName. */
  pgName?: string;
  withoutRowid: boolean;
  columns: ColumnModel[];
  /** Column names of the key that Kafka messages and upserts use, in key order. */
  key: string[];
  /** True when the table is keyed by rowid: it has no declared primary key, or one that held NULL (declaredKey). */
  keyIsRowid: boolean;
  /**
   * The declared PRIMARY KEY of a rowid table that held NULL when the schema was read (SQLite
   * allows it in a key that is no INTEGER PRIMARY KEY; PostgreSQL's key never does). The
   * table is keyed by rowid instead; these columns keep their values, nullable, under a
   * UNIQUE index (NULLs are distinct there, as in SQLite), which foreign keys can reference.
   */
  declaredKey?: string[];
  foreignKeys: ForeignKeyModel[];
  indexes: IndexModel[];
  checks: CheckModel[];
  /** Rows when the schema was read (for plans and progress; not a contract). */
  rowCount?: number;
  /**
   * How many times the extractor re-synchronised the table (sent every row again after the
   * application rebuilt it, or after planning its types anew); absent before the first. Part
   * of the writer schema: the loader knows the rows of the newest epoch by it.
   */
  resyncEpoch?: number;
  /**
   * SQLite cannot read the table here (a WITHOUT ROWID key whose collation only the
   * application registers): liteshift reads it from a private copy of it whose key is
   * BINARY (sqlite/readable-copy.ts), attached to the connection; see sqliteTableRef.
   */
  readFromCopy?: true;
}

export type SkipReason = 'view' | 'virtual-table' | 'shadow-table' | 'internal' | 'trigger' | 'unreadable';

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
  /** The choices the model was read with; reading the schema again (a table added while following) reuses them. */
  mapping?: MappingOptions;
  /** What the user left out on purpose (--exclude-table, --exclude-column), by SQLite's names: the verdict lists it. */
  excluded?: { tables: string[]; columns: ExcludedColumn[] };
}

/** The choices that shape the target: the settings --on-misfit, --cast, --fold-identifiers and --rename. */
export interface MappingOptions {
  /** Widen a column to a type that holds every stored value (default), or keep the declared type and reject the rows that do not fit. */
  onMisfit?: MisfitPolicy;
  /** PostgreSQL types chosen by the user per column (`--cast table.column=type`). */
  casts?: readonly CastRule[];
  /** PostgreSQL names: SQLite's exactly (default), or with ASCII letters lowered. */
  foldIdentifiers?: IdentifierFolding;
  /** PostgreSQL names chosen by the user per table or column (`--rename table[.column]=name`). */
  renames?: readonly RenameRule[];
  /** DATETIME/TIMESTAMP text without a UTC offset: timestamptz read as UTC (`utc`, default; `convert` also alters an earlier run's timestamp columns), or `naive` timestamp. */
  timestamps?: TimestampMode;
  /** Tables and columns left out on purpose (--exclude-table, --exclude-column). */
  excludeTables?: readonly string[];
  excludeColumns?: readonly ExcludedColumn[];
}

/** How PostgreSQL names are made from SQLite's: kept exactly (always quoted), or ASCII letters lowered. */
export type IdentifierFolding = 'none' | 'lower';

/**
 * Only A–Z are lowered, as PostgreSQL folds unquoted names: SQLite's names are unique
 * without regard to ASCII case only, so this can never make two names collide.
 */
export function foldIdentifier(name: string, folding: IdentifierFolding): string {
  return folding === 'lower' ? name.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : name;
}

export function pgTableName(table: Pick<TableModel, 'name' | 'pgName'>): string {
  return table.pgName ?? table.name;
}

export function pgColumnName(column: Pick<ColumnModel, 'name' | 'pgName'>): string {
  return column.pgName ?? column.name;
}

/** The PostgreSQL name of a column of `table` given by its SQLite name. */
export function pgColumnOf(table: TableModel, name: string): string {
  const column = table.columns.find((c) => c.name === name);
  return column ? pgColumnName(column) : name;
}

/** Where a table's rows are read in SQLite: its own table, or the readable copy of it (readFromCopy). */
export function sqliteTableRef(table: Pick<TableModel, 'name' | 'readFromCopy'>): string {
  return `${table.readFromCopy ? READABLE_COPY_SCHEMA : 'main'}.${quoteIdent(table.name)}`;
}

/** The schema name the readable copy is attached under (sqlite/readable-copy.ts). */
export const READABLE_COPY_SCHEMA = 'liteshift_copy';

/**
 * How SQLite reads a column for the pipeline: its stored value, the rowid for the
 * synthetic key, or its bytes where the text is not UTF-8. Every reader of rows (snapshot,
 * stream, verifier) selects through this, so all of them see the same values.
 */
export function sqliteReadExpr(column: ColumnModel, rowid = 'rowid'): string {
  if (column.synthetic === 'rowid') return rowid;
  const c = quoteIdent(column.name);
  return column.readAs === 'blob' ? `CAST(${c} AS BLOB)` : c;
}

/**
 * A column as an operand of a comparison or ORDER BY in SQLite. A collation only the
 * application registers makes any statement comparing the column fail to prepare
 * ("no such collation sequence"); BINARY compares the stored bytes instead.
 */
export function sqliteCompareExpr(column: ColumnModel): string {
  const c = quoteIdent(column.name);
  return column.foreignCollation ? `${c} COLLATE BINARY` : c;
}

/** Name of the synthetic key column for tables keyed by rowid. */
export const ROWID_COLUMN = 'liteshift_rowid';

/**
 * Whether a row's key may hold NULL: a declared key of a rowid table that is no rowid
 * alias, which held none when the schema was read (else the table is keyed by rowid) but
 * may since. Such rows cannot be keyed; each one is rejected on its own.
 */
export function keyMayHoldNull(table: TableModel): boolean {
  return !table.withoutRowid && !table.keyIsRowid && !table.columns.some((c) => c.identity);
}

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
