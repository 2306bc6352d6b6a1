import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiteshiftError } from '../errors.js';
import { ROWID_COLUMN, findTable, sqliteCompareExpr, sqliteReadExpr, type SchemaModel, type TableModel } from '../schema/model.js';
import { fitPgName, quoteIdent } from '../schema/identifiers.js';
import { parseCasts } from '../schema/casts.js';
import { parseRenames } from '../schema/pg-names.js';
import { addForeignKeySql, createIndexSql, createTableSql } from '../pg/ddl.js';
import { Rejection, toPgText } from '../values/to-pg.js';
import type { SqlValue } from '../avro/binary.js';
import { readSchema, type ReadSchemaOptions } from './introspect.js';
import { openSqlite, type SqliteDatabase } from './open.js';
// Rewrites CREATE statements as an application with its own collation would have left them.
import { rewriteSchemaText as rewriteSchema } from '../../../test/helpers/sqlite-schema.js';

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

  it('translates DEFAULT CURRENT_TIMESTAMP: the clock itself in timestamptz (the default), the UTC clock in timestamp (--timestamps naive)', () => {
    const created = col(table(model, 'parent'), 'created_at');
    expect(created.sqliteDefault).toBe('CURRENT_TIMESTAMP');
    expect(created).toMatchObject({ kind: 'timestamptz', pgDefault: 'CURRENT_TIMESTAMP', naiveUtc: 'adopt' });
    const naive = col(table(readSchema(db, { timestamps: 'naive' }), 'parent'), 'created_at');
    expect(naive).toMatchObject({ kind: 'timestamp', pgDefault: "(now() AT TIME ZONE 'UTC')" });
    expect(naive.naiveUtc).toBeUndefined();
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

  it('refuses a rowid table that already has a liteshift_rowid column, in one line naming table and column and what to do', () => {
    for (const [file, sql, why] of [
      ['clash.db', `CREATE TABLE t (${ROWID_COLUMN} INTEGER, v TEXT)`, 'it has no primary key'],
      ['clash-null.db', `CREATE TABLE t (id TEXT PRIMARY KEY, ${ROWID_COLUMN} INTEGER); INSERT INTO t VALUES (NULL, 1);`, 'its primary key holds NULL in 1 row(s)'],
    ]) {
      const db = build(file!, sql!);
      try {
        expect(() => readSchema(db)).toThrow(`t.${ROWID_COLUMN}: liteshift keys this table by rowid (${why}) and keeps the rowid in a column of that very name`);
        expect(() => readSchema(db)).toThrow(expect.objectContaining({ code: 'SQLITE_UNSUPPORTED', hint: `rename the column in SQLite: ALTER TABLE "t" RENAME COLUMN ${ROWID_COLUMN} TO <another name>` }));
      } finally {
        db.close();
      }
    }
  });

  it('refuses a table PostgreSQL cannot hold: more than 1600 columns', () => {
    const columns = Array.from({ length: 1601 }, (_, i) => `c${i} INTEGER`).join(', ');
    const db = build('wide.db', `CREATE TABLE wide (id INTEGER PRIMARY KEY, ${columns});`);
    try {
      expect(() => readSchema(db, { profile: false })).toThrow('table wide has 1602 columns; PostgreSQL takes at most 1600');
    } finally {
      db.close();
    }
  });

  describe('a declared primary key that holds NULL', () => {
    const sql = `CREATE TABLE things (id integer auto_increment PRIMARY KEY, name TEXT);
      CREATE TABLE pairs (a TEXT, b TEXT, v, PRIMARY KEY (a, b));
      CREATE TABLE codes (code TEXT PRIMARY KEY, v);
      CREATE TABLE parts (id INTEGER PRIMARY KEY, thing_id INTEGER REFERENCES things, pair_a TEXT, pair_b TEXT, FOREIGN KEY (pair_a, pair_b) REFERENCES pairs);
      INSERT INTO things (name) VALUES ('x'), ('y');
      INSERT INTO things VALUES (7, 'seven');
      INSERT INTO pairs VALUES ('a', NULL, 1), ('a', 'b', 2);
      INSERT INTO codes VALUES ('c', 1);`;

    it('keys the table by rowid; the declared columns keep their values, nullable, under a UNIQUE index', () => {
      const db = build('nullkey.db', sql);
      try {
        for (const options of [{}, { profile: false, count: false }]) {
          const model = readSchema(db, options);
          const things = table(model, 'things');
          expect(things).toMatchObject({ key: [ROWID_COLUMN], keyIsRowid: true, declaredKey: ['id'] });
          expect(col(things, 'id')).toMatchObject({ notNull: false, identity: false, kind: 'integer' });
          expect(col(things, ROWID_COLUMN)).toMatchObject({ synthetic: 'rowid', notNull: true, reason: 'declared primary key (id) holds NULL: keyed by SQLite rowid' });
          expect(things.indexes).toEqual([{ name: 'sqlite_autoindex_things_1', unique: true, columns: ['id'], origin: 'u' }]);
          expect(createIndexSql('public', things, things.indexes[0]!)).toBe('CREATE UNIQUE INDEX IF NOT EXISTS "things_id_key" ON "public"."things" ("id")');
          // NULL in the second column of a composite key counts too.
          expect(table(model, 'pairs')).toMatchObject({ key: [ROWID_COLUMN], declaredKey: ['a', 'b'] });
          expect(table(model, 'codes')).toMatchObject({ key: ['code'], keyIsRowid: false });
          expect(col(table(model, 'codes'), 'code').notNull).toBe(true);
          expect(table(model, 'codes').declaredKey).toBeUndefined();
          // A foreign key naming only the parent points at its declared key, which the UNIQUE index serves.
          expect(table(model, 'parts').foreignKeys.map((fk) => [fk.refTable, fk.refColumns]).sort()).toEqual([
            ['pairs', ['a', 'b']],
            ['things', ['id']],
          ]);
          expect(model.notices.filter((n) => n.table === 'things')).toEqual([
            {
              level: 'warn',
              table: 'things',
              message: `primary key (id) holds NULL in 2 row(s), which a PostgreSQL primary key cannot: keyed by rowid (column ${ROWID_COLUMN}); id keeps its values under a UNIQUE constraint (NULLs are distinct there, as in SQLite)`,
            },
          ]);
        }
      } finally {
        db.close();
      }
    });
  });

  it('keyByRowid: a table the target keys by rowid stays keyed so when its key holds no NULL any more', () => {
    const db = build('nullkey-gone.db', 'CREATE TABLE codes (code TEXT PRIMARY KEY, v); INSERT INTO codes VALUES (\'c\', 1); CREATE TABLE other (id INTEGER PRIMARY KEY);');
    try {
      const model = readSchema(db, { keyByRowid: ['codes', 'other'] });
      expect(table(model, 'codes')).toMatchObject({ key: [ROWID_COLUMN], keyIsRowid: true, declaredKey: ['code'] });
      // A rowid alias is the rowid already.
      expect(table(model, 'other')).toMatchObject({ key: ['id'], keyIsRowid: false });
      expect(model.notices.find((n) => n.table === 'codes')!.message).toMatch(/^primary key \(code\) holds no NULL now, but the target table is keyed by rowid since an earlier run found some/);
    } finally {
      db.close();
    }
  });

  describe('names PostgreSQL cannot take', () => {
    const long = 'accounts_receivable_ledger_entries_for_the_fiscal_year_2026_of_';
    const sql = `CREATE TABLE "${long}parent" (id INTEGER PRIMARY KEY, "${long}name" TEXT, "${long}code" TEXT CHECK ("${long}code" <> ''));
      CREATE TABLE "${long}child" (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES "${long}parent");`;

    it('shortens table and column names past 63 bytes everywhere the model names them', () => {
      const db = build('long.db', sql);
      try {
        const model = readSchema(db);
        const parent = table(model, `${long}parent`);
        const child = table(model, `${long}child`);
        expect(parent.pgName).toBe(fitPgName(parent.name));
        expect(child.pgName).toBe(fitPgName(child.name));
        expect(parent.pgName).not.toBe(child.pgName);
        expect(col(parent, `${long}name`).pgName).toBe(fitPgName(`${long}name`));
        expect(col(parent, `${long}code`).pgName).not.toBe(col(parent, `${long}name`).pgName);
        expect(parent.checks[0]!.pgSql).toBe(`${quoteIdent(col(parent, `${long}code`).pgName!)} <> ''`);
        expect(child.foreignKeys[0]).toMatchObject({ refTable: parent.name, pgRefTable: parent.pgName });
        expect(addForeignKeySql('public', child, child.foreignKeys[0]!)).toContain(`REFERENCES "public"."${parent.pgName}" ("id")`);
        expect(model.notices.filter((n) => /PostgreSQL keeps 63/.test(n.message)).map((n) => [n.table, n.column])).toEqual([
          [parent.name, `${long}name`],
          [parent.name, `${long}code`],
          [child.name, undefined],
          [parent.name, undefined],
        ]);
      } finally {
        db.close();
      }
    });

    it('--rename chooses a name instead; a rule naming nothing is refused', () => {
      const db = build('renamed.db', sql);
      try {
        const model = readSchema(db, { renames: parseRenames(`"${long}PARENT"=ledger; "${long}parent"."${long}name"=name`) });
        expect(table(model, `${long}parent`).pgName).toBe('ledger');
        expect(col(table(model, `${long}parent`), `${long}name`).pgName).toBe('name');
        expect(table(model, `${long}child`).foreignKeys[0]!.pgRefTable).toBe('ledger');
        expect(model.mapping?.renames).toHaveLength(2);
        expect(() => readSchema(db, { renames: parseRenames('nope=x; "nope too".c=y') })).toThrow('--rename names no such table or column: nope, nope too.c');
      } finally {
        db.close();
      }
    });
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


/** Every value as the pipeline reads it, through the loader's mapping: how many rows would be refused per column. */
function refusals(db: SqliteDatabase, t: TableModel): Record<string, number> {
  const out: Record<string, number> = {};
  const rows = db.prepare(`SELECT ${t.columns.map((c) => sqliteReadExpr(c)).join(', ')} FROM ${quoteIdent(t.name)}`).raw(true).all() as SqlValue[][];
  t.columns.forEach((c, i) => {
    out[c.name] = rows.filter((r) => r[i] !== null && toPgText(c.kind, r[i]!, c) instanceof Rejection).length;
  });
  return out;
}

describe('readSchema: type fidelity', () => {
  function open(name: string, sql: string, fill?: (db: Database.Database) => void, options: ReadSchemaOptions = {}): { db: SqliteDatabase; model: SchemaModel } {
    const db = build(name, sql, fill);
    return { db, model: readSchema(db, options) };
  }

  it('INTEGER PRIMARY KEY DESC is no rowid alias; PRIMARY KEY (x DESC) as a table constraint is', () => {
    const { db, model } = open('desc.db', 'CREATE TABLE d (id INTEGER PRIMARY KEY DESC, v TEXT); CREATE TABLE e (id INTEGER, v TEXT, PRIMARY KEY (id DESC));', (w) =>
      w.exec("INSERT INTO d VALUES (5, 'a'); INSERT INTO e VALUES (5, 'a');"),
    );
    try {
      expect(col(table(model, 'd'), 'id')).toMatchObject({ identity: false, kind: 'integer', notNull: true });
      expect(table(model, 'd').key).toEqual(['id']);
      expect(model.notices.some((n) => n.table === 'd' && /DESC is no rowid alias/.test(n.message))).toBe(true);
      expect(col(table(model, 'e'), 'id').identity).toBe(true);
    } finally {
      db.close();
    }
  });

  it('reads DEFERRABLE per foreign key, not for the whole table', () => {
    const { db, model } = open(
      'deferrable.db',
      `CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
       CREATE TABLE c (
         id INTEGER PRIMARY KEY,
         a INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED,
         b INTEGER REFERENCES p (id),
         d TEXT REFERENCES p (code) DEFERRABLE,
         e INTEGER,
         f INTEGER,
         CONSTRAINT fk_e FOREIGN KEY (e) REFERENCES p (id) NOT DEFERRABLE INITIALLY DEFERRED,
         FOREIGN KEY (f) REFERENCES c (id) ON DELETE SET NULL DEFERRABLE INITIALLY IMMEDIATE
       );`,
    );
    try {
      const byColumn = new Map(table(model, 'c').foreignKeys.map((fk) => [fk.columns[0], fk]));
      expect(byColumn.get('a')).toMatchObject({ deferrable: true, initiallyDeferred: true });
      expect(byColumn.get('b')).toMatchObject({ deferrable: false });
      expect(byColumn.get('d')).toMatchObject({ deferrable: true, initiallyDeferred: false, refColumns: ['code'] });
      expect(byColumn.get('e')).toMatchObject({ deferrable: false });
      expect(byColumn.get('f')).toMatchObject({ deferrable: true, initiallyDeferred: false, refTable: 'c', onDelete: 'SET NULL' });
    } finally {
      db.close();
    }
  });

  it('text that is not UTF-8 or holds NUL widens to bytea, read as its bytes; --on-misfit reject keeps text and counts the refusals', () => {
    const sql = 'CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, ok TEXT)';
    const fill = (w: Database.Database) =>
      w.exec("INSERT INTO t VALUES (1, CAST(X'61ff62' AS TEXT), 'é'), (2, 'a' || char(0) || 'b', 'x'), (3, 'fine', CAST(X'c3a9' AS TEXT)), (4, NULL, NULL)");
    const widen = open('utf8-widen.db', sql, fill);
    try {
      const t = table(widen.model, 't');
      expect(col(t, 's')).toMatchObject({ kind: 'blob', pgType: 'bytea', readAs: 'blob' });
      expect(col(t, 's').profile).toMatchObject({ texts: 3, textNotPg: 2 });
      expect(col(t, 'ok')).toMatchObject({ kind: 'text' });
      expect(col(t, 'ok').readAs).toBeUndefined();
      // Read as bytes, the invalid byte survives instead of turning into U+FFFD.
      const bytes = widen.db.prepare(`SELECT ${sqliteReadExpr(col(t, 's'))} FROM t WHERE id = 1`).pluck().get() as Buffer;
      expect(toPgText('blob', bytes, col(t, 's'))).toBe('\\x61ff62');
      expect(refusals(widen.db, t)).toEqual({ id: 0, s: 0, ok: 0 });
      expect(widen.model.notices.some((n) => n.column === 's' && n.level === 'warn' && /widened to bytea/.test(n.message))).toBe(true);
    } finally {
      widen.db.close();
    }
    const reject = open('utf8-reject.db', sql, fill, { onMisfit: 'reject' });
    try {
      const s = col(table(reject.model, 't'), 's');
      expect(s).toMatchObject({ kind: 'text', readAs: 'blob' });
      expect(s.profile?.rejects).toBe(2);
      expect(refusals(reject.db, table(reject.model, 't')).s).toBe(2);
      expect(reject.model.notices.some((n) => n.column === 's' && /2 row\(s\) will be rejected/.test(n.message))).toBe(true);
    } finally {
      reject.db.close();
    }
  });

  it('a key column with text that is not UTF-8 is not read as bytes, and says so', () => {
    const { db, model } = open('utf8-key.db', 'CREATE TABLE k (code TEXT PRIMARY KEY, v INTEGER)', (w) => w.exec("INSERT INTO k VALUES (CAST(X'ff' AS TEXT), 1)"));
    try {
      expect(col(table(model, 'k'), 'code').readAs).toBeUndefined();
      expect(model.notices.some((n) => n.column === 'code' && /U\+FFFD/.test(n.message))).toBe(true);
    } finally {
      db.close();
    }
  });

  const DATES = (name: string, options: ReadSchemaOptions = {}) =>
    open(
      name,
      `CREATE TABLE d (id INTEGER PRIMARY KEY, s DATETIME, ms TIMESTAMP, day DATE, ymd DATE, mixed DATETIME, bad DATETIME, iso DATETIME, tz DATETIME, partial DATETIME, half DATE)`,
      (w) =>
        w.exec(`INSERT INTO d VALUES
          (1, 1700000000, 1700000000123, 19723 * 86400, 20240131, 1700000000, '2021-02-30 10:00:00', '2024-01-01 10:00:00', '2024-01-01T10:00:00Z', '2024-01-01T10:00:00Z', 0),
          (2, 0, 1600000000000, 0, 19991231, '2024-01-01 10:00:00.123', '2024-01-01', '2024-01-01T10:00:00.5', '2024-01-01 10:00:00+02:00', '2024-01-01 10:00:00', 43200),
          (3, NULL, NULL, NULL, NULL, NULL, NULL, '2024-02-29', NULL, NULL, NULL)`),
      options,
    );

  it('dates (--timestamps naive): epoch seconds, milliseconds and whole days convert; YYYYMMDD, impossible dates and junk keep their values', () => {
    const { db, model } = DATES('dates.db', { timestamps: 'naive' });
    try {
      const d = table(model, 'd');
      expect(col(d, 's')).toMatchObject({ kind: 'timestamp', epoch: 'seconds' });
      expect(col(d, 'ms')).toMatchObject({ kind: 'timestamp', epoch: 'milliseconds' });
      expect(col(d, 'day')).toMatchObject({ kind: 'date', epoch: 'seconds' });
      expect(col(d, 'ymd')).toMatchObject({ kind: 'integer' });
      expect(col(d, 'mixed')).toMatchObject({ kind: 'timestamp', epoch: 'seconds' });
      expect(col(d, 'bad')).toMatchObject({ kind: 'text' });
      expect(col(d, 'iso')).toMatchObject({ kind: 'timestamp' });
      expect(col(d, 'iso').epoch).toBeUndefined();
      expect(col(d, 'tz')).toMatchObject({ kind: 'timestamptz' });
      expect(col(d, 'partial')).toMatchObject({ kind: 'text' });
      expect(col(d, 'half')).toMatchObject({ kind: 'timestamp', epoch: 'seconds' });
      // Whatever was chosen, the loader takes every value: the default keeps data.
      for (const n of Object.values(refusals(db, d))) expect(n).toBe(0);
    } finally {
      db.close();
    }
  });

  it('dates (--timestamps utc, the default): what was timestamp is timestamptz read as UTC, and text mixing offsets and none is too', () => {
    const { db, model } = DATES('dates-utc.db');
    try {
      const d = table(model, 'd');
      expect(col(d, 's')).toMatchObject({ kind: 'timestamptz', epoch: 'seconds', naiveUtc: 'adopt' });
      expect(col(d, 'ms')).toMatchObject({ kind: 'timestamptz', epoch: 'milliseconds', naiveUtc: 'adopt' });
      expect(col(d, 'mixed')).toMatchObject({ kind: 'timestamptz', epoch: 'seconds' });
      expect(col(d, 'iso')).toMatchObject({ kind: 'timestamptz', naiveUtc: 'adopt' });
      expect(col(d, 'half')).toMatchObject({ kind: 'timestamptz', epoch: 'seconds' });
      expect(col(d, 'partial')).toMatchObject({ kind: 'timestamptz', naiveUtc: 'adopt' });
      // Every value carried an offset: timestamptz as before, nothing read as UTC.
      expect(col(d, 'tz')).toMatchObject({ kind: 'timestamptz' });
      expect(col(d, 'tz').naiveUtc).toBeUndefined();
      expect(col(d, 'day')).toMatchObject({ kind: 'date' });
      expect(col(d, 'bad')).toMatchObject({ kind: 'text' });
      expect(model.mapping).toEqual({});
      for (const n of Object.values(refusals(db, d))) expect(n).toBe(0);
    } finally {
      db.close();
    }
  });

  it('booleans from 0/1, t/f and true/false; anything else keeps its values', () => {
    const { db, model } = open('bool.db', 'CREATE TABLE b (id INTEGER PRIMARY KEY, x BOOLEAN, y BOOLEAN, z BOOL)', (w) =>
      w.exec("INSERT INTO b VALUES (1, 1, 't', 'TRUE'), (2, 0, 'f', 'false'), (3, NULL, 'true', 'maybe')"),
    );
    try {
      const b = table(model, 'b');
      expect(col(b, 'x').kind).toBe('boolean');
      expect(col(b, 'y').kind).toBe('boolean');
      expect(col(b, 'z').kind).toBe('text');
      for (const n of Object.values(refusals(db, b))) expect(n).toBe(0);
    } finally {
      db.close();
    }
  });

  it('integers beyond 2^53 stay exact: bigint alone, numeric beside reals', () => {
    const { db, model } = open('big.db', 'CREATE TABLE g (id INTEGER PRIMARY KEY, n INTEGER, m)', (w) =>
      w.exec('INSERT INTO g VALUES (9223372036854775807, 9007199254740993, 9007199254740993), (2, -9223372036854775808, 0.5)'),
    );
    try {
      const g = table(model, 'g');
      expect(col(g, 'n')).toMatchObject({ kind: 'integer', pgType: 'bigint' });
      expect(col(g, 'm')).toMatchObject({ kind: 'numeric', pgType: 'numeric' });
      expect(col(g, 'm').profile).toMatchObject({ minInteger: '9007199254740993', maxInteger: '9007199254740993' });
      const row = db.prepare('SELECT id, n, m FROM g WHERE id = 9223372036854775807').raw(true).get() as SqlValue[];
      expect(toPgText('integer', row[1]!, col(g, 'n'))).toBe('9007199254740993');
      expect(toPgText('numeric', row[2]!, col(g, 'm'))).toBe('9007199254740993');
    } finally {
      db.close();
    }
  });

  it('an INTEGER column holding text widens with a notice, or keeps bigint and counts the rejects', () => {
    const sql = 'CREATE TABLE i (id INTEGER PRIMARY KEY, n INTEGER)';
    const fill = (w: Database.Database) => w.exec("INSERT INTO i VALUES (1, 1), (2, 'two'), (3, ''), (4, NULL)");
    const widen = open('int-widen.db', sql, fill);
    try {
      expect(col(table(widen.model, 'i'), 'n')).toMatchObject({ kind: 'text' });
      expect(widen.model.notices.some((n) => n.column === 'n' && n.level === 'warn' && /--on-misfit reject/.test(n.message))).toBe(true);
    } finally {
      widen.db.close();
    }
    const reject = open('int-reject.db', sql, fill, { onMisfit: 'reject' });
    try {
      const n = col(table(reject.model, 'i'), 'n');
      expect(n).toMatchObject({ kind: 'integer', pgType: 'bigint' });
      expect(n.profile?.rejects).toBe(2);
      expect(refusals(reject.db, table(reject.model, 'i')).n).toBe(2);
    } finally {
      reject.db.close();
    }
  });

  it('--cast flows into the model, counts what it will refuse, and reads epochs for date targets', () => {
    const sql = "CREATE TABLE c (id INTEGER PRIMARY KEY, created INTEGER, amount REAL, label TEXT, note TEXT, [odd name] TEXT)";
    const fill = (w: Database.Database) => w.exec("INSERT INTO c VALUES (1, 1700000000, 1.25, 'abc', '{\"a\":1}', 'x'), (2, 1700086400, 99999.5, 'abcdef', 'nope', 'y')");
    const casts = parseCasts('c.created=timestamptz; c.amount=numeric(6,2); C.LABEL=varchar(4); c.note=json; c."odd name"=bytea');
    const { db, model } = open('casts.db', sql, fill, { casts });
    try {
      const c = table(model, 'c');
      expect(col(c, 'created')).toMatchObject({ kind: 'timestamptz', pgType: 'timestamptz', epoch: 'seconds' });
      expect(col(c, 'created').reason).toMatch(/cast to timestamptz by --cast/);
      expect(col(c, 'amount')).toMatchObject({ kind: 'numeric', pgType: 'numeric(6,2)' });
      expect(col(c, 'label')).toMatchObject({ kind: 'text', pgType: 'varchar(4)' });
      expect(col(c, 'odd name')).toMatchObject({ kind: 'blob', pgType: 'bytea' });
      expect(col(c, 'created').profile?.rejects).toBe(0);
      expect(col(c, 'amount').profile?.rejects).toBe(1);
      expect(col(c, 'label').profile?.rejects).toBe(1);
      expect(col(c, 'note').profile?.rejects).toBe(1);
      const counted = refusals(db, c);
      for (const name of ['created', 'amount', 'label', 'note', 'odd name']) expect(counted[name], name).toBe(col(c, name).profile?.rejects);
      expect(model.mapping?.casts).toHaveLength(5);
    } finally {
      db.close();
    }
  });

  it('a --cast naming no column is refused as a mistake', () => {
    const db = build('cast-typo.db', 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    try {
      expect(() => readSchema(db, { casts: parseCasts('t.nope=int') })).toThrow(/--cast names no such column: t\.nope/);
      expect(() => readSchema(db, { casts: parseCasts('missing.v=int') })).toThrow(LiteshiftError);
    } finally {
      db.close();
    }
  });

  it('--fold-identifiers lower gives PostgreSQL names beside the SQLite ones, used by DDL, CHECKs, indexes and foreign keys', () => {
    const { db, model } = open(
      'fold.db',
      `CREATE TABLE "Parent Table" (ID INTEGER PRIMARY KEY, "Näme" TEXT, Code TEXT UNIQUE);
       CREATE TABLE Child ("select" INTEGER PRIMARY KEY, ParentID INTEGER REFERENCES "Parent Table" (ID), Qty INTEGER CHECK (Qty > 0));
       CREATE INDEX IX_Child_Parent ON Child (ParentID);`,
      undefined,
      { foldIdentifiers: 'lower' },
    );
    try {
      const parent = table(model, 'Parent Table');
      const child = table(model, 'Child');
      expect(parent.pgName).toBe('parent table');
      expect(col(parent, 'ID').pgName).toBe('id');
      // Only A–Z fold, as PostgreSQL folds unquoted names: Ä/ä stay apart, so no two names can collide.
      expect(col(parent, 'Näme').pgName).toBe('näme');
      expect(col(child, 'select').pgName).toBeUndefined();
      expect(child.indexes[0]).toMatchObject({ name: 'IX_Child_Parent', pgName: 'ix_child_parent' });
      expect(child.foreignKeys[0]).toMatchObject({ columns: ['ParentID'], refTable: 'Parent Table', pgRefTable: 'parent table', refColumns: ['ID'], pgRefColumns: ['id'] });
      expect(child.checks[0]!.pgSql).toBe('"qty" > 0');
      expect(createTableSql('public', child)).toContain('"public"."child"');
      expect(addForeignKeySql('public', child, child.foreignKeys[0]!)).toContain('REFERENCES "public"."parent table" ("id")');
      expect(model.mapping).toEqual({ foldIdentifiers: 'lower' });
    } finally {
      db.close();
    }
  });

  it('a column declared COLLATE NOCASE or RTRIM says so; BINARY and undeclared ones carry no collation', () => {
    const db = build(
      'builtin-collations.db',
      `CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT COLLATE NOCASE, code TEXT COLLATE RTRIM, b TEXT COLLATE BINARY, plain TEXT);
       ALTER TABLE t ADD COLUMN later TEXT COLLATE nocase;`,
    );
    try {
      const t = table(readSchema(db), 't');
      expect(Object.fromEntries(t.columns.map((c) => [c.name, c.collation]))).toEqual({
        id: undefined,
        status: 'NOCASE',
        code: 'RTRIM',
        b: undefined,
        plain: undefined,
        later: 'NOCASE',
      });
      expect('collation' in col(t, 'plain')).toBe(false);
    } finally {
      db.close();
    }
  });

  it('CHECKs on a NOCASE column mean what they mean in SQLite, or are left out with a one-line notice saying why', () => {
    const db = build(
      'nocase-checks.db',
      `CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT COLLATE NOCASE CHECK (status IN ('open','done')), note TEXT CHECK (note LIKE 'n%'),
         CHECK (status <
                'x'));`,
    );
    try {
      const model = readSchema(db);
      expect(table(model, 't').checks.map((c) => c.pgSql)).toEqual([`lower("status" COLLATE "C") IN ('open', 'done')`, `"note" ILIKE 'n%' COLLATE "C" ESCAPE ''`, null]);
      expect(model.notices.filter((n) => /CHECK/.test(n.message))).toEqual([
        { level: 'warn', table: 't', message: "CHECK (status < 'x') is not portable (compares NOCASE column status with <): skipped" },
      ]);
    } finally {
      db.close();
    }
  });

  it("a collation only the application registers: compared as BINARY; a WITHOUT ROWID table keyed by it is skipped, saying why", () => {
    const path = join(dir, 'collation.db');
    const w = new Database(path);
    w.exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE, flag BOOLEAN COLLATE NOCASE, born DATETIME COLLATE NOCASE);
            CREATE INDEX people_name ON people (name);
            CREATE TABLE tags (tag TEXT COLLATE NOCASE PRIMARY KEY, n INTEGER) WITHOUT ROWID;
            INSERT INTO people (name, flag, born) VALUES ('Bob', 1, '2024-01-01'), ('alice', 't', 'x');
            INSERT INTO tags VALUES ('a', 1);`);
    w.close();
    rewriteSchema(path, 'COLLATE NOCASE', 'COLLATE myapp_nocase');
    const db = openSqlite(path, { readonly: true });
    try {
      const model = readSchema(db);
      const people = table(model, 'people');
      expect(col(people, 'name').foreignCollation).toBe('myapp_nocase');
      expect(col(people, 'flag').kind).toBe('boolean');
      expect(col(people, 'born').kind).toBe('text');
      expect(sqliteCompareExpr(col(people, 'name'))).toBe('"name" COLLATE BINARY');
      // What the stream's lookup by key and the verifier's ordering prepare.
      expect(() => db.prepare(`SELECT * FROM people WHERE ${sqliteCompareExpr(col(people, 'name'))} = ? ORDER BY ${sqliteCompareExpr(col(people, 'name'))}`)).not.toThrow();
      expect(model.tables.map((t) => t.name)).toEqual(['people']);
      expect(model.skipped).toContainEqual(expect.objectContaining({ name: 'tags', type: 'unreadable' }));
      expect(model.notices.some((n) => n.table === 'tags' && n.level === 'warn' && /collation myapp_nocase, which only the application registers/.test(n.message))).toBe(true);
      expect(model.notices.some((n) => n.column === 'name' && /myapp_nocase/.test(n.message))).toBe(true);
    } finally {
      db.close();
    }
  });

  it('a virtual generated column computed by a function only the application has is left out, with a notice', () => {
    const path = join(dir, 'appfn.db');
    const w = new Database(path);
    w.function('app_norm', { deterministic: true }, (s: unknown) => String(s).toLowerCase());
    w.exec(`CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT, v TEXT GENERATED ALWAYS AS (app_norm(name)) VIRTUAL, s TEXT GENERATED ALWAYS AS (app_norm(name)) STORED);
            INSERT INTO a (name) VALUES ('Bob');`);
    w.close();
    const db = openSqlite(path, { readonly: true });
    try {
      const model = readSchema(db);
      expect(table(model, 'a').columns.map((c) => c.name)).toEqual(['id', 'name', 's']);
      expect(model.notices.some((n) => n.column === 'v' && n.level === 'warn' && /app_norm/.test(n.message))).toBe(true);
    } finally {
      db.close();
    }
  });

  it('every skipped view, trigger, virtual and shadow table is also a notice', () => {
    const { db, model } = open(
      'skips.db',
      `CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE VIEW v AS SELECT * FROM t;
       CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;
       CREATE VIRTUAL TABLE f USING fts5(body); CREATE VIRTUAL TABLE r USING rtree(id, x0, x1);`,
    );
    try {
      expect(model.skipped.length).toBeGreaterThan(5);
      for (const s of model.skipped) expect(model.notices.some((n) => n.table === s.name && n.message.includes(s.reason))).toBe(true);
      expect(model.notices.find((n) => n.table === 'f')?.message).toMatch(/virtual table \(fts5\)/);
      expect(model.notices.find((n) => n.table === 'r')?.message).toMatch(/rtree/);
    } finally {
      db.close();
    }
  });

  it('foreign type names map to a type that holds the values, never an error', () => {
    const { db, model } = open(
      'foreign.db',
      `CREATE TABLE f (id INTEGER PRIMARY KEY, a TINYINT UNSIGNED, b YEAR, c ENUM, d LONGVARCHAR, e POINT, g, h "WEIRD TYPE"(1, 2), i NUMERIC(40,38))`,
      (w) => w.exec("INSERT INTO f VALUES (1, 255, 2006, 'x', 'text', x'0101', 'any', 1.5, 0.5)"),
    );
    try {
      const f = table(model, 'f');
      expect(f.columns.map((c) => c.pgType)).toEqual(['bigint', 'bigint', 'bigint', 'text', 'text', 'bytea', 'text', 'double precision', 'numeric(40,38)']);
    } finally {
      db.close();
    }
  });

  it('a name with INTEGER affinity that names no integer (POINT) holding only integers is typed by them, not as "no values"', () => {
    const { db, model } = open('point.db', 'CREATE TABLE p (id INTEGER PRIMARY KEY, e POINT, k integer auto_increment)', (w) => w.exec('INSERT INTO p VALUES (1, 7, 10), (2, 8, 11)'));
    try {
      expect(table(model, 'p').columns.map((c) => [c.name, c.pgType])).toEqual([
        ['id', 'bigint'],
        ['e', 'bigint'],
        ['k', 'bigint'],
      ]);
    } finally {
      db.close();
    }
  });
});

describe('readSchema: left out on purpose (--exclude-table, --exclude-column)', () => {
  function fixture(name: string): SqliteDatabase {
    return build(
      name,
      `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, Avatar BLOB);
       CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);
       CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), body TEXT);
       CREATE INDEX users_avatar ON users (Avatar);`,
    );
  }

  it('leaves the tables and columns out of the model and lists them, by SQLite\'s own names', () => {
    const db = fixture('exclude.db');
    try {
      const model = readSchema(db, { excludeTables: ['AUDIT'], excludeColumns: [{ table: 'Users', column: 'avatar' }] });
      expect(model.tables.map((t) => t.name)).toEqual(['posts', 'users']);
      expect(table(model, 'users').columns.map((c) => c.name)).toEqual(['id', 'name']);
      expect(table(model, 'users').indexes).toEqual([]);
      expect(model.excluded).toEqual({ tables: ['audit'], columns: [{ table: 'users', column: 'Avatar' }] });
      expect(model.skipped.some((s) => s.name === 'audit')).toBe(false);
      expect(model.mapping).toMatchObject({ excludeTables: ['AUDIT'] });
    } finally {
      db.close();
    }
  });

  it('refuses a name that matches nothing, and a key column (the rows are found by it)', () => {
    const db = fixture('exclude-wrong.db');
    try {
      const typo = (() => {
        try {
          readSchema(db, { excludeTables: ['audits'], excludeColumns: [{ table: 'users', column: 'avatr' }] });
        } catch (error) {
          return error;
        }
      })();
      expect(typo).toBeInstanceOf(LiteshiftError);
      expect((typo as LiteshiftError).message).toMatch(/--exclude-table audits: no such table; --exclude-column users\.avatr: no such column/);
      expect(() => readSchema(db, { excludeColumns: [{ table: 'posts', column: 'id' }] })).toThrow(/key column cannot be left out/);
    } finally {
      db.close();
    }
  });
});
