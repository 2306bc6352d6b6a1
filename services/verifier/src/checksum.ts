import { createHash } from 'node:crypto';
import { canonical, pgColumnName, quoteIdent, type ByteBuffer, type ColumnModel } from '@liteshift/shared';

/**
 * The text each side contributes to a range checksum, one form per type: what SQLite's
 * value becomes through the loader's mapping, and what PostgreSQL computes in SQL from the
 * stored value, must be the same string whenever PostgreSQL holds what SQLite held.
 * Otherwise a faithful copy would fail its checksum and be compared row by row (correct,
 * but slow). PostgreSQL prints in the session settings liteshift always connects with
 * (UTC, DateStyle ISO, extra_float_digits 1, bytea hex).
 */

const PLAIN_TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const PLAIN_TIME = /^\d\d:\d\d:\d\d$/;

const doubleBits = Buffer.alloc(8);

/**
 * A double by its IEEE-754 bits, in hex: the digits PostgreSQL and JavaScript print for
 * the same double can differ (a shortest form that relies on round-half-even), its bits
 * cannot.
 */
export function doubleHex(n: number): string {
  doubleBits.writeDoubleBE(n);
  return doubleBits.toString('hex');
}

/**
 * A bytea longer than this is checksummed by its md5 on both sides, not by its hex: hashing
 * megabytes of hex twice (into the field, then into the range) cost more than the rest of
 * the comparison. Short ones keep the hex, cheaper than an md5 each.
 */
const BYTEA_DIGEST_FROM = 64;
/** The printed form of such a bytea: `md5:` and 32 hex digits. */
const BYTEA_DIGEST_LENGTH = 36;

/** The checksummed text of a value as the loader would have written it (`text` from toPgText). */
export function checksumText(column: ColumnModel, text: string | null): string | null {
  if (text === null || text.startsWith('\u0000')) return text;
  if (column.pgType === 'bytea' && text.length > 2 + 2 * BYTEA_DIGEST_FROM && text.startsWith('\\x')) {
    return `md5:${createHash('md5').update(Buffer.from(text.slice(2), 'hex')).digest('hex')}`;
  }
  switch (column.kind) {
    case 'real':
      return doubleHex(Number(text));
    case 'numeric':
      return canonical('numeric', text);
    case 'timestamp':
      // Most stored timestamps already read as PostgreSQL prints them: skip the parse.
      return PLAIN_TIMESTAMP.test(text) ? text : canonical('timestamp', text);
    case 'timestamptz':
      // Most are naive text read as UTC (what ORMs and SQLite's clock write): PostgreSQL prints them with +00.
      return PLAIN_TIMESTAMP.test(text) ? `${text}+00` : canonical('timestamptz', text);
    case 'time':
      return PLAIN_TIME.test(text) ? text : canonical('time', text);
    default:
      return text;
  }
}

/** The same text computed by PostgreSQL from column `column` of the row aliased `alias`. */
export function pgChecksumText(column: ColumnModel, alias = 't'): string {
  const c = `${alias}.${quoteIdent(pgColumnName(column))}`;
  if (column.pgType === 'bytea') return `CASE WHEN octet_length(${c}) > ${BYTEA_DIGEST_FROM} THEN 'md5:' || md5(${c}) ELSE ${c}::text END`;
  switch (column.kind) {
    case 'real':
      return `encode(float8send(${c}::float8), 'hex')`;
    case 'boolean':
      // boolean::text is 'true'/'false'; the loader writes 't'/'f'.
      return `CASE WHEN ${c} THEN 't' ELSE 'f' END`;
    case 'numeric':
      // canonical(): no trailing fraction zeros (numeric(5,2) prints 0 as 0.00), nan/infinity in lower case.
      return `CASE WHEN position('.' IN ${c}::text) > 0 THEN rtrim(rtrim(${c}::text, '0'), '.') ELSE lower(${c}::text) END`;
    case 'timestamptz':
      return `(${c} AT TIME ZONE 'UTC')::text || '+00'`;
    default:
      return `${c}::text`;
  }
}

/**
 * One value in the checksummed text, as UTF-8 bytes: length-prefixed, so no separator can
 * be forged by data; '~' for NULL.
 */
export function writeChecksumField(out: ByteBuffer, text: string | null): void {
  if (text === null) return out.byte(0x7e);
  // Most values are ASCII: their length in bytes is their length.
  const start = out.length;
  out.integer(text.length);
  out.byte(0x3a);
  if (out.tryAscii(text)) return;
  out.truncate(start);
  out.integer(Buffer.byteLength(text, 'utf8'));
  out.byte(0x3a);
  out.text(text);
}

export function pgChecksumField(column: ColumnModel, alias = 't'): string {
  const c = `${alias}.${quoteIdent(pgColumnName(column))}`;
  const text = pgChecksumText(column, alias);
  // A bytea's printed length, without printing it twice: \x and two hex digits a byte, or its md5 form.
  const length = column.pgType === 'bytea' ? `(CASE WHEN octet_length(${c}) > ${BYTEA_DIGEST_FROM} THEN ${BYTEA_DIGEST_LENGTH} ELSE 2 + 2 * octet_length(${c}) END)` : `octet_length(${text})`;
  return `CASE WHEN ${c} IS NULL THEN '~' ELSE ${length}::text || ':' || ${text} END`;
}
