import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTable, sqliteTableRef } from '../schema/model.js';
import { readSchema } from './introspect.js';
import { openSqlite } from './open.js';
import { ReadableCopy, withBuiltinCollations } from './readable-copy.js';
import { TableReader } from './table-reader.js';
import { installCapture, readChanges } from './capture.js';
// Renames a collation in the schema text, as if the application had declared its own (SQLite then cannot open the table).
import { rewriteSchemaText as renameCollation } from '../../../test/helpers/sqlite-schema.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'liteshift-readable-copy-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});


/**
 * A WITHOUT ROWID table keyed by a collation only "the application" has: written under
 * NOCASE (so its b-tree is in NOCASE order, which BINARY's differs from), then renamed.
 */
function anki(name: string): string {
  const path = join(dir, name);
  const w = new Database(path);
  w.exec(`CREATE TABLE tags (tag TEXT NOT NULL COLLATE NOCASE PRIMARY KEY, usn INTEGER NOT NULL, note TEXT COLLATE NOCASE) WITHOUT ROWID;
          CREATE INDEX tags_note ON tags (note COLLATE NOCASE);
          CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
          INSERT INTO tags VALUES ('b', 1, 'x'), ('A', 2, 'y'), ('C', 3, NULL), ('a2', 4, 'z');
          INSERT INTO notes (body) VALUES ('hello');`);
  w.close();
  renameCollation(path, 'COLLATE NOCASE', 'COLLATE unicase');
  return path;
}

describe('withBuiltinCollations', () => {
  it('names every collation SQLite lacks BINARY, whatever its quoting, and keeps the built-in ones', () => {
    expect(withBuiltinCollations('CREATE TABLE t (a TEXT COLLATE unicase PRIMARY KEY, b collate "app x", c TEXT COLLATE NOCASE) WITHOUT ROWID')).toBe(
      'CREATE TABLE t (a TEXT COLLATE BINARY PRIMARY KEY, b collate BINARY, c TEXT COLLATE NOCASE) WITHOUT ROWID',
    );
  });
});

describe('ReadableCopy', () => {
  it('a table SQLite cannot open here is read from the copy, in BINARY key order, in chunks and by key', async () => {
    const db = openSqlite(anki('anki.db'), { readonly: true });
    try {
      // Without the copy, the table is unreadable, and says why.
      expect(findTable(readSchema(db), 'tags')).toBeUndefined();
      expect(readSchema(db).skipped).toContainEqual(expect.objectContaining({ name: 'tags', type: 'unreadable', reason: expect.stringMatching(/collation unicase/) }));

      const copy = await ReadableCopy.attach(db);
      expect(copy?.tables).toEqual(['tags']);
      try {
        const model = readSchema(db);
        const tags = findTable(model, 'tags')!;
        expect(tags).toMatchObject({ readFromCopy: true, withoutRowid: true, key: ['tag'], rowCount: 4 });
        expect(tags.columns.find((c) => c.name === 'tag')?.foreignCollation).toBe('unicase');
        expect(findTable(model, 'notes')?.readFromCopy).toBeUndefined();
        expect(model.skipped.some((s) => s.name === 'tags')).toBe(false);
        expect(model.notices.some((n) => n.table === 'tags' && /private copy/.test(n.message))).toBe(true);

        const rows = [...new TableReader(db, tags).chunks(2)].flat();
        expect(rows.map((r) => r[0])).toEqual(['A', 'C', 'a2', 'b']);
        const byKey = db.prepare(`SELECT usn FROM ${sqliteTableRef(tags)} WHERE tag COLLATE BINARY = ?`).pluck();
        expect(byKey.get('b')).toBe(1n);
        expect(byKey.get('B')).toBeUndefined();
      } finally {
        copy?.close();
      }
    } finally {
      db.close();
    }
  });

  it('refresh makes the copy again only once another connection has written to the file', async () => {
    const path = anki('refresh.db');
    const db = openSqlite(path, { readonly: true });
    const copy = (await ReadableCopy.attach(db))!;
    try {
      expect(await copy.refresh()).toBe(false);
      // The application writes the table (with its collation: here, NOCASE under its own name again).
      renameCollation(path, 'COLLATE unicase', 'COLLATE NOCASE');
      const app = new Database(path);
      app.exec("INSERT INTO tags VALUES ('B2', 5, NULL); DELETE FROM tags WHERE tag = 'C'");
      app.close();
      renameCollation(path, 'COLLATE NOCASE', 'COLLATE unicase');
      expect(await copy.refresh()).toBe(true);
      const tags = findTable(readSchema(db), 'tags')!;
      expect([...new TableReader(db, tags).chunks(10)].flat().map((r) => r[0])).toEqual(['A', 'B2', 'a2', 'b']);
      expect(await copy.refresh()).toBe(false);
    } finally {
      copy.close();
      db.close();
    }
  });

  it('under change capture: triggers install on the table itself, the application\'s changes are recorded, the refreshed copy holds them', async () => {
    const path = anki('capture.db');
    const db = openSqlite(path);
    db.pragma('journal_mode = WAL');
    const copy = (await ReadableCopy.attach(db))!;
    try {
      const tags = findTable(readSchema(db), 'tags')!;
      installCapture(db, [tags]);
      renameCollation(path, 'COLLATE unicase', 'COLLATE NOCASE');
      const app = new Database(path);
      app.exec("INSERT INTO tags VALUES ('z9', 9, NULL); UPDATE tags SET usn = 20 WHERE tag = 'b'; DELETE FROM tags WHERE tag = 'A'");
      app.close();
      renameCollation(path, 'COLLATE NOCASE', 'COLLATE unicase');
      expect(readChanges(db, 0n, 10, 1).map((c) => [c.op, c.key[0]])).toEqual([
        ['c', 'z9'],
        ['u', 'b'],
        ['d', 'A'],
      ]);
      expect(await copy.refresh()).toBe(true);
      const byKey = db.prepare(`SELECT usn FROM ${sqliteTableRef(tags)} WHERE tag COLLATE BINARY = ?`).pluck();
      expect([byKey.get('z9'), byKey.get('b'), byKey.get('A')]).toEqual([9n, 20n, undefined]);
    } finally {
      copy.close();
      db.close();
    }
  });

  it('a file without such tables needs no copy', async () => {
    const path = join(dir, 'plain.db');
    const w = new Database(path);
    w.exec("CREATE TABLE t (k TEXT PRIMARY KEY COLLATE NOCASE, v INTEGER) WITHOUT ROWID; INSERT INTO t VALUES ('a', 1)");
    w.close();
    const db = openSqlite(path, { readonly: true });
    try {
      expect(await ReadableCopy.attach(db)).toBeNull();
    } finally {
      db.close();
    }
  });
});
