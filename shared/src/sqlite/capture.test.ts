import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findTable } from '../schema/model.js';
import { installCapture, installFence, missingTriggers, readChanges, removeFence, restoreFence, schemaSignature, schemaVersion } from './capture.js';
import { readSchema } from './introspect.js';
import { openSqlite, type SqliteDatabase } from './open.js';

/*
 * Capture in the SQLite file as an application meets it: its own connection writes (no
 * recursive_triggers), rebuilds tables the way ORMs do, and runs REPLACE.
 */
describe('capture triggers', () => {
  let dir: string;
  let path: string;
  let db: SqliteDatabase;
  let app: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-capture-'));
    path = join(dir, 'app.db');
    app = new Database(path);
    app.exec(`CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, color TEXT);
      CREATE TABLE settings (k TEXT NOT NULL, scope TEXT NOT NULL, v TEXT, UNIQUE (k, scope));
      CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
      INSERT INTO tags VALUES (1, 'home', NULL), (2, 'work', NULL), (3, 'urgent', 'red');
      INSERT INTO settings VALUES ('theme', 'user', 'light'), ('theme', 'team', 'dark');
      INSERT INTO notes VALUES (1, 'a'), (2, 'b');`);
    db = openSqlite(path);
    installCapture(db, readSchema(db, { profile: false }).tables);
  });

  afterEach(() => {
    db.close();
    app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const changes = (): string[] => readChanges(db, 0n, 1000, 1).map((c) => `${c.table} ${c.op} ${String(c.key[0])}`);

  it('REPLACE over another UNIQUE value records the key of the row it deletes; a plain insert records only its own', () => {
    app.prepare("INSERT INTO tags (id, name) VALUES (10, 'errands')").run();
    app.prepare("INSERT OR REPLACE INTO tags (id, name) VALUES (11, 'HOME')").run();
    app.prepare("UPDATE OR REPLACE tags SET name = 'work' WHERE id = 3").run();
    // Keyed by rowid, a composite UNIQUE: the old row of (theme, user) goes.
    app.prepare("REPLACE INTO settings (k, scope, v) VALUES ('theme', 'user', 'sepia')").run();
    expect(changes()).toEqual(['tags c 10', 'tags d 1', 'tags c 11', 'tags d 2', 'tags u 3', 'settings d 1', 'settings c 3']);
  });

  it('a table without UNIQUE constraints gets no guard', () => {
    const triggers = (app.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?").all('notes') as { name: string }[]).map((t) => t.name);
    expect(triggers.map((t) => t.replace(/^_liteshift_t_[0-9a-f]+_/, '')).sort()).toEqual(['del', 'ins', 'upd', 'updk']);
  });

  it('installed again over triggers as they should be: no DDL at all', () => {
    const before = schemaVersion(db);
    const versions = installCapture(db, readSchema(db, { profile: false }).tables);
    expect(versions).toEqual({ before, after: before });
  });

  it("a rebuild (CREATE new, copy, DROP, RENAME) loses the table's triggers and changes the schema's signature; capture's own DDL does not", () => {
    const signature = schemaSignature(db);
    installFence(db, [{ name: 'tags' }], 'fenced');
    removeFence(db);
    expect(schemaSignature(db)).toBe(signature);
    expect(missingTriggers(db, [{ name: 'tags' }, { name: 'notes' }], 'capture')).toEqual([]);
    app.exec(`BEGIN; CREATE TABLE new_notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO new_notes SELECT * FROM notes;
      DROP TABLE notes; ALTER TABLE new_notes RENAME TO notes; COMMIT;`);
    expect(missingTriggers(db, [{ name: 'tags' }, { name: 'notes' }], 'capture')).toEqual(['notes']);
    expect(schemaSignature(db)).not.toBe(signature);
  });

  it('a renamed table loses the triggers made for its old name', () => {
    app.exec('ALTER TABLE notes RENAME TO memos');
    installCapture(db, readSchema(db, { profile: false }).tables);
    app.prepare("INSERT INTO memos (id, body) VALUES (3, 'c')").run();
    expect(changes()).toEqual(['memos c 3']);
  });

  it('while a fence is up, restoreFence fences a rebuilt table with the same message; without one it does nothing', () => {
    expect(restoreFence(db, [{ name: 'notes' }]).fenced).toEqual([]);
    installFence(db, [{ name: 'tags' }, { name: 'notes' }], "moved to 'pg'");
    app.exec('BEGIN; CREATE TABLE new_notes (id INTEGER PRIMARY KEY, body TEXT); DROP TABLE notes; ALTER TABLE new_notes RENAME TO notes; COMMIT;');
    expect(missingTriggers(db, [{ name: 'tags' }, { name: 'notes' }], 'fence')).toEqual(['notes']);
    expect(restoreFence(db, [{ name: 'tags' }, { name: 'notes' }]).fenced).toEqual(['notes']);
    expect(() => app.prepare("INSERT INTO notes (id, body) VALUES (9, 'x')").run()).toThrow("moved to 'pg'");
    expect(findTable(readSchema(db, { profile: false }), 'notes')).toBeDefined();
  });
});
