/**
 * A small tokenizer for the SQL that SQLite stores in sqlite_schema. Enough to find
 * CHECK bodies, DEFERRABLE clauses and default expressions, and to re-emit identifiers
 * written as [x] or `x` in PostgreSQL's "x" form.
 */
export type TokenKind = 'ident' | 'quoted-ident' | 'string' | 'number' | 'blob' | 'op' | 'lparen' | 'rparen' | 'comma' | 'param';

export interface Token {
  kind: TokenKind;
  /** For identifiers, the unquoted name; for strings, the unescaped value; else the source text. */
  value: string;
  text: string;
  start: number;
  end: number;
}

const OPS = ['||', '<=', '>=', '<>', '!=', '==', '<<', '>>', '->>', '->'];

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const endComment = sql.indexOf('*/', i + 2);
      i = endComment < 0 ? n : endComment + 2;
      continue;
    }
    const start = i;
    if (c === "'" ) {
      const [value, end] = readQuoted(sql, i, "'");
      tokens.push({ kind: 'string', value, text: sql.slice(start, end), start, end });
      i = end;
      continue;
    }
    if ((c === 'x' || c === 'X') && sql[i + 1] === "'") {
      const [value, end] = readQuoted(sql, i + 1, "'");
      tokens.push({ kind: 'blob', value, text: sql.slice(start, end), start, end });
      i = end;
      continue;
    }
    if (c === '"' || c === '`') {
      const [value, end] = readQuoted(sql, i, c);
      tokens.push({ kind: 'quoted-ident', value, text: sql.slice(start, end), start, end });
      i = end;
      continue;
    }
    if (c === '[') {
      const close = sql.indexOf(']', i + 1);
      const end = close < 0 ? n : close + 1;
      tokens.push({ kind: 'quoted-ident', value: sql.slice(i + 1, end - 1), text: sql.slice(start, end), start, end });
      i = end;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(0x[0-9a-f]+|[0-9]*\.?[0-9]*(e[+-]?[0-9]+)?)/i.exec(sql.slice(i))!;
      const end = i + Math.max(1, m[0].length);
      tokens.push({ kind: 'number', value: sql.slice(i, end), text: sql.slice(i, end), start, end });
      i = end;
      continue;
    }
    if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const m = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(sql.slice(i))!;
      const end = i + m[0].length;
      tokens.push({ kind: 'ident', value: m[0], text: m[0], start, end });
      i = end;
      continue;
    }
    if (c === '?' || c === ':' || c === '@' || c === '$') {
      const m = /^[?:@$][A-Za-z0-9_]*/.exec(sql.slice(i))!;
      const end = i + m[0].length;
      tokens.push({ kind: 'param', value: m[0], text: m[0], start, end });
      i = end;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      const kind = c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'comma';
      tokens.push({ kind, value: c, text: c, start, end: i + 1 });
      i++;
      continue;
    }
    const op = OPS.find((o) => sql.startsWith(o, i)) ?? c;
    tokens.push({ kind: 'op', value: op, text: op, start, end: i + op.length });
    i += op.length;
  }
  return tokens;
}

function readQuoted(sql: string, open: number, quote: string): [string, number] {
  let value = '';
  let i = open + 1;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === quote) {
      if (sql[i + 1] === quote) {
        value += quote;
        i += 2;
        continue;
      }
      return [value, i + 1];
    }
    value += ch;
    i++;
  }
  return [value, sql.length];
}

export function isKeyword(token: Token | undefined, word: string): boolean {
  return token !== undefined && token.kind === 'ident' && token.value.toUpperCase() === word;
}

/** Index just past the parenthesis that closes the one at `open`. */
export function matchParen(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const kind = tokens[i]!.kind;
    if (kind === 'lparen') depth++;
    else if (kind === 'rparen' && --depth === 0) return i + 1;
  }
  return tokens.length;
}
