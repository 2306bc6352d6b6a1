import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createTodoDatabase } from '../demo/todo-database.js';
import type { TableModel } from '../schema/model.js';
import { readSchema } from './introspect.js';
import { openSqlite } from './open.js';
import { sqliteAddColumnSql, sqliteCreateIndexSql, sqliteCreateTableSql } from './ddl.js';

const dir = mkdtempSync(join(tmpdir(), 'liteshift-ddl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What of a table the DDL must carry: everything but profiles, counts and reasons. */
function declared(table: TableModel) {
  return {
    name: table.name,
    withoutRowid: table.withoutRowid,
    key: table.key,
    keyIsRowid: table.keyIsRowid,
    columns: table.columns.map((c) => [c.name, c.declaredType, c.notNull, c.sqliteDefault, c.identity, c.synthetic ?? null]),
    foreignKeys: table.foreignKeys,
    indexes: table.indexes.map((i) => ({ ...i, name: i.origin === 'u' ? '' : i.name })),
    checks: table.checks.map((c) => c.sqliteSql),
  };
}

function tablesOf(path: string): TableModel[] {
  const db = openSqlite(path, { readonly: true });
  try {
    return readSchema(db, { profile: false }).tables;
  } finally {
    db.close();
  }
}

function recreate(from: TableModel[], path: string): void {
  const db = new Database(path);
  try {
    for (const table of from) {
      db.exec(sqliteCreateTableSql(table));
      for (const sql of sqliteCreateIndexSql(table)) db.exec(sql);
    }
  } finally {
    db.close();
  }
}

describe('SQLite DDL from the model', () => {
  it("the demo database's tables come back as declared: types, keys, NOT NULL, defaults, UNIQUE, CHECK, indexes, foreign keys", () => {
    const source = join(dir, 'todo.db');
    createTodoDatabase(source, { users: 2, tasks: 2, recurringPatterns: 2 });
    const tables = tablesOf(source);
    const copy = join(dir, 'copy.db');
    recreate(tables, copy);
    expect(tablesOf(copy).map(declared)).toEqual(tables.map(declared));
  });

  it('composite keys, WITHOUT ROWID, tables keyed by rowid, deferred foreign keys and odd names', () => {
    const source = join(dir, 'odd.db');
    const db = new Database(source);
    db.exec(`
      CREATE TABLE "Order Lines" ("order" INTEGER, line INT, qty NUMERIC(10,2) NOT NULL DEFAULT 0, note TEXT DEFAULT 'n/a', PRIMARY KEY ("order", line)) WITHOUT ROWID;
      CREATE TABLE log (at DATETIME DEFAULT CURRENT_TIMESTAMP, "order" INTEGER, line INT, msg, CHECK (length(msg) > 0),
        FOREIGN KEY ("order", line) REFERENCES "Order Lines" ("order", line) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED);
      CREATE UNIQUE INDEX log_at ON log (at, msg);
    `);
    db.close();
    const tables = tablesOf(source);
    const copy = join(dir, 'odd-copy.db');
    recreate(tables, copy);
    expect(tablesOf(copy).map(declared)).toEqual(tables.map(declared));
  });

  it('a model from a topic cannot slip a statement or a clause into the DDL: type names and expressions are refused unless whole', () => {
    const [table] = tablesOf(join(dir, 'odd.db')).filter((t) => t.name === 'log');
    const column = table!.columns[0]!;
    const withColumn = (c: Partial<typeof column>) => ({ ...table!, columns: [{ ...column, ...c }, ...table!.columns.slice(1)] });
    expect(() => sqliteCreateTableSql(withColumn({ declaredType: 'TEXT); DROP TABLE "Order Lines"; --' }))).toThrow(/type .* is not one SQLite type name/);
    expect(() => sqliteCreateTableSql(withColumn({ sqliteDefault: "1), evil TEXT DEFAULT ('x'" }))).toThrow(/default expression .* is not one SQLite expression/);
    expect(() => sqliteCreateTableSql({ ...table!, checks: [{ sqliteSql: '1) OR (1', pgSql: null }] })).toThrow(/CHECK expression .* is not one SQLite expression/);
    // What real schemas declare passes.
    for (const declaredType of ['VARCHAR(255)', 'DECIMAL(10, 5)', 'UNSIGNED BIG INT', 'nvarchar(max)', 'timestamp without time zone', '']) {
      expect(() => sqliteCreateTableSql(withColumn({ declaredType, sqliteDefault: "strftime('%Y-%m-%d %H:%M:%f', 'now')" }))).not.toThrow();
    }
  });

  it('adds a column PostgreSQL gained; NOT NULL without a default is added nullable, and says so', () => {
    const [table] = tablesOf(join(dir, 'odd.db')).filter((t) => t.name === 'log');
    const column = { ...table!.columns[0]!, name: 'new col', declaredType: 'TEXT', notNull: true, sqliteDefault: null };
    expect(sqliteAddColumnSql(table!, column)).toEqual({ sql: 'ALTER TABLE "log" ADD COLUMN "new col" TEXT', nullable: true });
    expect(sqliteAddColumnSql(table!, { ...column, sqliteDefault: "'x'" })).toEqual({ sql: `ALTER TABLE "log" ADD COLUMN "new col" TEXT NOT NULL DEFAULT ('x')`, nullable: false });
  });
});
