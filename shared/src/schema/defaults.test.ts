import { describe, expect, it } from 'vitest';
import type { Notice, ValueKind } from './model.js';
import { translateDefault } from './defaults.js';

const WHERE = { table: 'orders', column: 'created_at' };
const UTC_NOW = "(now() AT TIME ZONE 'UTC')";

function translate(sqliteDefault: string | null, kind: ValueKind): { sql: string | null; notices: Notice[] } {
  const notices: Notice[] = [];
  const sql = translateDefault(sqliteDefault, kind, WHERE, notices);
  return { sql, notices };
}

function warnings(notices: Notice[]): Notice[] {
  return notices.filter((n) => n.level === 'warn');
}

describe('translateDefault', () => {
  it('no default stays no default, without a notice', () => {
    expect(translate(null, 'text')).toEqual({ sql: null, notices: [] });
  });

  describe('clock values (SQLite works in UTC)', () => {
    it('CURRENT_TIMESTAMP for timestamptz is CURRENT_TIMESTAMP', () => {
      expect(translate('CURRENT_TIMESTAMP', 'timestamptz')).toEqual({ sql: 'CURRENT_TIMESTAMP', notices: [] });
    });

    it('CURRENT_TIMESTAMP for timestamp is UTC wall-clock time', () => {
      expect(translate('CURRENT_TIMESTAMP', 'timestamp')).toEqual({ sql: UTC_NOW, notices: [] });
    });

    it('CURRENT_TIMESTAMP for text is the same text SQLite writes', () => {
      const { sql, notices } = translate('current_timestamp', 'text');
      expect(sql).toBe(`to_char(${UTC_NOW}, 'YYYY-MM-DD HH24:MI:SS')`);
      expect(notices).toEqual([]);
    });

    it('CURRENT_DATE and CURRENT_TIME', () => {
      expect(translate('CURRENT_DATE', 'date').sql).toBe(`${UTC_NOW}::date`);
      expect(translate('CURRENT_DATE', 'text').sql).toBe(`to_char(${UTC_NOW}, 'YYYY-MM-DD')`);
      expect(translate('CURRENT_TIME', 'time').sql).toBe(`${UTC_NOW}::time(0)`);
      expect(translate('CURRENT_TIME', 'text').sql).toBe(`to_char(${UTC_NOW}, 'HH24:MI:SS')`);
    });

    it("(datetime('now')) with its parentheses", () => {
      expect(translate("(datetime('now'))", 'timestamp')).toEqual({ sql: UTC_NOW, notices: [] });
      expect(translate("(datetime('now'))", 'timestamptz').sql).toBe('CURRENT_TIMESTAMP');
    });

    it("datetime('now','utc')", () => {
      expect(translate("datetime('now','utc')", 'timestamp').sql).toBe(UTC_NOW);
      expect(translate("datetime('now', 'UTC')", 'timestamp').sql).toBe(UTC_NOW);
    });

    it("strftime('%Y-%m-%d %H:%M:%S','now')", () => {
      const { sql, notices } = translate("strftime('%Y-%m-%d %H:%M:%S','now')", 'timestamp');
      expect(sql).toBe(UTC_NOW);
      expect(notices).toEqual([]);
      expect(translate("(strftime('%Y-%m-%d %H:%M:%S', 'now'))", 'text').sql).toBe(`to_char(${UTC_NOW}, 'YYYY-MM-DD HH24:MI:SS')`);
      expect(translate("strftime('%Y-%m-%dT%H:%M:%fZ','now')", 'timestamptz').sql).toBe('CURRENT_TIMESTAMP');
    });

    it("strftime('%s','now') for an integer column is epoch seconds", () => {
      expect(translate("strftime('%s','now')", 'integer')).toEqual({ sql: 'extract(epoch from now())::bigint', notices: [] });
      expect(translate("(unixepoch('now'))", 'integer').sql).toBe('extract(epoch from now())::bigint');
    });

    it('a clock value where the column cannot hold it is dropped with a warning', () => {
      const { sql, notices } = translate('CURRENT_TIMESTAMP', 'integer');
      expect(sql).toBeNull();
      expect(warnings(notices)).toHaveLength(1);
    });

    it("a date modifier other than 'now' is not a clock value", () => {
      const { sql, notices } = translate("datetime('now','+1 day')", 'timestamp');
      expect(sql).toBeNull();
      expect(warnings(notices)).toHaveLength(1);
    });
  });

  describe('literals', () => {
    it.each<[string, ValueKind, string]>([
      ['0', 'integer', '0'],
      ['42', 'integer', '42'],
      ['-5', 'integer', '-5'],
      ['+7', 'integer', '7'],
      ['(-5)', 'integer', '-5'],
      ['1.5', 'real', '1.5'],
      ['-1.5e3', 'real', '-1.5e3'],
      ['.25', 'numeric', '.25'],
      ['-0.01', 'numeric', '-0.01'],
    ])('number %s for %s → %s', (literal, kind, expected) => {
      expect(translate(literal, kind)).toEqual({ sql: expected, notices: [] });
    });

    it('a non-integer number for an integer column is dropped with a warning', () => {
      const { sql, notices } = translate('1.5', 'integer');
      expect(sql).toBeNull();
      expect(warnings(notices)).toHaveLength(1);
    });

    it("string literals keep embedded quotes, escaped for PostgreSQL", () => {
      expect(translate("'pending'", 'text')).toEqual({ sql: "'pending'", notices: [] });
      expect(translate("'it''s'", 'text').sql).toBe("'it''s'");
      expect(translate("'say \"hi\"'", 'text').sql).toBe("'say \"hi\"'");
      expect(translate("''", 'text').sql).toBe("''");
    });

    it('a string literal for a timestamp column stays a literal', () => {
      expect(translate("'2020-01-01 00:00:00'", 'timestamp').sql).toBe("'2020-01-01 00:00:00'");
    });

    it.each<[string, string]>([
      ['TRUE', 'true'],
      ['FALSE', 'false'],
      ['true', 'true'],
      ['1', 'true'],
      ['0', 'false'],
      ["'t'", 'true'],
      ["'no'", 'false'],
    ])('boolean %s → %s', (literal, expected) => {
      expect(translate(literal, 'boolean')).toEqual({ sql: expected, notices: [] });
    });

    it('a boolean default outside 0/1 is dropped with a warning', () => {
      const { sql, notices } = translate('2', 'boolean');
      expect(sql).toBeNull();
      expect(warnings(notices)).toHaveLength(1);
    });

    it('a double-quoted default (SQLite reads it as a string) becomes a literal, with a notice', () => {
      const { sql, notices } = translate('"draft"', 'text');
      expect(sql).toBe("'draft'");
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatchObject({ level: 'info', table: 'orders', column: 'created_at' });
      expect(notices[0]!.message).toMatch(/double-quoted/);
    });

    it('DEFAULT NULL is no default, and nothing to warn about', () => {
      const { sql, notices } = translate('NULL', 'text');
      expect(sql).toBeNull();
      expect(warnings(notices)).toEqual([]);
      expect(translate('null', 'integer').sql).toBeNull();
    });

    it("X'00ff' for a blob column is a bytea literal", () => {
      expect(translate("X'00FF'", 'blob')).toEqual({ sql: "'\\x00ff'::bytea", notices: [] });
      expect(translate("x''", 'blob').sql).toBe("'\\x'::bytea");
    });

    it('a blob literal for a text column is dropped with a warning', () => {
      const { sql, notices } = translate("X'00ff'", 'text');
      expect(sql).toBeNull();
      expect(warnings(notices)).toHaveLength(1);
    });
  });

  it('an unknown function is dropped with a warning naming the table and column', () => {
    const { sql, notices } = translate('(random())', 'integer');
    expect(sql).toBeNull();
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ level: 'warn', table: 'orders', column: 'created_at' });
    expect(notices[0]!.message).toContain('random()');
  });

  it('an expression is dropped with a warning', () => {
    const { sql, notices } = translate('(1 + 2)', 'integer');
    expect(sql).toBeNull();
    expect(warnings(notices)).toHaveLength(1);
  });
});

describe('translateDefault for a column of epochs read as timestamps', () => {
  it("strftime('%s','now') and unixepoch() are now; a number is the timestamp the loader makes of it", () => {
    const notices: Notice[] = [];
    expect(translateDefault("(strftime('%s','now'))", 'timestamp', WHERE, notices, 'seconds')).toBe(UTC_NOW);
    expect(translateDefault("unixepoch('now')", 'timestamptz', WHERE, notices, 'seconds')).toBe('CURRENT_TIMESTAMP');
    expect(translateDefault('0', 'timestamp', WHERE, notices, 'seconds')).toBe("'1970-01-01 00:00:00'");
    expect(translateDefault('1700000000123', 'timestamp', WHERE, notices, 'milliseconds')).toBe("'2023-11-14 22:13:20.123'");
    expect(translateDefault('86400', 'date', WHERE, notices, 'seconds')).toBe("'1970-01-02'");
    expect(notices).toEqual([]);
  });

  it("milliseconds: strftime('%s','now') * 1000 is now in a column of epoch milliseconds, and epoch milliseconds in an integer column", () => {
    const notices: Notice[] = [];
    expect(translateDefault("(strftime('%s','now') * 1000)", 'timestamp', WHERE, notices, 'milliseconds')).toBe(UTC_NOW);
    expect(translateDefault('unixepoch() * 1000', 'integer', WHERE, notices)).toBe('(extract(epoch from now()) * 1000)::bigint');
    expect(notices).toEqual([]);
    // In a column of epoch seconds, milliseconds would be wrong by a factor of 1000: dropped, with a notice.
    expect(translateDefault("strftime('%s','now') * 1000", 'timestamp', WHERE, notices, 'seconds')).toBeNull();
    expect(translateDefault("strftime('%d','now') * 1000", 'integer', WHERE, notices)).toBeNull();
    expect(warnings(notices)).toHaveLength(2);
  });

  it('without epochs, an epoch default on a timestamp has no equivalent and is dropped with a notice', () => {
    const { sql, notices } = translate("(strftime('%s','now'))", 'timestamp');
    expect(sql).toBeNull();
    expect(warnings(notices)).toHaveLength(1);
  });
});
