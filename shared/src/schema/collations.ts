import { isKeyword, matchParen, tokenize } from './sql-tokens.js';

/** SQLite's built-in collations other than BINARY: they change what a comparison with the column means. */
export type BuiltinCollation = 'NOCASE' | 'RTRIM';

/** Words that open a table constraint, not a column definition, in CREATE TABLE. */
const TABLE_CONSTRAINT = ['CONSTRAINT', 'PRIMARY', 'UNIQUE', 'CHECK', 'FOREIGN'];

/**
 * The columns of a CREATE TABLE statement declared `COLLATE NOCASE` or `COLLATE RTRIM`,
 * by name as declared. No PRAGMA reports a column's collation (table_xinfo has none), so
 * it is read from the statement; as SQLite does, the last COLLATE of a column counts.
 */
export function columnCollations(createSql: string): Map<string, BuiltinCollation> {
  const tokens = tokenize(createSql);
  const collations = new Map<string, BuiltinCollation>();
  const open = tokens.findIndex((t) => t.kind === 'lparen');
  if (open < 0) return collations;
  const close = matchParen(tokens, open) - 1;
  for (let start = open + 1; start < close; ) {
    let collation: string | undefined;
    let end = start;
    for (; end < close && tokens[end]!.kind !== 'comma'; end++) {
      // A COLLATE in parentheses belongs to a CHECK, DEFAULT or generated expression.
      if (tokens[end]!.kind === 'lparen') end = matchParen(tokens, end) - 1;
      else if (isKeyword(tokens[end], 'COLLATE')) collation = tokens[end + 1]?.value.toUpperCase();
    }
    const name = tokens[start]!;
    const isColumn = name.kind !== 'ident' || !TABLE_CONSTRAINT.some((word) => isKeyword(name, word));
    if (isColumn && (collation === 'NOCASE' || collation === 'RTRIM')) collations.set(name.value, collation);
    start = end + 1;
  }
  return collations;
}
