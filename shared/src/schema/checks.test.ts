import { describe, expect, it } from 'vitest';
import { extractChecks, readChecks, type CheckColumn } from './checks.js';

const named = (...names: string[]): CheckColumn[] => names.map((name) => ({ name }));

describe('extractChecks', () => {
  const sql = "CREATE TABLE t (a INT CHECK (a > 0), [b c] TEXT, CHECK (length([b c]) < 10), CHECK (a IN (1,2)), CHECK (x GLOB 'a*'))";
  const checks = extractChecks(sql, named('a', 'b c'));

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
    const [check] = extractChecks("CREATE TABLE t (s TEXT CHECK (s == 'it''s' OR s IS NULL))", named('s'));
    expect(check!.pgSql).toBe(`"s" = 'it''s' OR "s" IS NULL`);
  });

  it('keeps string literals exactly, whatever spaces and punctuation they hold', () => {
    const [check] = extractChecks("CREATE TABLE t (s TEXT CHECK (s IN ('a , b', '( x )')))", named('s'));
    expect(check!.pgSql).toBe(`"s" IN ('a , b', '( x )')`);
  });

  it('quotes columns named like keywords or with quotes inside', () => {
    const [check] = extractChecks('CREATE TABLE t ("order" INT, `we"ird` INT, CHECK ("order" < `we"ird`))', named('order', 'we"ird'));
    expect(check!.pgSql).toBe('"order" < "we""ird"');
  });

  it('an unknown function or a name that is not a column is not portable', () => {
    const checks = extractChecks("CREATE TABLE t (a TEXT CHECK (json_valid(a)), b TEXT CHECK (b <> \"zz\"))", named('a', 'b'));
    expect(checks).toHaveLength(2);
    expect(checks.every((c) => c.pgSql === null)).toBe(true);
  });

  it('ignores CHECK inside strings, comments and quoted names', () => {
    const checks = extractChecks(
      "CREATE TABLE t (a TEXT DEFAULT 'CHECK (1)', \"check\" INT, -- CHECK (a > 1)\n b INT /* CHECK (b) */ CHECK (b BETWEEN 1 AND 5))",
      named('a', 'check', 'b'),
    );
    expect(checks).toEqual([{ sqliteSql: 'b BETWEEN 1 AND 5', pgSql: '"b" BETWEEN 1 AND 5' }]);
  });

  it('a table without CHECK has none', () => {
    expect(extractChecks('CREATE TABLE t (a INT)', named('a'))).toEqual([]);
  });
});

describe('extractChecks column names', () => {
  it('resolves names written in another case to the real column, as SQLite does', () => {
    const [check] = extractChecks('CREATE TABLE t (Amount INT, CHECK (amount > 0))', named('Amount'));
    expect(check!.pgSql).toBe('"Amount" > 0');
  });
});

describe('extractChecks under --fold-identifiers', () => {
  it('names columns by their PostgreSQL names', () => {
    const [check] = extractChecks('CREATE TABLE t (Price REAL CHECK (Price >= 0 AND "PRICE" < 1e6))', [{ name: 'Price', pgName: 'price' }]);
    expect(check!.pgSql).toBe('"price" >= 0 AND "price" < 1e6');
  });
});

/** The PostgreSQL SQL of the single CHECK `body` on table columns `columns`, or why there is none. */
function translated(body: string, columns: CheckColumn[]): string {
  const [only, ...more] = readChecks(`CREATE TABLE t (x, CHECK (${body}))`, columns);
  if (only === undefined || more.length > 0) throw new Error(`not one CHECK: ${body}`);
  return only.check.pgSql ?? `not portable: ${only.whyNotPortable}`;
}

const STATUS: CheckColumn[] = [{ name: 'status', collation: 'NOCASE' }, { name: 'note' }, { name: 'code', collation: 'RTRIM' }, { name: 'other', collation: 'NOCASE' }];

describe('extractChecks: LIKE as SQLite means it', () => {
  it('the issue #18 table: the NOCASE column compares lowered, LIKE ignores case and escapes nothing', () => {
    const sql = "CREATE TABLE t(id INTEGER PRIMARY KEY, status TEXT COLLATE NOCASE CHECK (status IN ('open','done')), note TEXT CHECK (note LIKE 'n%'))";
    expect(extractChecks(sql, [{ name: 'id' }, { name: 'status', collation: 'NOCASE' }, { name: 'note' }]).map((c) => c.pgSql)).toEqual([
      `lower("status" COLLATE "C") IN ('open', 'done')`,
      `"note" ILIKE 'n%' COLLATE "C" ESCAPE ''`,
    ]);
  });

  it('NOT LIKE is NOT ILIKE; an explicit ESCAPE is kept; a column or parenthesised pattern is told apart', () => {
    expect(translated("note NOT LIKE 'a\\_%'", STATUS)).toBe(`"note" NOT ILIKE 'a\\_%' COLLATE "C" ESCAPE ''`);
    expect(translated("note LIKE 'a!_%' ESCAPE '!' AND note IS NOT NULL", STATUS)).toBe(`"note" ILIKE 'a!_%' COLLATE "C" ESCAPE '!' AND "note" IS NOT NULL`);
    expect(translated('note LIKE status', STATUS)).toBe(`"note" ILIKE "status" COLLATE "C" ESCAPE ''`);
    expect(translated("(note LIKE ('%' || 'x'))", STATUS)).toBe(`("note" ILIKE ('%' || 'x') COLLATE "C" ESCAPE '')`);
    expect(translated("lower(note) || 'x' LIKE 'a%' OR NOT note LIKE 'b%'", STATUS)).toBe(
      `LOWER ("note") || 'x' ILIKE 'a%' COLLATE "C" ESCAPE '' OR NOT "note" ILIKE 'b%' COLLATE "C" ESCAPE ''`,
    );
  });

  it('LIKE on a NOCASE or RTRIM column is the same ILIKE: LIKE uses no collation', () => {
    expect(translated("status LIKE 'o%'", STATUS)).toBe(`"status" ILIKE 'o%' COLLATE "C" ESCAPE ''`);
    expect(translated("code NOT LIKE '% '", STATUS)).toBe(`"code" NOT ILIKE '% ' COLLATE "C" ESCAPE ''`);
  });

  it('an operand whose end or start the tokens do not tell is not guessed', () => {
    expect(translated("note LIKE 'a' || '%'", STATUS)).toBe('not portable: cannot tell where the pattern of LIKE ends');
    expect(translated("note LIKE lower('A%')", STATUS)).toBe('not portable: the pattern of LIKE is no string literal, column or parenthesised expression');
    expect(translated("note LIKE 'a%' ESCAPE note", STATUS)).toBe('not portable: the ESCAPE of LIKE is no string literal');
    expect(translated("note = 'x' LIKE 'y'", STATUS)).toBe('not portable: cannot tell where the left operand of LIKE begins');
    expect(translated("like('a%', note)", STATUS)).toBe('not portable: cannot tell where the left operand of LIKE begins');
  });
});

describe('extractChecks: NOCASE and RTRIM columns', () => {
  it('equality and IN with string literals compare lowered, ASCII letters only', () => {
    expect(translated("status IN ('open','Done')", STATUS)).toBe(`lower("status" COLLATE "C") IN ('open', 'done')`);
    expect(translated("status NOT IN ('OPEN', 'Ärger')", STATUS)).toBe(`lower("status" COLLATE "C") NOT IN ('open', 'Ärger')`);
    expect(translated("status = 'X' OR status == 'Y'", STATUS)).toBe(`lower("status" COLLATE "C") = 'x' OR lower("status" COLLATE "C") = 'y'`);
    expect(translated("'X' <> status AND status != 'Z'", STATUS)).toBe(`'x' <> lower("status" COLLATE "C") AND lower("status" COLLATE "C") != 'z'`);
    expect(translated("CASE WHEN note IS NULL THEN status = 'A' ELSE 1 END", STATUS)).toBe(
      `CASE WHEN "note" IS NULL THEN lower("status" COLLATE "C") = 'a' ELSE 1 END`,
    );
  });

  it('where the column is only a value, nothing changes', () => {
    expect(translated('length(status) > 2', STATUS)).toBe('LENGTH ("status") > 2');
    expect(translated("status IS NOT NULL AND coalesce(status, 'A') = 'A'", STATUS)).toBe(`"status" IS NOT NULL AND COALESCE ("status", 'A') = 'A'`);
    expect(translated("status || '!' = 'Open!'", STATUS)).toBe(`"status" || '!' = 'Open!'`);
    expect(translated("length(code) < 9 AND code IS NULL OR trim(code) = 'x'", STATUS)).toBe(`LENGTH ("code") < 9 AND "code" IS NULL OR TRIM ("code") = 'x'`);
  });

  it('a string literal compared with a column of no collation stays as written', () => {
    expect(translated("note IN ('Open', 'DONE') AND 'X' = note", STATUS)).toBe(`"note" IN ('Open', 'DONE') AND 'X' = "note"`);
  });

  it('any other comparison of the column is not portable, and says which', () => {
    const why = (body: string): string => translated(body, STATUS).replace(/^not portable: /, '');
    expect(why("status < 'b'")).toBe('compares NOCASE column status with <');
    expect(why("status BETWEEN 'a' AND 'm'")).toBe('compares NOCASE column status with BETWEEN');
    expect(why("note BETWEEN 'a' AND status")).toBe('compares NOCASE column status with AND');
    expect(why('status = other')).toBe('compares NOCASE column status with = and something other than string literals');
    expect(why('status = note')).toBe('compares NOCASE column status with = and something other than string literals');
    expect(why("status IN ('a', 1)")).toBe('compares NOCASE column status with IN and something other than string literals');
    expect(why("status = 'a' || 'b'")).toBe('compares NOCASE column status with = and something other than string literals');
    expect(why("'a' IN (status, 'b')")).toBe('compares NOCASE column status with IN');
    expect(why("nullif(status, 'a') IS NULL")).toBe('compares NOCASE column status with NULLIF');
    expect(why("CASE status WHEN 'a' THEN 1 END")).toBe('compares NOCASE column status with CASE');
    expect(why("status NOT BETWEEN 'a' AND 'b'")).toBe('compares NOCASE column status with NOT BETWEEN');
    expect(why("status GLOB 'a*'")).toBe('compares NOCASE column status with GLOB');
    expect(why("code = 'x'")).toBe('compares RTRIM column code with =');
    expect(why("code IN ('x')")).toBe('compares RTRIM column code with IN');
    expect(why("status COLLATE BINARY = 'a'")).toBe('uses an explicit COLLATE');
    expect(why("note = 'a' COLLATE NOCASE")).toBe('uses an explicit COLLATE');
  });

  it('what PostgreSQL lacks is named', () => {
    expect(translated("note GLOB 'a*'", STATUS)).toBe('not portable: uses GLOB, which PostgreSQL does not have');
    expect(translated('note <> "zz"', STATUS)).toBe('not portable: names "zz", which is no column');
    expect(translated('note & 1', STATUS)).toBe('not portable: uses operator &');
  });
});
