import type { CheckModel } from './model.js';
import { quoteIdent, quoteLiteral } from './identifiers.js';
import { isKeyword, matchParen, tokenize, type Token } from './sql-tokens.js';

/** Words and functions that mean the same in SQLite and PostgreSQL expressions. */
const PORTABLE_WORDS = new Set([
  'AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'BETWEEN', 'LIKE', 'TRUE', 'FALSE', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END',
  'LENGTH', 'LOWER', 'UPPER', 'ABS', 'COALESCE', 'TRIM', 'SUBSTR', 'ROUND', 'NULLIF', 'ESCAPE',
]);

/** Extracts the CHECK constraints of a CREATE TABLE statement, translated where portable. */
export function extractChecks(
  createSql: string,
  columnNames: readonly string[],
  /** The PostgreSQL name of a column (schema/pg-names.ts); SQLite's by default. */
  pgName: (column: string) => string = (column) => column,
): CheckModel[] {
  const tokens = tokenize(createSql);
  const checks: CheckModel[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (!isKeyword(tokens[i], 'CHECK') || tokens[i + 1]?.kind !== 'lparen') continue;
    const end = matchParen(tokens, i + 1);
    const body = tokens.slice(i + 2, end - 1);
    checks.push({
      sqliteSql: createSql.slice(body[0]?.start ?? 0, body[body.length - 1]?.end ?? 0),
      pgSql: translateExpression(body, columnNames, pgName),
    });
    i = end - 1;
  }
  return checks;
}

function translateExpression(tokens: readonly Token[], names: readonly string[], pgName: (column: string) => string): string | null {
  // SQLite resolves column names without regard to case; PostgreSQL's quoted names need the real one.
  const byLower = new Map(names.map((n) => [n.toLowerCase(), pgName(n)]));
  const column = (name: string): string | undefined => byLower.get(name.toLowerCase());
  const out: string[] = [];
  for (const token of tokens) {
    switch (token.kind) {
      case 'ident':
        if (column(token.value) !== undefined) out.push(quoteIdent(column(token.value)!));
        else if (PORTABLE_WORDS.has(token.value.toUpperCase())) out.push(token.value.toUpperCase());
        else return null;
        break;
      case 'quoted-ident':
        if (column(token.value) === undefined) return null;
        out.push(quoteIdent(column(token.value)!));
        break;
      case 'string':
        out.push(quoteLiteral(token.value));
        break;
      case 'number':
        out.push(token.value);
        break;
      case 'op':
        if (token.value === '==') out.push('=');
        else if (['=', '<', '>', '<=', '>=', '<>', '!=', '+', '-', '*', '/', '%', '||'].includes(token.value)) out.push(token.value);
        else return null;
        break;
      case 'lparen':
      case 'rparen':
      case 'comma':
        out.push(token.value);
        break;
      default:
        return null;
    }
  }
  // No space after "(" nor before ")" or ","; string literals are never touched.
  return out.reduce((sql, piece, i) => (i === 0 || piece === ')' || piece === ',' || out[i - 1] === '(' ? sql + piece : `${sql} ${piece}`), '');
}
