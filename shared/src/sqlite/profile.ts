import { isUtf8 } from 'node:buffer';
import type { ColumnProfile, ValueKind } from '../schema/model.js';
import { quoteIdent } from '../schema/identifiers.js';
import { familyOf, affinityOf, isIntegerName, numericParams } from '../schema/type-mapping.js';
import { Rejection, toPgText, type PgTarget } from '../values/to-pg.js';
import type { SqlValue } from '../avro/binary.js';
import type { SqliteDatabase } from './open.js';

export interface ProfiledColumn {
  name: string;
  declaredType: string;
  /** SQL that reads the column (rowid for the synthetic key). */
  expr?: string;
  /** Always take the detailed pass (a --cast column: its values decide epochs and rejects). */
  detail?: boolean;
}

/** 1 when bytes are NUL-free UTF-8, which PostgreSQL text can hold. */
const PG_TEXT = 'liteshift_pg_text';
/** 1 when the loader's own mapping takes the value: the profile and the loader never disagree. */
const FITS = 'liteshift_fits';

export function isPgTextBytes(bytes: Uint8Array): boolean {
  return !bytes.includes(0) && isUtf8(bytes);
}

/** Registers the functions the profile's SQL calls; harmless to repeat on a connection. */
export function registerProfileFunctions(db: SqliteDatabase): void {
  db.function(PG_TEXT, { deterministic: true }, (bytes: unknown) => (bytes instanceof Uint8Array && isPgTextBytes(bytes) ? 1 : 0));
  db.function(FITS, { deterministic: true }, (value: unknown, kind: unknown, pgType: unknown, epoch: unknown) => {
    const target: PgTarget = { pgType: String(pgType), ...(epoch === 'seconds' || epoch === 'milliseconds' ? { epoch } : {}) };
    return toPgText(kind as ValueKind, value as SqlValue, target) instanceof Rejection ? 0 : 1;
  });
}

/**
 * Text that may not be plain ASCII: a byte above 0x7f (the GLOB class), or a NUL byte
 * (length() stops at the first NUL, the blob length does not). Only such text is handed
 * to the UTF-8 check, so ASCII columns cost two C scans and no JavaScript call.
 */
function maybeNotAscii(c: string): string {
  return `(${c} GLOB '*[^' || char(1) || '-' || char(127) || ']*' OR length(${c}) <> length(CAST(${c} AS BLOB)))`;
}

function badText(c: string): string {
  return `typeof(${c}) = 'text' AND ${maybeNotAscii(c)} AND NOT ${PG_TEXT}(CAST(${c} AS BLOB))`;
}

/**
 * ISO-8601 text in the canonical shape SQLite's own functions write: a value is vouched
 * for when SQLite reads it back to exactly itself (so 2021-02-30 or 24:00 are not).
 */
function canonicalTemporal(family: 'timestamp' | 'timestamptz' | 'date' | 'time', c: string): string {
  const b = `${c} COLLATE BINARY`;
  switch (family) {
    case 'date':
      return `date(${c}) IS ${b}`;
    case 'time':
      return `time(${c}) IS ${b}`;
    default:
      return `datetime(${c}) IS (CASE WHEN length(${c}) = 10 THEN ${c} || ' 00:00:00' ELSE replace(${c}, 'T', ' ') END)`;
  }
}

/**
 * A value that does not fit its declared type at first sight. Kept to one cheap test per
 * column, because this pass reads every row of every table before anything can move.
 * SQLite's affinity already converts what it can on insert (a TEXT column turns numbers
 * into text), so only what affinity let through needs looking at. Comparisons name
 * BINARY: a collation only the application registers would make them fail to prepare.
 */
function misfitTest(column: ProfiledColumn): string | null {
  if (column.detail) return null;
  const c = column.expr ?? quoteIdent(column.name);
  const b = `${c} COLLATE BINARY`;
  const family = familyOf(column.declaredType);
  switch (family) {
    case 'timestamp':
    case 'timestamptz':
    case 'date':
    case 'time':
      return `${c} IS NOT NULL AND (typeof(${c}) <> 'text' OR NOT (${canonicalTemporal(family, c)}))`;
    case 'boolean':
      return `${b} NOT IN (0, 1)`;
    case 'decimal': {
      const params = numericParams(column.declaredType);
      const bounds = params ? ` OR round(${c}, ${params.scale}) <> ${b} OR abs(${c}) >= 1e${params.precision - params.scale}` : '';
      return `${c} IS NOT NULL AND (typeof(${c}) NOT IN ('integer', 'real')${bounds})`;
    }
    case 'plain':
      break;
  }
  switch (affinityOf(column.declaredType)) {
    case 'INTEGER':
      // POINT has INTEGER affinity by its letters alone: the stored classes decide its type, always counted.
      return isIntegerName(column.declaredType) ? `${c} IS NOT NULL AND typeof(${c}) <> 'integer'` : null;
    case 'TEXT':
      return `typeof(${c}) = 'blob' OR (${badText(c)})`;
    case 'REAL':
      return `typeof(${c}) IN ('text', 'blob')`;
    default:
      return null; // BLOB/no type and other NUMERIC names: the stored classes decide, always counted
  }
}

/** The detailed aggregates for one column: storage classes, integer range, text PostgreSQL can hold, and the declared kind's checks. */
function detailParts(column: ProfiledColumn): { sql: string[]; extras: (keyof ColumnProfile)[] } {
  const c = column.expr ?? quoteIdent(column.name);
  const b = `${c} COLLATE BINARY`;
  const sql = ['integer', 'real', 'text', 'blob'].map((t) => `count(*) FILTER (WHERE typeof(${c}) = '${t}')`);
  sql.push(
    `min(CASE WHEN typeof(${c}) = 'integer' THEN ${c} END)`,
    `max(CASE WHEN typeof(${c}) = 'integer' THEN ${c} END)`,
    `count(*) FILTER (WHERE ${badText(c)})`,
    `count(*) FILTER (WHERE typeof(${c}) = 'blob' AND NOT ${PG_TEXT}(${c}))`,
  );
  const extras: (keyof ColumnProfile)[] = ['textNotPg', 'blobsNotText'];
  const family = familyOf(column.declaredType);
  const odd = (f: 'timestamp' | 'timestamptz' | 'date' | 'time') => `typeof(${c}) = 'text' AND NOT (${canonicalTemporal(f, c)})`;
  const fits = (kind: ValueKind) => `${FITS}(${c}, '${kind}', '', NULL)`;
  if (family === 'timestamp' || family === 'timestamptz') {
    sql.push(`count(*) FILTER (WHERE ${odd(family)} AND NOT ${fits('timestamptz')})`);
    sql.push(`count(*) FILTER (WHERE ${odd(family)} AND ${fits('timestamptz')} AND NOT ${fits('timestamp')})`);
    extras.push('textMisfits', 'textWithZone');
  } else if (family === 'date') {
    sql.push(`count(*) FILTER (WHERE ${odd(family)} AND NOT ${fits('date')})`);
    extras.push('textMisfits');
  } else if (family === 'time') {
    sql.push(`count(*) FILTER (WHERE ${odd(family)} AND NOT ${fits('time')})`);
    extras.push('textMisfits');
  } else if (family === 'boolean') {
    sql.push(`count(*) FILTER (WHERE ${c} IS NOT NULL AND lower(${c}) NOT IN ('0', '1', 't', 'f', 'true', 'false'))`);
    extras.push('booleanMisfits');
  } else if (family === 'decimal') {
    const params = numericParams(column.declaredType);
    if (params) {
      const limit = `1e${params.precision - params.scale}`;
      sql.push(`count(*) FILTER (WHERE typeof(${c}) IN ('integer', 'real') AND (round(${c}, ${params.scale}) <> ${b} OR abs(${c}) >= ${limit}))`);
      extras.push('numericMisfits');
    }
  }
  if (family !== 'plain' && family !== 'boolean' && family !== 'decimal' && family !== 'time') {
    // Epoch candidates: whole days (a DATE keeps no time of day), and YYYYMMDD look-alikes.
    sql.push(
      `count(*) FILTER (WHERE typeof(${c}) = 'integer' AND ${c} % 86400 <> 0)`,
      `count(*) FILTER (WHERE typeof(${c}) = 'integer' AND ${c} % 86400000 <> 0)`,
      `count(*) FILTER (WHERE typeof(${c}) = 'integer' AND ${b} BETWEEN 10000101 AND 99991231 AND (${c} / 100) % 100 BETWEEN 1 AND 12 AND ${c} % 100 BETWEEN 1 AND 31)`,
    );
    extras.push('integersOffDay', 'integersOffDayMs', 'integersLikeYmd');
  }
  return { sql, extras };
}

/** Rows rowid ∈ (after, upTo] of a table (null: unbounded), `rowid` being a name for it no column shadows. */
export interface RowidRange {
  rowid: string;
  after: bigint | null;
  upTo: bigint | null;
}

export interface ProfileOptions {
  /** Only these rows (a part of the table profiled on another thread). */
  range?: RowidRange;
  /** Every column gets the detailed pass. */
  detailAll?: boolean;
  /** The attached database holding the table (default main; the readable copy's for a table read from it). */
  schema?: string;
}

/** The profile of a column over two sets of rows (both detailed, or neither). */
export function mergeProfiles(a: ColumnProfile, b: ColumnProfile): ColumnProfile {
  const out: ColumnProfile = { ...a };
  for (const [field, value] of Object.entries(b) as [keyof ColumnProfile, unknown][]) {
    if (typeof value === 'number') (out[field] as number) = ((a[field] as number | undefined) ?? 0) + value;
  }
  const pick = (x: string | undefined, y: string | undefined, smaller: boolean): string | undefined =>
    x === undefined ? y : y === undefined ? x : (BigInt(x) < BigInt(y)) === smaller ? x : y;
  const min = pick(a.minInteger, b.minInteger, true);
  const max = pick(a.maxInteger, b.maxInteger, false);
  if (min !== undefined) out.minInteger = min;
  if (max !== undefined) out.maxInteger = max;
  return out;
}

/**
 * Which storage classes each column holds, so the PostgreSQL type can hold every value.
 * A first pass costs one aggregate per column; only columns where it finds something
 * (or whose declared type says nothing, like BLOB or none) get the detailed second pass.
 * Call registerProfileFunctions on the connection first.
 */
export function profileTable(db: SqliteDatabase, table: string, columns: readonly ProfiledColumn[], options: ProfileOptions = {}): Map<string, ColumnProfile> {
  // The table itself, never an index: a bare count(*) would read the smallest index, and
  // one using a collation only the application registers fails to prepare.
  const { range } = options;
  const bounds = range ? [range.after === null ? null : `${range.rowid} > ?`, range.upTo === null ? null : `${range.rowid} <= ?`].filter((b) => b !== null) : [];
  const where = bounds.length ? ` WHERE ${bounds.join(' AND ')}` : '';
  const params = range ? [range.after, range.upTo].filter((b) => b !== null) : [];
  const from = `FROM ${options.schema ?? 'main'}.${quoteIdent(table)} NOT INDEXED${where}`;
  const tests = columns.map(misfitTest);
  const first = db
    .prepare(`SELECT count(*)${tests.map((t) => (t ? `, count(*) FILTER (WHERE ${t})` : '')).join('')} ${from}`)
    .raw(true)
    .get(...params) as unknown[];
  const rows = Number(first[0]);
  const out = new Map<string, ColumnProfile>();
  const detailed: ProfiledColumn[] = [];
  let at = 1;
  columns.forEach((column, i) => {
    if (tests[i] === null) {
      detailed.push(column);
      out.set(column.name, blank(rows, 0));
      return;
    }
    const misfits = Number(first[at++]);
    out.set(column.name, blank(rows, misfits));
    if (misfits > 0 || options.detailAll) detailed.push(column);
  });
  if (detailed.length === 0 || rows === 0) return out;

  const parts = detailed.map(detailParts);
  const second = db.prepare(`SELECT ${parts.flatMap((p) => p.sql).join(', ')} ${from}`).raw(true).get(...params) as unknown[];
  at = 0;
  detailed.forEach((column, i) => {
    const n = (): number => Number(second[at++] ?? 0);
    const integer = (): string | undefined => {
      const v = second[at++];
      return v === null || v === undefined ? undefined : String(v);
    };
    const profile = out.get(column.name)!;
    profile.detailed = true;
    profile.integers = n();
    profile.reals = n();
    profile.texts = n();
    profile.blobs = n();
    profile.nulls = rows - profile.integers - profile.reals - profile.texts - profile.blobs;
    const min = integer();
    const max = integer();
    if (min !== undefined && max !== undefined) {
      profile.minInteger = min;
      profile.maxInteger = max;
    }
    for (const extra of parts[i]!.extras) (profile[extra] as number) = n();
  });
  return out;
}

export interface RejectCheck {
  name: string;
  /** How the pipeline reads the column (sqliteReadExpr). */
  expr: string;
  kind: ValueKind;
  pgType: string;
  epoch?: 'seconds' | 'milliseconds';
  notNull: boolean;
}

/**
 * How many values of each column the loader will refuse, counted with the loader's own
 * mapping: the plan tells the user what a --cast or --on-misfit reject will cost before
 * anything moves. Only the columns asked about are read.
 */
export function countRejects(db: SqliteDatabase, table: string, checks: readonly RejectCheck[], schema = 'main'): Map<string, number> {
  if (checks.length === 0) return new Map();
  const lit = (s: string | undefined) => (s === undefined ? 'NULL' : `'${s.replace(/'/g, "''")}'`);
  const parts = checks.map(
    (c) =>
      `count(*) FILTER (WHERE ${c.expr} IS NULL AND ${c.notNull ? 1 : 0} OR ${c.expr} IS NOT NULL AND NOT ${FITS}(${c.expr}, ${lit(c.kind)}, ${lit(c.pgType)}, ${lit(c.epoch)}))`,
  );
  const row = db.prepare(`SELECT ${parts.join(', ')} FROM ${schema}.${quoteIdent(table)} NOT INDEXED`).raw(true).get() as unknown[];
  return new Map(checks.map((c, i) => [c.name, Number(row[i] ?? 0)]));
}

function blank(rows: number, misfits: number): ColumnProfile {
  return { rows, misfits, detailed: false, nulls: 0, integers: 0, reals: 0, texts: 0, blobs: 0 };
}
