import { describe, expect, it } from 'vitest';
import { extractChecks } from './checks.js';

describe('extractChecks', () => {
  const sql = "CREATE TABLE t (a INT CHECK (a > 0), [b c] TEXT, CHECK (length([b c]) < 10), CHECK (a IN (1,2)), CHECK (x GLOB 'a*'))";
  const checks = extractChecks(sql, ['a', 'b c']);

  it('finds every CHECK, column and table constraints alike, in order', () => {
    expect(checks.map((c) => c.sqliteSql)).toEqual(['a > 0', 'length([b c]) < 10', 'a IN (1,2)', "x GLOB 'a*'"]);
  });

  it('re-quotes identifiers for PostgreSQL', () => {
    expect(checks[0]!.pgSql).toBe('"a" > 0');
    expect(checks[1]!.pgSql).toMatch(/^LENGTH ?\("b c"\) < 10$/);
    expect(checks[2]!.pgSql).toBe('"a" IN (1, 2)');
  });

  it('leaves what PostgreSQL does not have untranslated', () => {
    expect(checks[3]!.pgSql).toBeNull();
  });

  it('translates == and keeps string literals', () => {
    const [check] = extractChecks("CREATE TABLE t (s TEXT CHECK (s == 'it''s' OR s IS NULL))", ['s']);
    expect(check!.pgSql).toBe(`"s" = 'it''s' OR "s" IS NULL`);
  });

  it('keeps string literals exactly, whatever spaces and punctuation they hold', () => {
    const [check] = extractChecks("CREATE TABLE t (s TEXT CHECK (s IN ('a , b', '( x )')))", ['s']);
    expect(check!.pgSql).toBe(`"s" IN ('a , b', '( x )')`);
  });

  it('quotes columns named like keywords or with quotes inside', () => {
    const [check] = extractChecks('CREATE TABLE t ("order" INT, `we"ird` INT, CHECK ("order" < `we"ird`))', ['order', 'we"ird']);
    expect(check!.pgSql).toBe('"order" < "we""ird"');
  });

  it('an unknown function or a name that is not a column is not portable', () => {
    const checks = extractChecks("CREATE TABLE t (a TEXT CHECK (json_valid(a)), b TEXT CHECK (b <> \"zz\"))", ['a', 'b']);
    expect(checks).toHaveLength(2);
    expect(checks.every((c) => c.pgSql === null)).toBe(true);
  });

  it('ignores CHECK inside strings, comments and quoted names', () => {
    const checks = extractChecks(
      "CREATE TABLE t (a TEXT DEFAULT 'CHECK (1)', \"check\" INT, -- CHECK (a > 1)\n b INT /* CHECK (b) */ CHECK (b BETWEEN 1 AND 5))",
      ['a', 'check', 'b'],
    );
    expect(checks).toEqual([{ sqliteSql: 'b BETWEEN 1 AND 5', pgSql: '"b" BETWEEN 1 AND 5' }]);
  });

  it('a table without CHECK has none', () => {
    expect(extractChecks('CREATE TABLE t (a INT)', ['a'])).toEqual([]);
  });
});

describe('extractChecks column names', () => {
  it('resolves names written in another case to the real column, as SQLite does', () => {
    const [check] = extractChecks('CREATE TABLE t (Amount INT, CHECK (amount > 0))', ['Amount']);
    expect(check!.pgSql).toBe('"Amount" > 0');
  });
});

describe('extractChecks under --fold-identifiers', () => {
  it('names columns by their PostgreSQL names', () => {
    const [check] = extractChecks('CREATE TABLE t (Price REAL CHECK (Price >= 0 AND "PRICE" < 1e6))', ['Price'], (c) => c.toLowerCase());
    expect(check!.pgSql).toBe('"price" >= 0 AND "price" < 1e6');
  });
});
