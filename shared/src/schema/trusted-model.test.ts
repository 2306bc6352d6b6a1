import { describe, expect, it } from 'vitest';
import type { ColumnModel, TableModel } from './model.js';
import { trustedTableModel } from './trusted-model.js';

function column(name: string, extra: Partial<ColumnModel> = {}): ColumnModel {
  return { name, declaredType: 'TEXT', notNull: false, sqliteDefault: null, kind: 'text', pgType: 'text', pgDefault: null, identity: false, reason: '', ...extra };
}

const TASKS: TableModel = {
  name: 'tasks',
  withoutRowid: false,
  columns: [
    column('id', { kind: 'integer', pgType: 'bigint', notNull: true, identity: true }),
    column('title', { sqliteDefault: "'untitled'", pgDefault: "'untitled'" }),
    column('due', { kind: 'timestamp', pgType: 'timestamp', sqliteDefault: 'CURRENT_TIMESTAMP', pgDefault: "(now() AT TIME ZONE 'UTC')" }),
    column('price', { kind: 'numeric', pgType: 'numeric(12,2)' }),
  ],
  key: ['id'],
  keyIsRowid: false,
  foreignKeys: [{ columns: ['id'], refTable: 'users', refColumns: ['id'], onUpdate: 'NO ACTION', onDelete: 'CASCADE', deferrable: false }],
  indexes: [{ name: 'tasks_title', unique: false, columns: ['title'], origin: 'c' }],
  checks: [{ sqliteSql: "length(title) > 0", pgSql: 'LENGTH ("title") > 0' }],
};

const hostile = (change: (t: TableModel) => void): TableModel => {
  const t = structuredClone(TASKS);
  change(t);
  return t;
};

describe('trustedTableModel', () => {
  it('keeps a model introspection made as it is', () => {
    expect(trustedTableModel(structuredClone(TASKS))).toEqual(TASKS);
  });

  it('refuses a type that is not one liteshift makes, or not of the column kind', () => {
    expect(() => trustedTableModel(hostile((t) => (t.columns[1]!.pgType = 'int); DROP TABLE x; --')))).toThrow(/column tasks.title: "int\); DROP TABLE x; --" is not a type liteshift makes for text values/);
    expect(() => trustedTableModel(hostile((t) => (t.columns[1]!.pgType = 'bigint')))).toThrow(/is not a type liteshift makes for text values/);
    expect(() => trustedTableModel(hostile((t) => (t.columns[3]!.pgType = 'numeric(12,2) CHECK (false)')))).toThrow(/is not a type liteshift makes for numeric values/);
  });

  it('makes defaults and CHECKs again from SQLite text, whatever SQL came with them', () => {
    const model = trustedTableModel(
      hostile((t) => {
        t.columns[1]!.pgDefault = "'x'; DROP TABLE users; --";
        t.checks[0]!.pgSql = 'true); DROP TABLE users; --';
      }),
    );
    expect(model.columns[1]!.pgDefault).toBe("'untitled'");
    expect(model.checks[0]!.pgSql).toBe('LENGTH ("title") > 0');
  });

  it('a default or CHECK whose SQLite text is not one expression gets no SQL at all', () => {
    const model = trustedTableModel(
      hostile((t) => {
        t.columns[1]!.sqliteDefault = "'a'); DROP TABLE users; --";
        t.checks[0]!.sqliteSql = '1) OR (1';
      }),
    );
    expect(model.columns[1]!.pgDefault).toBeNull();
    expect(model.checks[0]!.pgSql).toBeNull();
  });

  it('refuses foreign-key actions SQLite does not have, NUL in names, and references to columns it does not have', () => {
    expect(() => trustedTableModel(hostile((t) => (t.foreignKeys[0]!.onDelete = 'CASCADE; DROP TABLE users')))).toThrow(/foreignKeys\.0\.onDelete/);
    expect(() => trustedTableModel(hostile((t) => (t.columns[1]!.name = 'ti\u0000tle')))).toThrow(/NUL character/);
    expect(() => trustedTableModel(hostile((t) => (t.indexes[0]!.columns = ['nope'])))).toThrow(/names a column it does not have: nope/);
    expect(() => trustedTableModel({ name: 'x' })).toThrow(/not a table model/);
  });

  it('a NOCASE column keeps its CHECK translated alike after the trip; a forged one is made again', () => {
    const nocase = hostile((t) => {
      t.columns[1]!.collation = 'NOCASE';
      t.checks = [{ sqliteSql: "title IN ('a','B')", pgSql: `lower("title" COLLATE "C") IN ('a', 'b')` }];
    });
    const again = trustedTableModel(JSON.parse(JSON.stringify(nocase)));
    expect(again).toEqual(nocase);
    const forged = hostile((t) => {
      t.columns[1]!.collation = 'NOCASE';
      t.checks = [{ sqliteSql: "title IN ('a','B')", pgSql: `"title" IN ('a', 'B')` }];
    });
    expect(trustedTableModel(forged).checks[0]!.pgSql).toBe(`lower("title" COLLATE "C") IN ('a', 'b')`);
  });

  it('a collation that is not NOCASE or RTRIM is refused', () => {
    expect(() => trustedTableModel(hostile((t) => ((t.columns[1] as { collation?: string }).collation = 'NOCASE") OR true --')))).toThrow(/columns\.1\.collation/);
  });
});
