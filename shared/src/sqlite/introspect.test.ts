import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiteshiftError } from '../errors.js';
import { ROWID_COLUMN, findTable, type SchemaModel, type TableModel } from '../schema/model.js';
import { readSchema } from './introspect.js';
import { openSqlite, type SqliteDatabase } from './open.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'liteshift-introspect-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a SQLite file with plain better-sqlite3 (as an application would), then opens it the liteshift way. */
function build(name: string, sql: string, fill?: (db: Database.Database) => void): SqliteDatabase {
  const path = join(dir, name);
  const db = new Database(path);
  db.exec(sql);
  fill?.(db);
  db.close();
  return openSqlite(path, { readonly: true });
}

function table(model: SchemaModel, name: string): TableModel {
  const found = findTable(model, name);
  if (!found) throw new Error(`table ${name} missing; have ${model.tables.map((t) => t.name).join(', ')}`);
  return found;
}

function col(t: TableModel, name: string) {
  const found = t.columns.find((c) => c.name === name);
  if (!found) throw new Error(`column ${name} missing from ${t.name}`);
  return found;
}

const SCHEMA = `
  CREATE TABLE parent (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    score INTEGER CHECK (score >= 0),
    note TEXT
  );
  CREATE INDEX parent_score ON parent (score, name);
  CREATE TABLE child (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE,
    other INTEGER,
    FOREIGN KEY (other) REFERENCES parent
  );
  CREATE TABLE "Upper" (ID INTEGER PRIMARY KEY, Code TEXT);
  CREATE TABLE refs_case (x INTEGER PRIMARY KEY, up INTEGER, code TEXT, FOREIGN KEY (UP) REFERENCES upper (id));
  CREATE TABLE pairs (a INTEGER NOT NULL, b TEXT NOT NULL, v, PRIMARY KEY (b, a));
  CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
  CREATE TABLE wr (id INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID;
  CREATE TABLE logs (msg TEXT, level INTEGER);
  CREATE INDEX logs_level ON logs (level);
  CREATE INDEX logs_lower ON logs (lower(msg));
  CREATE TABLE mixed (id INTEGER PRIMARY KEY, n INTEGER, free, bytes);
  CREATE VIEW parent_names AS SELECT name FROM parent;
  CREATE TRIGGER parent_touch AFTER UPDATE ON parent BEGIN UPDATE parent SET note = 'touched' WHERE id = NEW.id; END;
  CREATE VIRTUAL TABLE docs USING fts5(body);
`;

describe('readSchema', () => {
  let db: SqliteDatabase;
  let model: SchemaModel;

  beforeAll(() => {
    db = build('schema.db', SCHEMA, (w) => {
      w.exec(`
        INSERT INTO parent (id, name, score) VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', NULL);
        INSERT INTO child (id, parent_id, other) VALUES (10, 1, 2);
        INSERT INTO logs (msg, level) VALUES ('x', 1), ('y', 2);
        INSERT INTO mixed (id, n, free, bytes) VALUES (1, 1, 10, x'00'), (2, 2, 20, x'01'), (3, 'three', 30, NULL), (4, NULL, NULL, x'02');
        INSERT INTO docs (body) VALUES ('hello world');
      `);
    });
    model = readSchema(db);
  });

  afterAll(() => db.close());

  it('lists the ordinary tables only', () => {
    expect(model.tables.map((t) => t.name).sort()).toEqual(['Upper', 'child', 'kv', 'logs', 'mixed', 'pairs', 'parent', 'refs_case', 'wr'].sort());
  });

  it('skips views, triggers, virtual tables and their shadow tables, saying which', () => {
    const skipped = new Map(model.skipped.map((s) => [s.name, s.type]));
    expect(skipped.get('parent_names')).toBe('view');
    expect(skipped.get('parent_touch')).toBe('trigger');
    expect(skipped.get('docs')).toBe('virtual-table');
    const shadows = model.skipped.filter((s) => s.name.startsWith('docs_'));
    expect(shadows.length).toBeGreaterThanOrEqual(3);
    for (const shadow of shadows) expect(shadow.type).toBe('shadow-table');
    for (const s of model.skipped) expect(s.reason.length).toBeGreaterThan(0);
  });

  it('an INTEGER PRIMARY KEY is the key and an identity', () => {
    const parent = table(model, 'parent');
    expect(parent.key).toEqual(['id']);
    expect(parent.keyIsRowid).toBe(false);
    expect(parent.withoutRowid).toBe(false);
    expect(col(parent, 'id')).toMatchObject({ identity: true, kind: 'integer', pgType: 'bigint', notNull: true, pgDefault: null });
    expect(col(parent, 'id').reason).toMatch(/identity/);
    expect(col(parent, 'name').identity).toBe(false);
  });

  it('keeps NOT NULL, and nothing more', () => {
    const parent = table(model, 'parent');
    expect(col(parent, 'name').notNull).toBe(true);
    expect(col(parent, 'score').notNull).toBe(false);
    expect(col(parent, 'note').notNull).toBe(false);
  });

  it('translates DEFAULT CURRENT_TIMESTAMP', () => {
    const created = col(table(model, 'parent'), 'created_at');
    expect(created.sqliteDefault).toBe('CURRENT_TIMESTAMP');
    expect(created.kind).toBe('timestamp');
    expect(created.pgDefault).toBe("(now() AT TIME ZONE 'UTC')");
  });

  it('reads UNIQUE as an index of origin u and CREATE INDEX as origin c, in column order', () => {
    const indexes = table(model, 'parent').indexes;
    expect(indexes).toHaveLength(2);
    expect(indexes.find((i) => i.origin === 'u')).toMatchObject({ unique: true, columns: ['name'] });
    expect(indexes.find((i) => i.origin === 'c')).toEqual({ name: 'parent_score', unique: false, columns: ['score', 'name'], origin: 'c' });
  });

  it('extracts CHECK constraints', () => {
    expect(table(model, 'parent').checks).toEqual([{ sqliteSql: 'score >= 0', pgSql: '"score" >= 0' }]);
  });

  it('reads foreign keys, with ON DELETE, and resolves a missing column list to the parent key', () => {
    const fks = table(model, 'child').foreignKeys;
    expect(fks).toHaveLength(2);
    expect(fks.find((f) => f.columns[0] === 'parent_id')).toMatchObject({ refTable: 'parent', refColumns: ['id'], onDelete: 'CASCADE', onUpdate: 'NO ACTION' });
    expect(fks.find((f) => f.columns[0] === 'other')).toMatchObject({ refTable: 'parent', refColumns: ['id'], onDelete: 'NO ACTION' });
  });

  it('resolves foreign keys written in another letter case to the real names', () => {
    const [fk] = table(model, 'refs_case').foreignKeys;
    expect(fk).toMatchObject({ columns: ['up'], refTable: 'Upper', refColumns: ['ID'] });
  });

  it('reads a composite primary key in key order, not column order', () => {
    const pairs = table(model, 'pairs');
    expect(pairs.key).toEqual(['b', 'a']);
    expect(pairs.keyIsRowid).toBe(false);
    expect(pairs.columns.map((c) => c.name)).toEqual(['a', 'b', 'v']);
    expect(pairs.columns.every((c) => !c.identity)).toBe(true);
  });

  it('reads WITHOUT ROWID tables; their INTEGER PRIMARY KEY is no rowid alias', () => {
    const kv = table(model, 'kv');
    expect(kv).toMatchObject({ withoutRowid: true, key: ['k'], keyIsRowid: false });
    expect(col(kv, 'k').notNull).toBe(true);
    expect(kv.columns.some((c) => c.name === ROWID_COLUMN)).toBe(false);
    const wr = table(model, 'wr');
    expect(wr.withoutRowid).toBe(true);
    expect(col(wr, 'id').identity).toBe(false);
  });

  it('keys a table without a primary key by rowid', () => {
    const logs = table(model, 'logs');
    expect(logs.keyIsRowid).toBe(true);
    expect(logs.key).toEqual([ROWID_COLUMN]);
    const rowid = logs.columns[logs.columns.length - 1]!;
    expect(rowid).toMatchObject({ name: ROWID_COLUMN, synthetic: 'rowid', kind: 'integer', pgType: 'bigint', notNull: true, identity: false });
    expect(model.notices.some((n) => n.table === 'logs' && /rowid/.test(n.message))).toBe(true);
  });

  it('creates plain-column indexes and warns about expression indexes', () => {
    const logs = table(model, 'logs');
    expect(logs.indexes).toEqual([{ name: 'logs_level', unique: false, columns: ['level'], origin: 'c' }]);
    expect(model.notices.some((n) => n.level === 'warn' && n.table === 'logs' && n.message.includes('logs_lower'))).toBe(true);
  });

  it('profiles the stored values and widens an INTEGER column that holds text', () => {
    const mixed = table(model, 'mixed');
    const n = col(mixed, 'n');
    expect(n.kind).toBe('text');
    expect(n.pgType).toBe('text');
    expect(n.reason).toMatch(/text/);
    expect(n.profile).toMatchObject({ rows: 4, integers: 2, texts: 1, nulls: 1, reals: 0, blobs: 0 });
  });

  it('types columns without a declared type by what they store', () => {
    const mixed = table(model, 'mixed');
    expect(col(mixed, 'free')).toMatchObject({ declaredType: '', kind: 'integer', pgType: 'bigint' });
    expect(col(mixed, 'free').profile).toMatchObject({ integers: 3, nulls: 1 });
    expect(col(mixed, 'bytes')).toMatchObject({ kind: 'blob', pgType: 'bytea' });
  });

  it('counts rows', () => {
    expect(table(model, 'parent').rowCount).toBe(3);
    expect(table(model, 'mixed').rowCount).toBe(4);
    expect(table(model, 'kv').rowCount).toBe(0);
  });

  it('can skip profiling and counting', () => {
    const quick = readSchema(db, { profile: false, count: false });
    const mixed = table(quick, 'mixed');
    expect(mixed.rowCount).toBeUndefined();
    expect(col(mixed, 'n').profile).toBeUndefined();
    expect(col(mixed, 'n').kind).toBe('integer');
  });
});

describe('readSchema edge cases', () => {
  it('drops a foreign key to a missing table with a warning', () => {
    const db = build('dangling.db', 'CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES gone (id));');
    try {
      const model = readSchema(db);
      expect(table(model, 'c').foreignKeys).toEqual([]);
      expect(model.notices.some((n) => n.level === 'warn' && n.message.includes('gone'))).toBe(true);
    } finally {
      db.close();
    }
  });

  it('refuses a rowid table that already has a liteshift_rowid column', () => {
    const db = build('clash.db', `CREATE TABLE t (${ROWID_COLUMN} INTEGER, v TEXT);`);
    try {
      expect(() => readSchema(db)).toThrow(ROWID_COLUMN);
    } finally {
      db.close();
    }
  });

  it('skips liteshift\'s own tables', () => {
    const db = build('internal.db', 'CREATE TABLE _liteshift_changelog (seq INTEGER PRIMARY KEY); CREATE TABLE app (id INTEGER PRIMARY KEY);');
    try {
      expect(readSchema(db).tables.map((t) => t.name)).toEqual(['app']);
    } finally {
      db.close();
    }
  });
});

describe('openSqlite', () => {
  function openError(path: string): LiteshiftError {
    try {
      openSqlite(path).close();
    } catch (error) {
      expect(error).toBeInstanceOf(LiteshiftError);
      return error as LiteshiftError;
    }
    throw new Error(`openSqlite(${path}) did not throw`);
  }

  it('a missing path is SQLITE_NOT_FOUND, and no file is created', () => {
    const path = join(dir, 'missing.db');
    const error = openError(path);
    expect(error.code).toBe('SQLITE_NOT_FOUND');
    expect(error.message).toContain(path);
    expect(existsSync(path)).toBe(false);
  });

  it('a text file is SQLITE_NOT_DATABASE', () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'this is not a database, just some text that is long enough\n');
    expect(openError(path).code).toBe('SQLITE_NOT_DATABASE');
  });

  it('a file shorter than the header is SQLITE_NOT_DATABASE', () => {
    const path = join(dir, 'short.db');
    writeFileSync(path, 'SQLite');
    expect(openError(path).code).toBe('SQLITE_NOT_DATABASE');
  });

  it('an empty file is SQLITE_NOT_DATABASE', () => {
    const path = join(dir, 'empty.db');
    writeFileSync(path, '');
    expect(openError(path).code).toBe('SQLITE_NOT_DATABASE');
  });

  it('a directory is SQLITE_NOT_FOUND', () => {
    const path = join(dir, 'a-directory.db');
    mkdirSync(path);
    const error = openError(path);
    expect(error.code).toBe('SQLITE_NOT_FOUND');
    expect(error.message).toMatch(/directory/);
  });

  it('opens a real database with integers as BigInt', () => {
    const db = build('ints.db', 'CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (9007199254740993);');
    try {
      expect(db.prepare('SELECT v FROM t').pluck().get()).toBe(9007199254740993n);
    } finally {
      db.close();
    }
  });
});
