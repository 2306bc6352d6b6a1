import { describe, expect, it } from 'vitest';
import type { ColumnModel, SchemaModel, TableModel } from '@liteshift/shared';
import { diffSchemas } from './schema-watch.js';

function column(name: string, extra: Partial<ColumnModel> = {}): ColumnModel {
  return { name, declaredType: 'TEXT', notNull: false, sqliteDefault: null, kind: 'text', pgType: 'text', pgDefault: null, identity: false, reason: 'test', ...extra };
}

function table(name: string, columns: ColumnModel[], key = ['id']): TableModel {
  return { name, withoutRowid: false, columns, key, keyIsRowid: false, foreignKeys: [], indexes: [], checks: [] };
}

function model(tables: TableModel[]): SchemaModel {
  return { tables, notices: [] } as unknown as SchemaModel;
}

const id = column('id', { kind: 'integer', pgType: 'bigint', notNull: true });

describe('diffSchemas', () => {
  it('nothing moved: nothing added, altered or dropped, and the captured tables are kept as they are', () => {
    const users = table('users', [id, column('name')]);
    const change = diffSchemas(model([users]), model([table('users', [id, column('name')])]));
    expect(change).toMatchObject({ added: [], altered: [], dropped: [] });
    expect(change.model.tables[0]).toBe(users);
  });

  it('a new table is added, a table gone is dropped', () => {
    const change = diffSchemas(model([table('old', [id])]), model([table('fresh', [id])]));
    expect(change.added.map((t) => t.name)).toEqual(['fresh']);
    expect(change.dropped).toEqual(['old']);
    expect(change.model.tables.map((t) => t.name)).toEqual(['fresh']);
  });

  it('an added column is appended, nullable; the columns already migrated keep their types, and a synthetic rowid stays last', () => {
    const rowid = column('liteshift_rowid', { synthetic: 'rowid', kind: 'integer', pgType: 'bigint' });
    const before = table('notes', [column('body', { kind: 'text', pgType: 'text' }), rowid], ['liteshift_rowid']);
    // Read again after ALTER TABLE … ADD COLUMN: a fresh profile would now call `body` something else.
    const after = table('notes', [column('body', { kind: 'blob', pgType: 'bytea' }), column('tag', { notNull: true }), rowid], ['liteshift_rowid']);
    const change = diffSchemas(model([before]), model([after]));
    expect(change.altered).toHaveLength(1);
    const merged = change.altered[0]!;
    expect(merged.columns.map((c) => c.name)).toEqual(['body', 'tag', 'liteshift_rowid']);
    expect(merged.columns[0]!.pgType).toBe('text');
    expect(merged.columns[1]!.notNull).toBe(false);
    expect(change.model.tables[0]).toBe(merged);
  });
});
