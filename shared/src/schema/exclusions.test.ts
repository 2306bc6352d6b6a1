import { describe, expect, it } from 'vitest';
import { parseExcludedColumns, parseExcludedTables, sameName } from './exclusions.js';

describe('--exclude-table and --exclude-column', () => {
  it('take names separated by ; or , and quoted as in SQL', () => {
    expect(parseExcludedTables('audit; "my;table", [x y]')).toEqual(['audit', 'my;table', 'x y']);
    expect(parseExcludedColumns('users.avatar;"my table"."a.b"')).toEqual([
      { table: 'users', column: 'avatar' },
      { table: 'my table', column: 'a.b' },
    ]);
  });

  it('name every mistake', () => {
    expect(() => parseExcludedTables('my table')).toThrow(/"my table" is not a table name/);
    expect(() => parseExcludedColumns('users; a.b.c')).toThrow(/"users" is not table\.column.*"a\.b\.c" is not table\.column/);
  });

  it('match as SQLite does: without regard to ASCII case only', () => {
    expect(sameName('Users', 'uSERS')).toBe(true);
    expect(sameName('Ärger', 'ärger')).toBe(false);
  });
});
