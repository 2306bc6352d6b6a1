import type { SqlValue } from '../avro/binary.js';
import type { ValueKind } from '../schema/model.js';
import { numericParams } from '../schema/type-mapping.js';

/**
 * The loader's mapping from a SQLite value to the text PostgreSQL reads for the target
 * type. A value PostgreSQL would refuse is caught here, with a reason, so that COPY
 * never fails on data and the row goes to the rejects table instead.
 */
export class Rejection {
  constructor(readonly reason: string) {}
}

export type PgText = string | null;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?$/;
const TIMESTAMP_TZ = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?$/;
const TRUE_TEXT = new Set(['1', 't', 'true', 'y', 'yes', 'on']);
const FALSE_TEXT = new Set(['0', 'f', 'false', 'n', 'no', 'off']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text SQLite writes for a REAL (CAST(x AS TEXT), SQLite 3.43+): 15 significant digits when
 * they read back as the same double, else 17; the exponent form below 1e-4 and from 1e17,
 * with at least two exponent digits. Used for numbers landing in text columns. The digits
 * are correctly rounded, so the text always reads back as the exact double; SQLite's own
 * conversion is a little less precise far from 1 and may then spell a 17th digit otherwise.
 */
export function sqliteRealText(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? 'Inf' : n < 0 ? '-Inf' : 'NaN';
  if (n === 0) return '0.0';
  const precision = Number(n.toPrecision(15)) === n ? 15 : 17;
  const [mantissa, e] = n.toExponential(precision - 1).split('e') as [string, string];
  const exponent = Number(e);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace(/^-/, '').replace('.', '').replace(/0+$/, '') || '0';
  let body: string;
  if (exponent < -4 || exponent >= 17) {
    body = `${digits[0]}.${digits.slice(1) || '0'}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  } else if (exponent >= 0) {
    body = `${digits.slice(0, exponent + 1).padEnd(exponent + 1, '0')}.${digits.slice(exponent + 1) || '0'}`;
  } else {
    body = `0.${'0'.repeat(-exponent - 1)}${digits}`;
  }
  return negative ? `-${body}` : body;
}

function describe(value: SqlValue): string {
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (value instanceof Uint8Array) return `${value.length} byte(s)`;
  return String(value);
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function validDate(y: number, m: number, d: number): boolean {
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  const leap = m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= MONTH_DAYS[m - 1]! + (leap ? 1 : 0);
}

export function validClock(h: number, mi: number, s: number): boolean {
  return h <= 24 && mi <= 59 && s <= 60 && (h < 24 || (mi === 0 && s === 0));
}

/** Two or four ASCII digits at `at`, as a number; -1 if one of them is not a digit. */
export function digitsAt(bytes: Uint8Array, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = bytes[i]! - 0x30;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** 'YYYY-MM-DD' as bytes at `at`, a real calendar day: what SQLite's date() writes. */
export function isSqliteDateAt(bytes: Uint8Array, at: number): boolean {
  if (bytes[at + 4] !== 0x2d || bytes[at + 7] !== 0x2d) return false;
  const y = digitsAt(bytes, at, 4);
  const m = digitsAt(bytes, at + 5, 2);
  const d = digitsAt(bytes, at + 8, 2);
  return y >= 0 && m >= 0 && d >= 0 && validDate(y, m, d);
}

/**
 * 'YYYY-MM-DD HH:MM:SS' as bytes at `at`, with a real date and clock: what SQLite's
 * datetime() and CURRENT_TIMESTAMP write, so most stored timestamps. Checked in place
 * (the loader's transcoder reads them from Avro bytes), without a regular expression.
 */
export function isSqliteDatetimeAt(bytes: Uint8Array, at: number): boolean {
  if (bytes[at + 10] !== 0x20 || bytes[at + 13] !== 0x3a || bytes[at + 16] !== 0x3a || !isSqliteDateAt(bytes, at)) return false;
  const h = digitsAt(bytes, at + 11, 2);
  const mi = digitsAt(bytes, at + 14, 2);
  const sec = digitsAt(bytes, at + 17, 2);
  return h >= 0 && mi >= 0 && sec >= 0 && validClock(h, mi, sec);
}

const scratch = new Uint8Array(19);

/** A string's characters in `scratch`, when it has `length` of them and all are ASCII. */
function asciiInScratch(text: string, length: number): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return false;
    scratch[i] = c;
  }
  return true;
}

function isSqliteDate(text: string): boolean {
  return asciiInScratch(text, 10) && isSqliteDateAt(scratch, 0);
}

function isSqliteDatetime(text: string): boolean {
  return asciiInScratch(text, 19) && isSqliteDatetimeAt(scratch, 0);
}

/** What the conversion needs to know of the target column beyond its kind (a ColumnModel is one). */
export interface PgTarget {
  pgType: string;
  epoch?: 'seconds' | 'milliseconds';
}

/** Integer types narrower than bigint, as a --cast may choose them. */
const INTEGER_RANGE: Record<string, readonly [bigint, bigint]> = {
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [INT64_MIN, INT64_MAX],
};

export function toPgText(kind: ValueKind, value: SqlValue, target: string | PgTarget = ''): PgText | Rejection {
  if (value === null) return null;
  const pgType = typeof target === 'string' ? target : target.pgType;
  switch (kind) {
    case 'integer': {
      let n: bigint;
      if (typeof value === 'bigint') n = value;
      else if (typeof value === 'number') {
        if (!Number.isInteger(value)) return new Rejection(`${value} is not an integer`);
        n = BigInt(value);
      } else if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) n = BigInt(value.trim());
      else return new Rejection(`${describe(value)} is not an integer`);
      const [min, max] = INTEGER_RANGE[pgType] ?? INTEGER_RANGE.bigint!;
      return n >= min && n <= max ? n.toString() : new Rejection(`${describe(value)} is out of ${INTEGER_RANGE[pgType] ? pgType : 'bigint'} range`);
    }
    case 'real':
      if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : '-Infinity';
      // A double holds integers exactly only up to 2^53: beyond, the digits would change silently.
      if (typeof value === 'bigint') return BigInt(Number(value)) === value ? value.toString() : new Rejection(`${value} would lose digits in double precision`);
      // '1e400' reads as a number but overflows double precision, and COPY would refuse it.
      if (typeof value === 'string' && DECIMAL.test(value.trim()) && Number.isFinite(Number(value))) return value.trim();
      return new Rejection(`${describe(value)} is not a number within double precision`);
    case 'numeric': {
      let text: string;
      if (typeof value === 'bigint') text = value.toString();
      else if (typeof value === 'number') {
        if (!Number.isFinite(value)) return new Rejection(`${value} does not fit numeric`);
        text = String(value);
      } else if (typeof value === 'string' && DECIMAL.test(value.trim())) text = value.trim();
      else return new Rejection(`${describe(value)} is not a number`);
      const misfit = numericMisfit(text, pgType);
      return misfit === null ? text : new Rejection(misfit);
    }
    case 'text': {
      let text: string;
      if (typeof value === 'string') {
        if (value.includes('\u0000')) return new Rejection('text contains a NUL byte, which PostgreSQL text cannot hold');
        text = value;
      } else if (typeof value === 'bigint') text = value.toString();
      else if (typeof value === 'number') text = sqliteRealText(value);
      else {
        // Blobs, and text read as its bytes (a column whose text is not all UTF-8).
        try {
          text = utf8.decode(value);
        } catch {
          return new Rejection(`${describe(value)} that are not valid UTF-8, which PostgreSQL text must be`);
        }
        if (text.includes('\u0000')) return new Rejection(`${describe(value)} with a NUL byte, which PostgreSQL text cannot hold`);
      }
      return textFits(text, pgType);
    }
    case 'blob':
      if (value instanceof Uint8Array) return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
      return `\\x${Buffer.from(typeof value === 'number' ? sqliteRealText(value) : String(value), 'utf8').toString('hex')}`;
    case 'boolean': {
      if (typeof value === 'bigint') return value === 0n ? 'f' : value === 1n ? 't' : new Rejection(`${value} is not a boolean (0/1)`);
      if (typeof value === 'number') return value === 0 ? 'f' : value === 1 ? 't' : new Rejection(`${value} is not a boolean (0/1)`);
      if (typeof value === 'string') {
        const v = value.trim().toLowerCase();
        if (TRUE_TEXT.has(v)) return 't';
        if (FALSE_TEXT.has(v)) return 'f';
      }
      return new Rejection(`${describe(value)} is not a boolean`);
    }
    case 'timestamp':
    case 'timestamptz': {
      const epoch = typeof target === 'string' ? undefined : target.epoch;
      if (epoch && (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value)))) {
        const iso = epochText(BigInt(value), epoch);
        if (iso === null) return new Rejection(`${value} is not an epoch in ${epoch} between the years 1 and 9999`);
        return kind === 'timestamptz' ? `${iso}+00` : iso;
      }
      if (typeof value !== 'string') return new Rejection(`${describe(value)} is not an ISO-8601 timestamp`);
      if (isSqliteDatetime(value)) return value;
      const m = (kind === 'timestamp' ? TIMESTAMP : TIMESTAMP_TZ).exec(value.trim());
      if (!m || !validDate(+m[1]!, +m[2]!, +m[3]!) || !validClock(+(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0))) {
        return new Rejection(`${describe(value)} is not a valid ISO-8601 timestamp`);
      }
      return value.trim();
    }
    case 'date': {
      const epoch = typeof target === 'string' ? undefined : target.epoch;
      if (epoch && (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value)))) {
        const iso = epochText(BigInt(value), epoch);
        if (iso === null) return new Rejection(`${value} is not an epoch in ${epoch} between the years 1 and 9999`);
        if (!iso.endsWith(' 00:00:00')) return new Rejection(`${value} (${iso} UTC) is not a whole day`);
        return iso.slice(0, 10);
      }
      if (typeof value !== 'string') return new Rejection(`${describe(value)} is not an ISO-8601 date`);
      if (isSqliteDate(value)) return value;
      const m = DATE.exec(value.trim());
      if (!m || !validDate(+m[1]!, +m[2]!, +m[3]!)) return new Rejection(`${describe(value)} is not a valid date`);
      return value.trim();
    }
    case 'time': {
      if (typeof value !== 'string') return new Rejection(`${describe(value)} is not an ISO-8601 time`);
      const m = TIME.exec(value.trim());
      if (!m || !validClock(+m[1]!, +m[2]!, +(m[3] ?? 0))) return new Rejection(`${describe(value)} is not a valid time`);
      return value.trim();
    }
  }
}

/**
 * Why a decimal does not fit numeric(p,s), or null when it does. PostgreSQL would round
 * extra fraction digits away without a word; a value is refused instead, since what
 * arrived would no longer be what SQLite holds.
 */
function numericMisfit(text: string, pgType: string): string | null {
  const params = numericParams(pgType);
  if (!params) return null;
  const { integer, fraction } = decimalParts(text);
  if (fraction.replace(/0+$/, '').length > params.scale) return `${text} has more than ${params.scale} decimal place(s), which ${pgType} would round away`;
  if (integer.replace(/^0+/, '').length > params.precision - params.scale) return `${text} overflows ${pgType}`;
  return null;
}

/** Text that a narrower text type (a --cast to varchar(n) or json) cannot take is refused here, not by COPY. */
function textFits(text: string, pgType: string): PgText | Rejection {
  if (pgType === 'text' || pgType === '') return text;
  const limit = /^(?:varchar|character varying)\((\d+)\)$/.exec(pgType);
  if (limit) {
    let chars = 0;
    for (const _ of text) chars++;
    return chars <= Number(limit[1]) ? text : new Rejection(`${chars} characters do not fit ${pgType}`);
  }
  if (pgType === 'json') {
    try {
      JSON.parse(text);
    } catch {
      return new Rejection(`${describe(text)} is not JSON`);
    }
    // PostgreSQL checks \u escapes for surrogate pairs; JavaScript takes a lone one.
    if (/\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/.test(text)) {
      return new Rejection(`${describe(text)} holds an unpaired \\u surrogate escape, which PostgreSQL json refuses`);
    }
  }
  return text;
}

const YEAR_1 = -62135596800000n;
const YEAR_10000 = 253402300800000n;

/** An epoch as SQLite's datetime() writes it (UTC), with milliseconds when there are any; null outside years 1–9999. */
export function epochText(value: bigint, unit: 'seconds' | 'milliseconds'): string | null {
  const ms = unit === 'seconds' ? value * 1000n : value;
  if (ms < YEAR_1 || ms >= YEAR_10000) return null;
  const iso = new Date(Number(ms)).toISOString();
  const fraction = ms % 1000n === 0n ? '' : iso.slice(19, 23);
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}`;
}

/** Splits a decimal literal (with optional exponent) into sign, integer and fraction digits. */
export function decimalParts(text: string): { negative: boolean; integer: string; fraction: string } {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text.trim());
  if (!m) return { negative: false, integer: '0', fraction: '' };
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let point = (m[2] ?? '').length + Number(m[4] ?? 0);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits = digits + '0'.repeat(point - digits.length);
  return { negative: m[1] === '-', integer: digits.slice(0, point) || '0', fraction: digits.slice(point) };
}
