import { describe, expect, it } from 'vitest';
import type { ColumnModel, SchemaModel, TableModel } from '@liteshift/shared';
import { diffSchemas, planStart, typeTags } from './schema-watch.js';

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

  it('a rebuilt table, and one that lost a column, are re-synchronised under the next epoch with their columns and types as they are now', () => {
    const tasks = table('tasks', [id, column('title')]);
    const notes = { ...table('notes', [id, column('body'), column('old')]), resyncEpoch: 2 };
    const rebuiltTasks = table('tasks', [id, column('title', { kind: 'integer', pgType: 'bigint' })]);
    const change = diffSchemas(model([tasks, notes]), model([rebuiltTasks, table('notes', [id, column('body')])]), new Set(['tasks']));
    expect(change.resynced.map((r) => [r.table.name, r.table.resyncEpoch, r.reason])).toEqual([
      ['tasks', 1, 'rebuilt by the application (its capture triggers were gone)'],
      ['notes', 3, 'columns dropped or renamed: old'],
    ]);
    expect(change.resynced[0]!.table.columns[1]!.pgType).toBe('bigint');
    expect(change.model.tables.map((t) => t.resyncEpoch)).toEqual([1, 3]);
    expect(change.altered).toEqual([]);
  });
});

describe('planStart', () => {
  const users = table('users', [id, column('name')]);
  const done = { epoch: 0, snapshotAt: '2026-01-01T00:00:00.000Z', types: typeTags(users) };

  it('snapshots tables never snapshotted, or cut short; re-synchronises those rebuilt while stopped, or whose types or columns changed', () => {
    const plan = planStart(
      model([users, table('fresh', [id]), table('cut', [id]), table('rebuilt', [id]), table('retyped', [id, column('v', { kind: 'integer', pgType: 'bigint' })]), table('again', [id])]),
      {
        users: done,
        cut: { epoch: 0 },
        rebuilt: { ...done, types: typeTags(table('rebuilt', [id])) },
        retyped: { epoch: 2, snapshotAt: done.snapshotAt, types: typeTags(table('retyped', [id, column('v')])) },
        again: { epoch: 1, resync: { reason: 'rebuilt', startedAt: done.snapshotAt } },
      },
      new Set(['rebuilt']),
    );
    expect(plan.snapshot).toEqual(['fresh', 'cut']);
    expect([...plan.resync.keys()]).toEqual(['rebuilt', 'retyped', 'again']);
    expect(plan.resync.get('retyped')).toBe('column types planned anew from the data: v text text → integer bigint');
    expect(plan.model.tables.map((t) => [t.name, t.resyncEpoch])).toEqual([
      ['users', undefined],
      ['fresh', undefined],
      ['cut', undefined],
      ['rebuilt', 1],
      ['retyped', 3],
      ['again', 2],
    ]);
  });
});
