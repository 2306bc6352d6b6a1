import { createHash } from 'node:crypto';

/** Quotes an identifier for PostgreSQL or SQLite (both use "…" with "" escaping). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** Quotes a string literal for SQL text we must build (DDL defaults, CHECK bodies). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** PostgreSQL keeps the first NAMEDATALEN - 1 bytes of a name and silently drops the rest. */
export const PG_NAME_BYTES = 63;

/** Room left for the `_` and 8 hex digits of a shortened name. */
const PREFIX_BYTES = PG_NAME_BYTES - 9;

/** Whether PostgreSQL keeps `name` whole: 1 to 63 bytes (it cuts a longer one, and refuses an empty one). */
export function pgNameFits(name: string): boolean {
  return name !== '' && Buffer.byteLength(name) <= PG_NAME_BYTES;
}

/**
 * A name PostgreSQL keeps whole: `name` itself when it fits, else its first bytes (cut
 * between characters) and 8 hex digits of the SHA-256 of the whole name. It depends on the
 * name alone, so every run and every service derive the same one, and names PostgreSQL
 * would cut to the same 63 bytes stay apart. Tables, columns, indexes and constraints all
 * go through here.
 */
export function fitPgName(name: string): string {
  if (pgNameFits(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  let cut = '';
  let size = 0;
  for (const ch of name) {
    size += Buffer.byteLength(ch);
    if (size > PREFIX_BYTES) break;
    cut += ch;
  }
  return `${cut}_${hash}`;
}
