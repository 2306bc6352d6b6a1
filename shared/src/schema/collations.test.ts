import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { columnCollations } from './collations.js';

describe('columnCollations', () => {
  it('finds the columns declared NOCASE or RTRIM, whatever the case and quoting', () => {
    const sql = 'CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT COLLATE NOCASE, [b c] TEXT collate rtrim, "d" TEXT COLLATE "nocase" NOT NULL, e TEXT)';
    expect(columnCollations(sql)).toEqual(
      new Map([
        ['status', 'NOCASE'],
        ['b c', 'RTRIM'],
        ['d', 'NOCASE'],
      ]),
    );
  });

  it('leaves out BINARY and collations only the application registers', () => {
    expect(columnCollations('CREATE TABLE t (a TEXT COLLATE BINARY, b TEXT COLLATE unicase, c TEXT)').size).toBe(0);
  });

  it('takes the last COLLATE of a column, as SQLite does', () => {
    expect(columnCollations('CREATE TABLE t (a TEXT COLLATE NOCASE COLLATE BINARY, b TEXT COLLATE BINARY COLLATE RTRIM)')).toEqual(new Map([['b', 'RTRIM']]));
  });

  it('ignores COLLATE inside CHECK, DEFAULT and generated expressions, and in table constraints', () => {
    const sql = `CREATE TABLE t (
      a TEXT CHECK (a COLLATE NOCASE <> 'x') DEFAULT ('y' COLLATE NOCASE),
      b TEXT GENERATED ALWAYS AS (a COLLATE RTRIM),
      c TEXT NOT NULL,
      UNIQUE (c COLLATE NOCASE),
      CONSTRAINT k CHECK (c COLLATE NOCASE IN ('p'))
    )`;
    expect(columnCollations(sql).size).toBe(0);
  });

  it('reads a column SQLite added with ALTER TABLE', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (a TEXT); ALTER TABLE t ADD COLUMN b TEXT COLLATE NOCASE');
    const { sql } = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 't'").get() as { sql: string };
    db.close();
    expect(columnCollations(sql)).toEqual(new Map([['b', 'NOCASE']]));
  });
});
