import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LiteshiftError, readSchema, type SqliteDatabase, type TableModel } from '@liteshift/shared';
import { SqliteTableWriter, type RowChange } from './table-writer.js';

function open(ddl: string): { db: SqliteDatabase; table: (name: string) => TableModel } {
  const db = new Database(':memory:');
  db.defaultSafeIntegers(true);
  db.pragma('foreign_keys = OFF');
  db.exec(ddl);
  const model = readSchema(db, { profile: false });
  return { db, table: (name) => model.tables.find((t) => t.name === name)! };
}

function write(db: SqliteDatabase, table: TableModel, changes: RowChange[]) {
  const writer = new SqliteTableWriter(db, table, table.columns);
  return db.transaction(() => writer.apply(changes)).immediate();
}

const rows = (db: SqliteDatabase, sql: string) => db.prepare(sql).raw(true).all();

describe('SqliteTableWriter', () => {
  it('inserts, leaves an unchanged row alone, updates what differs, deletes by key; applying twice changes nothing', () => {
    const { db, table } = open('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE, n INTEGER)');
    const t = table('t');
    const changes: RowChange[] = [
      { key: [1n], row: [1n, 'a', 10n] },
      { key: [2n], row: [2n, 'b', 20n] },
    ];
    expect(write(db, t, changes)).toEqual({ upserted: 2, deleted: 0, unchanged: 0 });
    expect(write(db, t, changes)).toEqual({ upserted: 0, deleted: 0, unchanged: 2 });
    // A change of case only, in a NOCASE column: still a change.
    expect(write(db, t, [{ key: [1n], row: [1n, 'A', 10n] }, { key: [2n], row: null }])).toEqual({ upserted: 1, deleted: 1, unchanged: 0 });
    expect(write(db, t, [{ key: [2n], row: null }])).toEqual({ upserted: 0, deleted: 0, unchanged: 0 });
    expect(rows(db, 'SELECT * FROM t')).toEqual([[1n, 'A', 10n]]);
  });

  it('a table without a primary key is written by rowid: applied twice, its rows are not doubled', () => {
    const { db, table } = open('CREATE TABLE log (at TEXT, what TEXT)');
    const t = table('log');
    expect(t.keyIsRowid).toBe(true);
    const changes: RowChange[] = [
      { key: [7n], row: ['2024-01-01 00:00:00', 'x', 7n] },
      { key: [9n], row: ['2024-01-02 00:00:00', 'y', 9n] },
    ];
    write(db, t, changes);
    write(db, t, changes);
    expect(rows(db, 'SELECT rowid, at, what FROM log ORDER BY rowid')).toEqual([
      [7n, '2024-01-01 00:00:00', 'x'],
      [9n, '2024-01-02 00:00:00', 'y'],
    ]);
  });

  it("keys match exactly: under NOCASE, the delete of 'abc' does not take the row 'ABC' another event wrote", () => {
    const { db, table } = open('CREATE TABLE tag (name TEXT COLLATE NOCASE PRIMARY KEY, n INTEGER) WITHOUT ROWID');
    const t = table('tag');
    write(db, t, [{ key: ['abc'], row: ['abc', 1n] }]);
    // PostgreSQL (case-sensitive) renamed it: the new key arrives, the old one's delete too, in either order.
    write(db, t, [{ key: ['ABC'], row: ['ABC', 1n] }]);
    write(db, t, [{ key: ['abc'], row: null }]);
    expect(rows(db, 'SELECT * FROM tag')).toEqual([['ABC', 1n]]);
  });

  it('a value that moved from one row to another on a UNIQUE column: the stale row goes, its own event brings it back', () => {
    const { db, table } = open('CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE)');
    const t = table('u');
    write(db, t, [{ key: [1n], row: [1n, 'x@example.com'] }, { key: [2n], row: [2n, 'y@example.com'] }]);
    // On PostgreSQL: 1 took y's address, 2 took a new one. Row 1's event comes first.
    write(db, t, [{ key: [1n], row: [1n, 'y@example.com'] }]);
    expect(rows(db, 'SELECT * FROM u ORDER BY id')).toEqual([[1n, 'y@example.com']]);
    write(db, t, [{ key: [2n], row: [2n, 'z@example.com'] }]);
    expect(rows(db, 'SELECT * FROM u ORDER BY id')).toEqual([
      [1n, 'y@example.com'],
      [2n, 'z@example.com'],
    ]);
  });

  it('a row the SQLite table refuses is reported with its table and key; nothing of the batch stays', () => {
    const { db, table } = open('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    const t = table('t');
    let error: unknown;
    try {
      write(db, t, [{ key: [1n], row: [1n, 'ok'] }, { key: [2n], row: [2n, null] }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LiteshiftError);
    expect((error as LiteshiftError).message).toMatch(/cannot write t key \(2\) into SQLite: NOT NULL constraint failed: t\.name/);
    expect(rows(db, 'SELECT count(*) FROM t')).toEqual([[0n]]);
  });

  it('a table in the file without the key the model names is refused up front', () => {
    const { db, table } = open('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
    const t = table('t');
    db.exec('DROP TABLE t; CREATE TABLE t (id INTEGER, name TEXT)');
    expect(() => new SqliteTableWriter(db, t, t.columns)).toThrow(/cannot write t in the SQLite file by its key \(id\)/);
  });
});
