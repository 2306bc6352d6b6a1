import type { ValueKind } from '../schema/model.js';
import type { SqlValue } from '../avro/binary.js';
import { decimalParts } from './to-pg.js';

/**
 * One canonical text per value and type, so that a value read back from PostgreSQL
 * (`col::text`) and the same value converted from SQLite by the loader's mapping
 * compare equal exactly when PostgreSQL holds what SQLite held.
 */
export function canonical(kind: ValueKind, text: string | null): string | null {
  if (text === null) return null;
  switch (kind) {
    case 'integer':
      return BigInt(text).toString();
    case 'real': {
      const n = Number(text.replace(/^-?inf(inity)?$/i, (s) => (s.startsWith('-') ? '-Infinity' : 'Infinity')));
      return Number.isNaN(n) ? 'NaN' : String(n);
    }
    case 'numeric': {
      if (/^[+-]?(inf|infinity|nan)$/i.test(text)) return text.toLowerCase();
      const { negative, integer, fraction } = decimalParts(text);
      const i = integer.replace(/^0+(?=\d)/, '');
      const f = fraction.replace(/0+$/, '');
      const body = f ? `${i}.${f}` : i;
      return negative && /[1-9]/.test(body) ? `-${body}` : body;
    }
    case 'blob':
      return text.toLowerCase();
    case 'boolean':
      return text === 't' || text === 'true' ? 't' : 'f';
    case 'timestamp':
      return timestampCanonical(text, false);
    case 'timestamptz':
      return timestampCanonical(text, true);
    case 'time':
      return clockCanonical(text);
    case 'date':
    case 'text':
      return text;
  }
}

/** Fraction digits as PostgreSQL keeps them: rounded to microseconds, trailing zeros dropped. */
function micros(fraction: string | undefined): number {
  if (!fraction) return 0;
  return Math.round(Number(`0${fraction}`) * 1e6);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function clockCanonical(text: string): string {
  const m = /^(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?/.exec(text.trim());
  if (!m) return text;
  const us = micros(m[4]);
  return `${m[1]}:${m[2]}:${m[3] ?? '00'}${us ? `.${pad(us, 6).replace(/0+$/, '')}` : ''}`;
}

function timestampCanonical(text: string, withZone: boolean): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/.exec(text.trim());
  if (!m) return text;
  let ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  if (+m[1]! < 100) ms = new Date(ms).setUTCFullYear(+m[1]!);
  let us = micros(m[7]);
  if (us >= 1e6) {
    ms += 1000;
    us -= 1e6;
  }
  if (withZone && m[8] && !/^z$/i.test(m[8])) {
    const zone = /^([+-])(\d{2}):?(\d{2})?$/.exec(m[8])!;
    const offset = (+zone[2]! * 60 + +(zone[3] ?? 0)) * 60_000;
    ms -= zone[1] === '+' ? offset : -offset;
  }
  const d = new Date(ms);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const clock = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const fraction = us ? `.${pad(us, 6).replace(/0+$/, '')}` : '';
  return `${date} ${clock}${fraction}${withZone ? '+00' : ''}`;
}

/**
 * A key value back in the storage class SQLite would hold it in, from its canonical text:
 * how a key found only in PostgreSQL is encoded to send its delete through Kafka.
 */
export function sqlValueFromCanonical(kind: ValueKind, text: string | null): SqlValue {
  if (text === null) return null;
  switch (kind) {
    case 'integer':
      return BigInt(text);
    case 'real':
      return Number(text);
    case 'blob':
      return Buffer.from(text.replace(/^\\x/, ''), 'hex');
    default:
      return text;
  }
}
