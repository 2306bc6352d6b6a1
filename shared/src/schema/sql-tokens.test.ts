import { describe, expect, it } from 'vitest';
import { isKeyword, matchParen, tokenize, type Token } from './sql-tokens.js';

function pairs(sql: string): [Token['kind'], string][] {
  return tokenize(sql).map((t) => [t.kind, t.value]);
}

describe('tokenize', () => {
  it('unquotes bracketed, backtick and double-quoted identifiers', () => {
    expect(pairs('[b c] `d e` "f g"')).toEqual([
      ['quoted-ident', 'b c'],
      ['quoted-ident', 'd e'],
      ['quoted-ident', 'f g'],
    ]);
  });

  it('undoes doubled quotes inside quoted identifiers', () => {
    expect(pairs('"say ""hi""" `a``b`')).toEqual([
      ['quoted-ident', 'say "hi"'],
      ['quoted-ident', 'a`b'],
    ]);
  });

  it("unescapes '' inside strings and keeps the source text", () => {
    const [token] = tokenize("'it''s'");
    expect(token).toMatchObject({ kind: 'string', value: "it's", text: "'it''s'", start: 0, end: 7 });
    expect(pairs("'' 'a'")).toEqual([
      ['string', ''],
      ['string', 'a'],
    ]);
  });

  it('keeps comment markers inside strings and identifiers', () => {
    expect(pairs("'a -- b' \"/* c */\"")).toEqual([
      ['string', 'a -- b'],
      ['quoted-ident', '/* c */'],
    ]);
  });

  it('skips line and block comments', () => {
    expect(pairs('a -- comment ( , )\n b /* x ) y */ c /* unterminated')).toEqual([
      ['ident', 'a'],
      ['ident', 'b'],
      ['ident', 'c'],
    ]);
    expect(pairs('a -- to the end')).toEqual([['ident', 'a']]);
  });

  it('reads numbers: integers, decimals, exponents, hex', () => {
    expect(pairs('42 1.5 .25 1e10 2.5E-3 0x1F 7.')).toEqual([
      ['number', '42'],
      ['number', '1.5'],
      ['number', '.25'],
      ['number', '1e10'],
      ['number', '2.5E-3'],
      ['number', '0x1F'],
      ['number', '7.'],
    ]);
  });

  it('a minus sign is an operator, not part of the number', () => {
    expect(pairs('-5')).toEqual([
      ['op', '-'],
      ['number', '5'],
    ]);
  });

  it("reads blobs X'..' in either case, but an identifier starting with x is an identifier", () => {
    expect(pairs("X'00ff' x'AB' xray x")).toEqual([
      ['blob', '00ff'],
      ['blob', 'AB'],
      ['ident', 'xray'],
      ['ident', 'x'],
    ]);
  });

  it('reads operators, longest first, and punctuation', () => {
    expect(pairs('a<=b||c<>d!=e==f(g,h)')).toEqual([
      ['ident', 'a'],
      ['op', '<='],
      ['ident', 'b'],
      ['op', '||'],
      ['ident', 'c'],
      ['op', '<>'],
      ['ident', 'd'],
      ['op', '!='],
      ['ident', 'e'],
      ['op', '=='],
      ['ident', 'f'],
      ['lparen', '('],
      ['ident', 'g'],
      ['comma', ','],
      ['ident', 'h'],
      ['rparen', ')'],
    ]);
  });

  it('reads parameters', () => {
    expect(pairs('? :name @x $y')).toEqual([
      ['param', '?'],
      ['param', ':name'],
      ['param', '@x'],
      ['param', '$y'],
    ]);
  });

  it('reads non-ASCII identifiers', () => {
    expect(pairs('prénom 名前')).toEqual([
      ['ident', 'prénom'],
      ['ident', '名前'],
    ]);
  });

  it('gives offsets that slice back to the source text', () => {
    const sql = "CREATE TABLE [t x] (a INT DEFAULT 'x''y', \"b\" TEXT)";
    for (const token of tokenize(sql)) expect(sql.slice(token.start, token.end)).toBe(token.text);
  });

  it('does not loop on unterminated quotes', () => {
    expect(pairs("'abc")).toEqual([['string', 'abc']]);
    expect(tokenize('[abc')).toMatchObject([{ kind: 'quoted-ident', end: 4 }]);
    expect(pairs('"abc')).toEqual([['quoted-ident', 'abc']]);
  });
});

describe('isKeyword and matchParen', () => {
  it('matches keywords case-insensitively, only on bare identifiers', () => {
    const tokens = tokenize('check "CHECK" CHECK');
    expect(isKeyword(tokens[0], 'CHECK')).toBe(true);
    expect(isKeyword(tokens[1], 'CHECK')).toBe(false);
    expect(isKeyword(tokens[2], 'CHECK')).toBe(true);
    expect(isKeyword(undefined, 'CHECK')).toBe(false);
  });

  it('finds the closing parenthesis past nested ones and ignores parentheses in strings', () => {
    const tokens = tokenize("(a, (b), ')', c) d");
    const end = matchParen(tokens, 0);
    expect(tokens[end - 1]).toMatchObject({ kind: 'rparen' });
    expect(tokens[end]).toMatchObject({ kind: 'ident', value: 'd' });
  });

  it('runs to the end when the parenthesis never closes', () => {
    const tokens = tokenize('(a, (b)');
    expect(matchParen(tokens, 0)).toBe(tokens.length);
  });
});
