import type { Notice, ValueKind } from './model.js';
import { quoteLiteral } from './identifiers.js';
import { tokenize, type Token } from './sql-tokens.js';
import { Rejection, toPgText } from '../values/to-pg.js';

/**
 * Translates a SQLite DEFAULT expression into PostgreSQL. SQLite's clock functions work
 * in UTC, so their translations do too. Anything not understood is dropped with a
 * notice: a missing default never loses data, a wrong one would.
 */
export function translateDefault(
  sqliteDefault: string | null,
  kind: ValueKind,
  where: { table: string; column: string },
  notices: Notice[],
  /** The column's integers are Unix epochs the loader converts: so are its numeric defaults. */
  epoch?: 'seconds' | 'milliseconds',
): string | null {
  if (sqliteDefault === null) return null;
  const tokens = stripParens(tokenize(sqliteDefault));
  // DEFAULT NULL is what PostgreSQL does without a default: nothing is dropped.
  if (tokens.length === 1 && tokens[0]!.kind === 'ident' && tokens[0]!.value.toUpperCase() === 'NULL') return null;
  const out = translateTokens(tokens, kind, epoch);
  if (out === undefined) {
    notices.push({
      level: 'warn',
      ...where,
      message: `DEFAULT ${sqliteDefault} has no PostgreSQL equivalent: dropped (the loader still copies every stored value)`,
    });
    return null;
  }
  if (tokens.length === 1 && tokens[0]!.kind === 'quoted-ident') {
    notices.push({ level: 'info', ...where, message: `DEFAULT ${sqliteDefault} is a double-quoted string in SQLite: translated to ${out}` });
  }
  return out;
}

function stripParens(tokens: Token[]): Token[] {
  let t = tokens;
  while (t.length >= 2 && t[0]!.kind === 'lparen' && t[t.length - 1]!.kind === 'rparen') t = t.slice(1, -1);
  return t;
}

const UTC_NOW = "(now() AT TIME ZONE 'UTC')";

const EPOCH_NOW = 'extract(epoch from now())::bigint';

function clock(what: 'timestamp' | 'date' | 'time' | 'epoch', kind: ValueKind): string | undefined {
  if (what === 'epoch') return kind === 'integer' || kind === 'real' || kind === 'numeric' ? EPOCH_NOW : undefined;
  switch (kind) {
    case 'timestamptz':
      return what === 'timestamp' ? 'CURRENT_TIMESTAMP' : undefined;
    case 'timestamp':
      return what === 'timestamp' ? `${UTC_NOW}` : what === 'date' ? `${UTC_NOW}::date` : undefined;
    case 'date':
      return what === 'time' ? undefined : `${UTC_NOW}::date`;
    case 'time':
      return what === 'date' ? undefined : `${UTC_NOW}::time(0)`;
    case 'text': {
      const format = what === 'timestamp' ? 'YYYY-MM-DD HH24:MI:SS' : what === 'date' ? 'YYYY-MM-DD' : 'HH24:MI:SS';
      return `to_char(${UTC_NOW}, '${format}')`;
    }
    default:
      return undefined;
  }
}

/** strftime formats that mean one of SQLite's clock values. */
const STRFTIME: Record<string, 'timestamp' | 'date' | 'time' | 'epoch'> = {
  '%Y-%m-%d %H:%M:%S': 'timestamp',
  '%Y-%m-%dT%H:%M:%S': 'timestamp',
  '%Y-%m-%d %H:%M:%f': 'timestamp',
  '%Y-%m-%dT%H:%M:%fZ': 'timestamp',
  '%Y-%m-%dT%H:%M:%SZ': 'timestamp',
  '%Y-%m-%d': 'date',
  '%H:%M:%S': 'time',
  '%s': 'epoch',
};

function translateTokens(tokens: Token[], kind: ValueKind, epoch?: 'seconds' | 'milliseconds'): string | undefined {
  if (tokens.length === 0) return undefined;
  if (epoch && isTemporal(kind)) {
    const number = signedNumber(tokens);
    if (number !== undefined) return epochLiteral(number, epoch, kind);
  }
  const first = tokens[0]!;
  const upper = first.kind === 'ident' ? first.value.toUpperCase() : '';

  if (tokens.length === 1) {
    if (upper === 'NULL') return undefined;
    if (upper === 'CURRENT_TIMESTAMP') return clock('timestamp', kind);
    if (upper === 'CURRENT_DATE') return clock('date', kind);
    if (upper === 'CURRENT_TIME') return clock('time', kind);
    if (upper === 'TRUE' || upper === 'FALSE') return literalFor(upper === 'TRUE' ? '1' : '0', kind, true);
    if (first.kind === 'number') return literalFor(first.value, kind, true);
    if (first.kind === 'string' || first.kind === 'quoted-ident') return literalFor(first.value, kind, false);
    if (first.kind === 'blob' && /^[0-9a-f]*$/i.test(first.value)) {
      return kind === 'blob' ? `'\\x${first.value.toLowerCase()}'::bytea` : undefined;
    }
    return undefined;
  }
  if (tokens.length === 2 && first.kind === 'op' && (first.value === '-' || first.value === '+') && tokens[1]!.kind === 'number') {
    return literalFor(`${first.value === '-' ? '-' : ''}${tokens[1]!.value}`, kind, true);
  }
  // An epoch in milliseconds: strftime('%s','now') * 1000, unixepoch() * 1000.
  const last = tokens[tokens.length - 1]!;
  if (tokens.length > 2 && last.kind === 'number' && last.value === '1000' && tokens[tokens.length - 2]!.kind === 'op' && tokens[tokens.length - 2]!.value === '*') {
    const seconds = translateTokens(stripParens(tokens.slice(0, -2)), 'integer');
    if (seconds !== EPOCH_NOW) return undefined;
    if (epoch === 'milliseconds' && isTemporal(kind)) return clock(kind === 'date' ? 'date' : 'timestamp', kind);
    return kind === 'integer' || kind === 'real' || kind === 'numeric' ? "(extract(epoch from now()) * 1000)::bigint" : undefined;
  }
  // function call: name ( args )
  if (first.kind === 'ident' && tokens[1]?.kind === 'lparen' && last.kind === 'rparen') {
    const name = first.value.toLowerCase();
    const args = tokens.slice(2, -1).filter((t) => t.kind !== 'comma');
    if (!args.every((a) => a.kind === 'string')) return undefined;
    // 'now' and 'utc' are case-insensitive in SQLite; strftime formats are not (%M ≠ %m).
    const values = args.map((a) => a.value);
    // unixepoch() alone is now, as SQLite reads it.
    const isNow =
      (name === 'unixepoch' && values.length === 0) ||
      (values.some((v) => v.toLowerCase() === 'now') &&
        values.every((v) => v.toLowerCase() === 'now' || v.toLowerCase() === 'utc' || STRFTIME[v] !== undefined));
    if (!isNow) return undefined;
    if (name === 'datetime') return clock('timestamp', kind);
    if (name === 'date') return clock('date', kind);
    if (name === 'time') return clock('time', kind);
    // In a column of epochs converted to timestamps, "now as an epoch" is now.
    const epochClock = (): string | undefined => (epoch && isTemporal(kind) ? clock(kind === 'date' ? 'date' : 'timestamp', kind) : clock('epoch', kind));
    if (name === 'unixepoch') return epochClock();
    if (name === 'strftime') {
      const format = STRFTIME[args[0]!.value];
      if (format === 'epoch') return epochClock();
      return format ? clock(format, kind) : undefined;
    }
  }
  return undefined;
}

function isTemporal(kind: ValueKind): kind is 'timestamp' | 'timestamptz' | 'date' {
  return kind === 'timestamp' || kind === 'timestamptz' || kind === 'date';
}

function signedNumber(tokens: Token[]): string | undefined {
  if (tokens.length === 1 && tokens[0]!.kind === 'number') return tokens[0]!.value;
  if (tokens.length === 2 && tokens[0]!.kind === 'op' && tokens[0]!.value === '-' && tokens[1]!.kind === 'number') return `-${tokens[1]!.value}`;
  return undefined;
}

/** A numeric default of an epoch column, as the timestamp the loader makes of the same number. */
function epochLiteral(number: string, epoch: 'seconds' | 'milliseconds', kind: 'timestamp' | 'timestamptz' | 'date'): string | undefined {
  if (!/^-?\d+$/.test(number)) return undefined;
  const text = toPgText(kind, BigInt(number), { pgType: kind, epoch });
  return text instanceof Rejection || text === null ? undefined : quoteLiteral(text);
}

const TRUE_WORDS = new Set(['1', 't', 'true', 'y', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'f', 'false', 'n', 'no', 'off']);

function literalFor(value: string, kind: ValueKind, numeric: boolean): string | undefined {
  switch (kind) {
    case 'boolean': {
      const v = value.toLowerCase();
      if (TRUE_WORDS.has(v)) return 'true';
      if (FALSE_WORDS.has(v)) return 'false';
      return undefined;
    }
    case 'integer':
      return /^-?\d+$/.test(value) ? value : undefined;
    case 'real':
    case 'numeric':
      return /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value) ? value : undefined;
    case 'blob':
      return numeric ? undefined : `${quoteLiteral(value)}::bytea`;
    case 'text':
      return quoteLiteral(value);
    default:
      return numeric ? undefined : quoteLiteral(value);
  }
}
