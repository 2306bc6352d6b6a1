import { pgColumnName, type CheckModel, type ColumnModel } from './model.js';
import { quoteIdent, quoteLiteral } from './identifiers.js';
import { isKeyword, matchParen, tokenize, type Token } from './sql-tokens.js';

/** Keywords that mean the same in SQLite and PostgreSQL expressions. */
const PORTABLE_KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'BETWEEN', 'LIKE', 'TRUE', 'FALSE', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'ESCAPE']);

/** Functions that mean the same in both. All but NULLIF compare no values, so a column's collation plays no part in them. */
const PORTABLE_FUNCTIONS = new Set(['LENGTH', 'LOWER', 'UPPER', 'ABS', 'COALESCE', 'TRIM', 'SUBSTR', 'ROUND', 'NULLIF']);

const EQUALITY = new Set(['=', '==', '<>', '!=']);

/** Operators both dialects bind tighter than any comparison; their result is no column, so it compares as BINARY. */
const VALUE_OPERATORS = new Set(['||', '+', '-', '*', '/', '%']);

/**
 * Under collation "C", PostgreSQL's lower() and ILIKE fold ASCII letters only, as SQLite's
 * NOCASE and LIKE do, whatever the database's locale (which may lower 'Ä', or 'I' to 'ı').
 */
const ASCII_FOLD = 'COLLATE "C"';

/** What a CHECK needs of a column: its names, and the collation SQLite compares it with. */
export type CheckColumn = Pick<ColumnModel, 'name' | 'pgName' | 'collation'>;

/** A CHECK of a CREATE TABLE statement, and why it has no PostgreSQL SQL when it has none. */
export interface ExtractedCheck {
  check: CheckModel;
  whyNotPortable: string | null;
}

/** Extracts the CHECK constraints of a CREATE TABLE statement, translated where portable. */
export function extractChecks(createSql: string, columns: readonly CheckColumn[]): CheckModel[] {
  return readChecks(createSql, columns).map((c) => c.check);
}

/** The CHECKs of extractChecks, each saying why when it is left untranslated. */
export function readChecks(createSql: string, columns: readonly CheckColumn[]): ExtractedCheck[] {
  const tokens = tokenize(createSql);
  const checks: ExtractedCheck[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (!isKeyword(tokens[i], 'CHECK') || tokens[i + 1]?.kind !== 'lparen') continue;
    const end = matchParen(tokens, i + 1);
    const body = tokens.slice(i + 2, end - 1);
    const pgSql = translateExpression(body, columns);
    checks.push({
      check: { sqliteSql: createSql.slice(body[0]?.start ?? 0, body[body.length - 1]?.end ?? 0), pgSql: typeof pgSql === 'string' ? pgSql : null },
      whyNotPortable: typeof pgSql === 'string' ? null : pgSql.why,
    });
    i = end - 1;
  }
  return checks;
}

interface NotPortable {
  why: string;
}

/** What the translation of some tokens differs in from token-by-token: pieces in place of a token, and pieces after one. */
interface Edits {
  instead: Map<number, string>;
  after: Map<number, string[]>;
}

type ColumnOf = (token: Token | undefined) => CheckColumn | undefined;

function translateExpression(tokens: readonly Token[], columns: readonly CheckColumn[]): string | NotPortable {
  // SQLite resolves column names without regard to case; PostgreSQL's quoted names need the real one.
  const byLower = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  const columnOf: ColumnOf = (token) => (token?.kind === 'ident' || token?.kind === 'quoted-ident' ? byLower.get(token.value.toLowerCase()) : undefined);
  // An explicit COLLATE decides what the comparisons around it mean; nothing here follows that.
  if (tokens.some((t) => isKeyword(t, 'COLLATE'))) return { why: 'uses an explicit COLLATE' };
  const edits: Edits = { instead: new Map(), after: new Map() };
  for (let i = 0; i < tokens.length; i++) {
    const column = columnOf(tokens[i]);
    const why = isKeyword(tokens[i], 'LIKE') ? translateLike(tokens, i, columnOf, edits) : column?.collation ? translateCollated(tokens, i, column, edits) : null;
    if (why !== null) return { why };
  }
  const out: string[] = [];
  for (const [i, token] of tokens.entries()) {
    const piece = edits.instead.get(i) ?? plainPiece(token, columnOf(token));
    if (typeof piece !== 'string') return piece;
    out.push(piece, ...(edits.after.get(i) ?? []));
  }
  // No space after "(" nor before ")" or ","; string literals are never touched.
  return out.reduce((sql, piece, i) => (i === 0 || piece === ')' || piece === ',' || out[i - 1] === '(' ? sql + piece : `${sql} ${piece}`), '');
}

function plainPiece(token: Token, column: CheckColumn | undefined): string | NotPortable {
  if (column) return quoteIdent(pgColumnName(column));
  switch (token.kind) {
    case 'ident': {
      const word = token.value.toUpperCase();
      return PORTABLE_KEYWORDS.has(word) || PORTABLE_FUNCTIONS.has(word) ? word : { why: `uses ${token.value}, which PostgreSQL does not have` };
    }
    case 'quoted-ident':
      return { why: `names ${token.text}, which is no column` };
    case 'string':
      return quoteLiteral(token.value);
    case 'number':
      return token.value;
    case 'op':
      if (token.value === '==') return '=';
      if (['=', '<', '>', '<=', '>=', '<>', '!=', '+', '-', '*', '/', '%', '||'].includes(token.value)) return token.value;
      return { why: `uses operator ${token.value}` };
    case 'lparen':
    case 'rparen':
    case 'comma':
      return token.value;
    default:
      return { why: `uses ${token.kind === 'blob' ? 'a blob literal' : token.text}` };
  }
}

/**
 * SQLite's `a LIKE p` ignores the case of ASCII letters, and has no escape character
 * unless ESCAPE names one; PostgreSQL's LIKE tells case apart and escapes with a
 * backslash. ILIKE under collation "C" folds ASCII letters only, as SQLite does.
 * (PRAGMA case_sensitive_like, a switch of the application's connection that the schema
 * does not record, is not taken into account.) The operands must be told apart from the
 * tokens alone: anything else leaves the check untranslated rather than guessed.
 */
function translateLike(tokens: readonly Token[], i: number, columnOf: ColumnOf, edits: Edits): string | null {
  const operator = isKeyword(tokens[i - 1], 'NOT') ? 'NOT LIKE' : 'LIKE';
  if (!boundLeftOperand(tokens, operator === 'LIKE' ? i - 1 : i - 2)) return `cannot tell where the left operand of ${operator} begins`;
  const pattern = tokens[i + 1];
  const patternEnd = pattern?.kind === 'string' || columnOf(pattern) ? i + 1 : pattern?.kind === 'lparen' ? matchParen(tokens, i + 1) - 1 : -1;
  if (patternEnd < 0) return `the pattern of ${operator} is no string literal, column or parenthesised expression`;
  const escape = isKeyword(tokens[patternEnd + 1], 'ESCAPE');
  if (escape && tokens[patternEnd + 2]?.kind !== 'string') return `the ESCAPE of ${operator} is no string literal`;
  if (!closesOperand(tokens, patternEnd + (escape ? 3 : 1))) return `cannot tell where the pattern of ${operator} ends`;
  edits.instead.set(i, 'ILIKE');
  edits.after.set(patternEnd, escape ? [ASCII_FOLD] : [ASCII_FOLD, "ESCAPE ''"]);
  return null;
}

/**
 * A NOCASE or RTRIM column where its collation may count: SQLite compares with the
 * column's collation when the column itself is an operand of a comparison. A NOCASE
 * column compared for (in)equality with string literals becomes `lower(c COLLATE "C")`
 * beside the literals lowered, both in ASCII letters only as NOCASE folds; any other
 * comparison, and any comparison of an RTRIM column, is not portable.
 */
function translateCollated(tokens: readonly Token[], i: number, column: CheckColumn, edits: Edits): string | null {
  const prev = tokens[i - 1];
  const next = tokens[i + 1];
  // A unary + leaves the column a column (SQLite), so a "+" before it is no sign of arithmetic.
  if (isOperator(next, VALUE_OPERATORS) || (isOperator(prev, VALUE_OPERATORS) && prev!.value !== '+')) return null;
  // LIKE ignores collations; its operands are checked by translateLike.
  if (isKeyword(prev, 'LIKE') || isKeyword(next, 'LIKE') || (isKeyword(next, 'NOT') && isKeyword(tokens[i + 2], 'LIKE'))) return null;
  const alone = opensOperand(tokens, i - 1) && closesOperand(tokens, i + 1);
  const call = alone && (prev?.kind === 'lparen' || prev?.kind === 'comma') ? tokens[enclosingParen(tokens, i) - 1] : undefined;
  if (call?.kind === 'ident' && PORTABLE_FUNCTIONS.has(call.value.toUpperCase()) && !isKeyword(call, 'NULLIF')) return null;
  const isNull = isKeyword(next, 'IS') && (isKeyword(tokens[i + 2], 'NULL') || (isKeyword(tokens[i + 2], 'NOT') && isKeyword(tokens[i + 3], 'NULL')));
  if (isNull && opensOperand(tokens, i - 1)) return null;

  const literals = comparedLiterals(tokens, i);
  if (literals && column.collation === 'NOCASE') {
    edits.instead.set(i, `lower(${quoteIdent(pgColumnName(column))} ${ASCII_FOLD})`);
    for (const k of literals) edits.instead.set(k, quoteLiteral(tokens[k]!.value.replace(/[A-Z]+/g, (s) => s.toLowerCase())));
    return null;
  }
  const named = (token: Token | undefined): boolean => isKeyword(token, 'IN') || (token?.kind === 'ident' && !PORTABLE_KEYWORDS.has(token.value.toUpperCase()));
  const by = alone ? (named(call) ? call : undefined) : closesOperand(tokens, i + 1) ? prev : next;
  if (by === undefined) return `uses ${column.collation} column ${column.name} where its collation may apply`;
  const word = (token: Token | undefined): string => (token?.kind === 'ident' ? token.value.toUpperCase() : (token?.text ?? ''));
  const operator = by === next && isKeyword(by, 'NOT') ? `NOT ${word(tokens[i + 2])}` : word(by);
  const other = by !== call && literals === null && (EQUALITY.has(operator) || /^(NOT )?IN$/.test(operator)) ? ' and something other than string literals' : '';
  return `compares ${column.collation} column ${column.name} with ${operator}${other}`;
}

/**
 * The string literals the column at `i` is compared with for (in)equality, as a whole
 * operand on each side: `c = 'x'`, `'x' <> c`, `c [NOT] IN ('x', 'y')`; null for any
 * other shape.
 */
function comparedLiterals(tokens: readonly Token[], i: number): number[] | null {
  const next = tokens[i + 1];
  if (opensOperand(tokens, i - 1)) {
    if (isOperator(next, EQUALITY)) return tokens[i + 2]?.kind === 'string' && closesOperand(tokens, i + 3) ? [i + 2] : null;
    const open = isKeyword(next, 'IN') ? i + 2 : isKeyword(next, 'NOT') && isKeyword(tokens[i + 2], 'IN') ? i + 3 : -1;
    if (open < 0 || tokens[open]?.kind !== 'lparen') return null;
    const close = matchParen(tokens, open) - 1;
    const list = tokens.slice(open + 1, close);
    const literals = list.every((t, k) => (k % 2 === 0 ? t.kind === 'string' : t.kind === 'comma')) && list.length % 2 === 1;
    return literals && tokens[close]?.kind === 'rparen' && closesOperand(tokens, close + 1) ? list.map((_, k) => open + 1 + k).filter((_, k) => k % 2 === 0) : null;
  }
  const prev = tokens[i - 1];
  return closesOperand(tokens, i + 1) && isOperator(prev, EQUALITY) && tokens[i - 2]?.kind === 'string' && opensOperand(tokens, i - 3) ? [i - 2] : null;
}

/**
 * Whether the tokens up to `end` close an operand bound to nothing before it: values,
 * columns, function calls and parenthesised groups joined by operators both dialects
 * bind tighter than LIKE, after the start of an operand.
 */
function boundLeftOperand(tokens: readonly Token[], end: number): boolean {
  for (let k = end; ; ) {
    const token = tokens[k];
    if (token === undefined || token.kind === 'op' || token.kind === 'comma' || token.kind === 'lparen') return false;
    let start = k;
    if (token.kind === 'rparen') {
      start = openingParen(tokens, k);
      if (start < 0) return false;
      const name = tokens[start - 1];
      if (name?.kind === 'ident' && !PORTABLE_KEYWORDS.has(name.value.toUpperCase())) start--;
    }
    if (opensOperand(tokens, start - 1)) return true;
    // An operator after the start of an operand is a sign (-x).
    if (!isOperator(tokens[start - 1], VALUE_OPERATORS)) return false;
    if (opensOperand(tokens, start - 2)) return true;
    k = start - 2;
  }
}

/** Whether an operand may begin right after token `k`: nothing before binds it. */
function opensOperand(tokens: readonly Token[], k: number): boolean {
  const token = tokens[k];
  if (token === undefined) return k < 0;
  if (token.kind === 'lparen' || token.kind === 'comma') return true;
  if (isKeyword(token, 'AND')) return !isBetweenAnd(tokens, k);
  return ['OR', 'NOT', 'WHEN', 'THEN', 'ELSE'].some((word) => isKeyword(token, word));
}

/** Whether an operand ends right before token `k`: nothing after binds it. */
function closesOperand(tokens: readonly Token[], k: number): boolean {
  const token = tokens[k];
  if (token === undefined) return k >= tokens.length;
  return token.kind === 'rparen' || token.kind === 'comma' || ['AND', 'OR', 'WHEN', 'THEN', 'ELSE', 'END'].some((word) => isKeyword(token, word));
}

/** Whether the AND at `k` is the one of `x BETWEEN a AND b`. */
function isBetweenAnd(tokens: readonly Token[], k: number): boolean {
  for (let j = k - 1; j >= 0; j--) {
    const token = tokens[j]!;
    if (token.kind === 'rparen') j = openingParen(tokens, j);
    else if (isKeyword(token, 'END')) j = caseOf(tokens, j);
    else if (isKeyword(token, 'BETWEEN')) return true;
    else if (token.kind === 'lparen' || token.kind === 'comma' || ['AND', 'OR', 'CASE', 'WHEN', 'THEN', 'ELSE'].some((word) => isKeyword(token, word))) return false;
  }
  return false;
}

/** Index of the parenthesis that opens the one closing at `close`; -1 when none does. */
function openingParen(tokens: readonly Token[], close: number): number {
  let depth = 0;
  for (let j = close; j >= 0; j--) {
    const kind = tokens[j]!.kind;
    if (kind === 'rparen') depth++;
    else if (kind === 'lparen' && --depth === 0) return j;
  }
  return -1;
}

/** Index of the open parenthesis around token `k`; -1 when it is in none. */
function enclosingParen(tokens: readonly Token[], k: number): number {
  for (let j = k - 1; j >= 0; j--) {
    const kind = tokens[j]!.kind;
    if (kind === 'rparen') j = openingParen(tokens, j);
    else if (kind === 'lparen') return j;
  }
  return -1;
}

/** Index of the CASE that the END at `end` closes; -1 when none does. */
function caseOf(tokens: readonly Token[], end: number): number {
  let depth = 0;
  for (let j = end; j >= 0; j--) {
    if (isKeyword(tokens[j], 'END')) depth++;
    else if (isKeyword(tokens[j], 'CASE') && --depth === 0) return j;
  }
  return -1;
}

function isOperator(token: Token | undefined, operators: ReadonlySet<string>): boolean {
  return token?.kind === 'op' && operators.has(token.value);
}
