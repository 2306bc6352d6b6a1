import type { SqlValue } from '../avro/binary.js';
import type { ColumnModel, TemporalForm } from '../schema/model.js';
import { affinityOf } from '../schema/type-mapping.js';
import { DEFAULT_TEMPORAL_FORM } from '../sqlite/stored-forms.js';
import { canonical } from './canonical.js';
import { Rejection, sqliteRealText } from './to-pg.js';

/**
 * The way back: a value as PostgreSQL prints it (its text output, read with DateStyle ISO,
 * TimeZone UTC and bytea in hex) turned into the value SQLite should store, as the
 * application stored it: integers as integers, booleans in the column's form (0/1, or
 * the spelling it used), date-times in its text form (or as the epochs it kept). A value
 * SQLite cannot hold as the column declares (NaN, 'infinity', a year past 9999, digits a
 * REAL would lose) is refused with a reason, never changed.
 */
export type SqliteColumn = Pick<ColumnModel, 'kind' | 'declaredType'> & Partial<Pick<ColumnModel, 'epoch' | 'storedForm' | 'profile' | 'readAs'>>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER = /^[+-]?\d+$/;
const PG_TIMESTAMP = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?( BC)?$/;
const PG_DATE = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/;
const PG_TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

const untyped = new WeakMap<SqliteColumn, boolean>();

/** A column without a type SQLite converts by (BLOB affinity) keeps what it is given: integers must be given as integers. */
function keepsStorageClass(column: SqliteColumn): boolean {
  let keeps = untyped.get(column);
  if (keeps === undefined) untyped.set(column, (keeps = affinityOf(column.declaredType) === 'BLOB'));
  return keeps;
}

function int64(text: string): bigint | null {
  if (!INTEGER.test(text)) return null;
  const n = BigInt(text);
  return n >= INT64_MIN && n <= INT64_MAX ? n : null;
}

export function toSqliteValue(column: SqliteColumn, text: string | null): SqlValue | Rejection {
  if (text === null) return null;
  switch (column.kind) {
    case 'integer':
      return int64(text) ?? new Rejection(`${text} is not a 64-bit integer`);
    case 'real': {
      if (text === 'NaN') return new Rejection('NaN cannot be stored in SQLite (it would become NULL)');
      const n = Number(text);
      if (Number.isNaN(n)) return new Rejection(`${text} is not a number`);
      // Where integers and reals sat side by side in a column without a type, a whole number was an integer.
      if (keepsStorageClass(column) && column.profile?.integers && Number.isSafeInteger(n)) return BigInt(n);
      return n;
    }
    case 'numeric':
      return numericValue(text);
    case 'text':
      return keepsStorageClass(column) ? untypedText(column, text) : text;
    case 'blob':
      if (!text.startsWith('\\x')) return new Rejection('bytea not in hex output (set bytea_output = hex)');
      return Buffer.from(text.slice(2), 'hex');
    case 'boolean': {
      const value = text === 't' || text === 'true';
      const form = column.storedForm?.type === 'boolean' ? column.storedForm : null;
      const stored = form ? (value ? form.true : form.false) : value ? 1 : 0;
      return typeof stored === 'number' ? BigInt(stored) : stored;
    }
    case 'timestamp':
    case 'timestamptz':
      return timestampValue(column, text);
    case 'date':
      return dateValue(column, text);
    case 'time': {
      const m = PG_TIME.exec(text);
      if (!m) return new Rejection(`${text} is not a time SQLite's time functions read`);
      return clockText(+m[1]!, +m[2]!, +m[3]!, microsOf(m[4]), formOf(column));
    }
  }
}

/** A number SQLite stores as an INTEGER when it is whole, else as a REAL, refused where a REAL would lose digits. */
function numericValue(text: string): SqlValue | Rejection {
  if (/^[+-]?infinity$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (text === 'NaN') return new Rejection('NaN cannot be stored in SQLite (it would become NULL)');
  const whole = /^([+-]?\d+)(?:\.0*)?$/.exec(text);
  const integer = whole ? int64(whole[1]!) : null;
  if (integer !== null) return integer;
  const n = Number(text);
  if (!Number.isFinite(n) || canonical('numeric', String(n)) !== canonical('numeric', text)) {
    return new Rejection(`${text} has more digits than SQLite's REAL keeps (15 to 17 significant digits)`);
  }
  return n;
}

/**
 * Text from a column without a type that held numbers too (PostgreSQL made it text to keep
 * them all): a number is given back as the number SQLite held, as far as its text says.
 */
function untypedText(column: SqliteColumn, text: string): SqlValue {
  const p = column.profile;
  if (p?.integers) {
    const n = int64(text);
    if (n !== null && n.toString() === text) return n;
  }
  if (p?.reals && /^[+-]?\d/.test(text)) {
    const n = Number(text);
    if (Number.isFinite(n) && sqliteRealText(n) === text) return n;
  }
  return text;
}

function formOf(column: SqliteColumn): TemporalForm {
  return column.storedForm?.type === 'temporal' ? column.storedForm : DEFAULT_TEMPORAL_FORM;
}

function microsOf(fraction: string | undefined): number {
  return fraction ? Number(fraction.padEnd(6, '0')) : 0;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** 'HH:MM[:SS[.fff]]' as the form writes it: a fraction is never cut, only padded to the form's digits. */
function clockText(h: number, mi: number, s: number, micros: number, form: TemporalForm): string {
  let out = `${pad(h)}:${pad(mi)}`;
  if (!form.seconds && s === 0 && micros === 0) return out;
  out += `:${pad(s)}`;
  if (micros === 0 && !form.fractionAlways) return out;
  let digits = pad(micros, 6).replace(/0+$/, '');
  digits = digits.padEnd(form.fractionDigits, '0');
  return digits ? `${out}.${digits}` : out;
}

const YEAR_RANGE = 'SQLite dates run from 0000 to 9999';

/** SQLite's own form, which is PostgreSQL's ISO output of a whole second in UTC: nothing to convert. */
function isDefaultForm(form: TemporalForm): boolean {
  return form.separator === ' ' && form.seconds && !form.dateOnly && !form.fractionAlways && form.zone === '';
}

function timestampValue(column: SqliteColumn, text: string): SqlValue | Rejection {
  if (!column.epoch && text[10] === ' ' && (text.length === 19 || (text.length === 22 && text.endsWith('+00'))) && isDefaultForm(formOf(column))) return text.slice(0, 19);
  const what = column.epoch ? `an epoch in ${column.epoch}` : `${column.declaredType || 'date-time'} text`;
  const m = PG_TIMESTAMP.exec(text);
  if (!m) return new Rejection(`${text} cannot be written as ${what} (${YEAR_RANGE})`);
  if (m[9] || m[1]!.length > 4) return new Rejection(`${text} cannot be written as ${what} (${YEAR_RANGE})`);
  let ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (+m[1]! < 100) ms = new Date(ms).setUTCFullYear(+m[1]!);
  if (m[8]) {
    // PostgreSQL prints in the session's zone (UTC here); any other offset is folded into UTC.
    const [, sign, hh, mm, ss] = /^([+-])(\d{2}):?(\d{2})?:?(\d{2})?$/.exec(m[8])!;
    const offset = ((+hh! * 60 + +(mm ?? 0)) * 60 + +(ss ?? 0)) * 1000;
    ms -= sign === '+' ? offset : -offset;
  }
  const micros = microsOf(m[7]);
  if (column.epoch === 'seconds') {
    if (micros !== 0) return new Rejection(`${text} has a fraction of a second, which an epoch in seconds cannot hold`);
    return BigInt(ms / 1000);
  }
  if (column.epoch === 'milliseconds') {
    if (micros % 1000 !== 0) return new Rejection(`${text} has microseconds, which an epoch in milliseconds cannot hold`);
    return BigInt(ms) + BigInt(micros / 1000);
  }
  const d = new Date(ms);
  if (d.getUTCFullYear() > 9999 || d.getUTCFullYear() < 0) return new Rejection(`${text} cannot be written as ${what} (${YEAR_RANGE})`);
  const form = formOf(column);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const h = d.getUTCHours();
  const mi = d.getUTCMinutes();
  const s = d.getUTCSeconds();
  if (form.dateOnly && h === 0 && mi === 0 && s === 0 && micros === 0) return date;
  return `${date}${form.separator}${clockText(h, mi, s, micros, form)}${form.zone}`;
}

function dateValue(column: SqliteColumn, text: string): SqlValue | Rejection {
  const m = PG_DATE.exec(text);
  if (!m || m[4] || m[1]!.length > 4) return new Rejection(`${text} cannot be written as ${column.epoch ? `an epoch in ${column.epoch}` : 'DATE text'} (${YEAR_RANGE})`);
  if (!column.epoch) return text;
  let ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!);
  if (+m[1]! < 100) ms = new Date(ms).setUTCFullYear(+m[1]!);
  return column.epoch === 'seconds' ? BigInt(ms / 1000) : BigInt(ms);
}

/**
 * How the applier binds a column's value. Text that was not UTF-8 travelled as its bytes
 * (the column is read as a blob): it goes back as text with those very bytes.
 */
export function sqliteWriteExpr(column: Pick<ColumnModel, 'readAs' | 'profile'>): string {
  if (column.readAs === 'blob' && (column.profile?.texts ?? 0) >= (column.profile?.blobs ?? 0)) return 'CAST(? AS TEXT)';
  return '?';
}
