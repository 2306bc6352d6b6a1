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

/** Text SQLite would produce for a REAL (printf "%!.15g"), for numbers landing in text columns. */
export function sqliteRealText(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? 'Inf' : n < 0 ? '-Inf' : 'NaN';
  // %g: 15 significant digits; the exponent form below 1e-4 or from 1e15, with at least two exponent digits.
  const exponent = Number(n.toExponential(14).split('e')[1]);
  const exp = exponent < -4 || exponent >= 15;
  let m = exp ? n.toExponential(14).split('e')[0]! : n.toFixed(14 - exponent);
  if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '.0');
  else m = `${m}.0`;
  return exp ? `${m}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}` : m;
}

function describe(value: SqlValue): string {
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (value instanceof Uint8Array) return `a ${value.length}-byte blob`;
  return String(value);
}

function validDate(y: number, m: number, d: number): boolean {
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return d <= days[m - 1]!;
}

function validClock(h: number, mi: number, s: number): boolean {
  return h <= 24 && mi <= 59 && s <= 60 && (h < 24 || (mi === 0 && s === 0));
}

export function toPgText(kind: ValueKind, value: SqlValue, pgType = ''): PgText | Rejection {
  if (value === null) return null;
  switch (kind) {
    case 'integer':
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'number') {
        if (!Number.isInteger(value)) return new Rejection(`${value} is not an integer`);
        const n = BigInt(value);
        return n >= INT64_MIN && n <= INT64_MAX ? n.toString() : new Rejection(`${value} is out of bigint range`);
      }
      if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) {
        const n = BigInt(value.trim());
        if (n >= INT64_MIN && n <= INT64_MAX) return n.toString();
        return new Rejection(`${describe(value)} is out of bigint range`);
      }
      return new Rejection(`${describe(value)} is not an integer`);
    case 'real':
      if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : '-Infinity';
      if (typeof value === 'bigint') return value.toString();
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
      return fitsNumeric(text, pgType) ? text : new Rejection(`${text} overflows ${pgType}`);
    }
    case 'text':
      if (typeof value === 'string') return value.includes('\u0000') ? new Rejection('text contains a NUL byte, which PostgreSQL text cannot hold') : value;
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'number') return sqliteRealText(value);
      try {
        const text = utf8.decode(value);
        return text.includes('\u0000') ? new Rejection('blob with a NUL byte in a text column') : text;
      } catch {
        return new Rejection(`${describe(value)} in a text column is not valid UTF-8`);
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
      if (typeof value !== 'string') return new Rejection(`${describe(value)} is not an ISO-8601 timestamp`);
      const m = (kind === 'timestamp' ? TIMESTAMP : TIMESTAMP_TZ).exec(value.trim());
      if (!m || !validDate(+m[1]!, +m[2]!, +m[3]!) || !validClock(+(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0))) {
        return new Rejection(`${describe(value)} is not a valid ISO-8601 timestamp`);
      }
      return value.trim();
    }
    case 'date': {
      if (typeof value !== 'string') return new Rejection(`${describe(value)} is not an ISO-8601 date`);
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

/** Whether a decimal's integer digits fit numeric(p,s) (PostgreSQL rounds the fraction itself). */
function fitsNumeric(text: string, pgType: string): boolean {
  const params = numericParams(pgType);
  if (!params) return true;
  const { integer, fraction } = decimalParts(text);
  let integerDigits = integer.replace(/^0+/, '').length;
  // Rounding to the scale carries into a new integer digit when every kept digit is 9 (999.995 → 1000.00).
  const kept = integer.replace(/^0+/, '') + fraction.slice(0, params.scale).padEnd(params.scale, '0');
  if ((fraction[params.scale] ?? '0') >= '5' && /^9*$/.test(kept)) integerDigits++;
  return integerDigits <= params.precision - params.scale;
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
