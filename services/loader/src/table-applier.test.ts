import { describe, expect, it } from 'vitest';
import type { ColumnModel, TableModel } from '@liteshift/shared';
import { columnSetSql, deleteByKeySql } from './table-applier.js';

function column(name: string, pgType = 'text', extra: Partial<ColumnModel> = {}): ColumnModel {
  return { name, declaredType: '', notNull: false, sqliteDefault: null, kind: 'text', pgType, pgDefault: null, identity: false, reason: 'test', ...extra };
}

function table(columns: ColumnModel[], key: string[]): TableModel {
  return { name: 'items', withoutRowid: false, columns, key, keyIsRowid: false, foreignKeys: [], indexes: [], checks: [] };
}

const TARGET = '"public"."items"';
const STAGE = '"liteshift_stage_x"';

describe('the applier SQL', () => {
  it('upserts every non-key column from the staging table, on the key', () => {
    const sql = columnSetSql(table([column('id', 'bigint'), column('title'), column('done', 'boolean')], ['id']), TARGET, STAGE, undefined);
    expect(sql.indexes).toEqual([0, 1, 2]);
    expect(sql.copyDirect).toBe(`COPY ${TARGET} ("id", "title", "done") FROM STDIN`);
    expect(sql.copyStage).toBe(`COPY pg_temp.${STAGE} ("id", "title", "done") FROM STDIN`);
    expect(sql.upsert).toBe(
      `INSERT INTO ${TARGET} ("id", "title", "done") SELECT "id", "title", "done" FROM pg_temp.${STAGE} ON CONFLICT ("id") DO UPDATE SET "title" = EXCLUDED."title", "done" = EXCLUDED."done"`,
    );
  });

  it('an older writer schema touches only the columns it has; the others keep what they hold', () => {
    const sql = columnSetSql(table([column('id', 'bigint'), column('title'), column('added')], ['id']), TARGET, STAGE, [0, 1]);
    expect(sql.indexes).toEqual([0, 1]);
    expect(sql.upsert).not.toContain('"added"');
    expect(sql.upsert).toContain('DO UPDATE SET "title" = EXCLUDED."title"');
  });

  it('a table of key columns only does nothing on conflict (there is nothing to update)', () => {
    const sql = columnSetSql(table([column('a'), column('b')], ['a', 'b']), TARGET, STAGE, undefined);
    expect(sql.upsert).toMatch(/ON CONFLICT \("a", "b"\) DO NOTHING$/);
  });

  it('quotes any name, and uses the PostgreSQL name where it differs', () => {
    const sql = columnSetSql(table([column('Id', 'bigint', { pgName: 'id' }), column('we"ird; name')], ['Id']), TARGET, STAGE, undefined);
    expect(sql.copyDirect).toBe(`COPY ${TARGET} ("id", "we""ird; name") FROM STDIN`);
    expect(sql.upsert).toContain('ON CONFLICT ("id") DO UPDATE SET "we""ird; name" = EXCLUDED."we""ird; name"');
  });

  it('deletes by a composite key, each key column cast from text to its type', () => {
    const sql = deleteByKeySql(table([column('day', 'date'), column('n', 'bigint'), column('v')], ['day', 'n']), TARGET);
    expect(sql).toBe(
      `DELETE FROM ${TARGET} t USING (SELECT k0::date AS "day", k1::bigint AS "n" FROM unnest($1::text[], $2::text[]) AS u(k0, k1)) d WHERE t."day" = d."day" AND t."n" = d."n"`,
    );
  });
});
