import { splitRules } from './casts.js';
import { foldIdentifier } from './model.js';
import { tokenize } from './sql-tokens.js';

/**
 * `--exclude-table T` and `--exclude-column T.C`: what the user leaves out on purpose.
 * Anything else SQLite holds and PostgreSQL lacks makes the verdict NOT READY; these are
 * listed by it instead. Names may be quoted as in SQL ("my table"."my column").
 */
export interface ExcludedColumn {
  table: string;
  column: string;
}

/** Parses table names separated by commas or semicolons. Throws an Error naming every mistake. */
export function parseExcludedTables(spec: string): string[] {
  return parseNames(spec, 1, 'a table name').map(([table]) => table!);
}

/** Parses table.column names separated by commas or semicolons. Throws an Error naming every mistake. */
export function parseExcludedColumns(spec: string): ExcludedColumn[] {
  return parseNames(spec, 2, 'table.column').map(([table, column]) => ({ table: table!, column: column! }));
}

function parseNames(spec: string, parts: 1 | 2, what: string): string[][] {
  const out: string[][] = [];
  const problems: string[] = [];
  for (const text of splitRules(spec)) {
    const tokens = tokenize(text);
    const names = tokens.filter((_, i) => i % 2 === 0);
    const dots = tokens.filter((_, i) => i % 2 === 1);
    const ok =
      tokens.length === parts * 2 - 1 &&
      names.every((t) => t.kind === 'ident' || t.kind === 'quoted-ident') &&
      dots.every((t) => t.kind === 'op' && t.value === '.');
    if (ok) out.push(names.map((t) => t.value));
    else problems.push(`"${text}" is not ${what} (quote names with dots, spaces or semicolons: "my table"${parts === 2 ? '."my column"' : ''})`);
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return out;
}

/** SQLite's own rule for names: equal without regard to ASCII case. */
export function sameName(a: string, b: string): boolean {
  return foldIdentifier(a, 'lower') === foldIdentifier(b, 'lower');
}
