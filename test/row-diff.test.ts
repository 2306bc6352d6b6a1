import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTableSql, findTable, openSqlite, readSchema, type SqliteDatabase, type TableModel } from '@liteshift/shared';
import { diffTableRows } from '@liteshift/verifier';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

/*
 * The range comparison against a real PostgreSQL (no Kafka: the target is written here).
 * SQLite's side is hashed from its rows as read; ranges end at a key PostgreSQL can compare
 * with, so a key the loader would refuse (text in an INTEGER key, NULL in a key) rides
 * along to the next range, and is still reported missing.
 */
describe('range checksums of one table, row by row where they differ', () => {
  let dir: string;
  let db: SqliteDatabase;
  let target: TestDatabase;
  let client: pg.Client;
  let table: TableModel;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-row-diff-'));
    const path = join(dir, 'items.db');
    // INT (not INTEGER) PRIMARY KEY is no rowid alias: it can hold text and NULL.
    const build = new Database(path);
    build.exec(`CREATE TABLE items (id INT PRIMARY KEY, v TEXT, at DATETIME);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2500)
      INSERT INTO items SELECT i, 'value ' || i, '2024-01-01 00:00:00' FROM c;
      INSERT INTO items VALUES ('x', 'text key', NULL);`);
    db = openSqlite(path, { readonly: true });
    // As with --on-misfit reject: the key stays an integer, the text key is refused.
    table = findTable(readSchema(db, { onMisfit: 'reject' }), 'items')!;
    // A NULL key arriving once the table is keyed by id (one there at plan time would key it by rowid).
    build.exec("INSERT INTO items VALUES (NULL, 'null key', NULL)");
    build.close();
    target = await createTestDatabase(inject('adminDatabaseUrl'), 'row-diff');
    client = new pg.Client({ connectionString: target.url });
    await client.connect();
    await client.query("SET TIME ZONE 'UTC'");
    await client.query(createTableSql('public', table));
    // What the loader writes: every row but the two whose key PostgreSQL cannot hold…
    await client.query("INSERT INTO items (id, v, at) SELECT i, 'value ' || i, '2024-01-01 00:00:00' FROM generate_series(1, 2500) i");
    // …then one row changed, one gone, one extra.
    await client.query("UPDATE items SET v = 'changed' WHERE id = 1500");
    await client.query('DELETE FROM items WHERE id = 2222');
    await client.query("INSERT INTO items (id, v) VALUES (9999, 'extra')");
  });

  afterAll(async () => {
    await client?.end().catch(() => undefined);
    await target?.drop();
    db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds exactly the changed, missing and extra rows, the refused keys among the missing', async () => {
    const diff = await diffTableRows(db, client, 'public', table, { rangeRows: 1000 });
    expect(diff.sourceRows).toBe(2502);
    expect(diff.targetRows).toBe(2500);
    expect({ missing: diff.missing, extra: diff.extra, changed: diff.changed }).toEqual({ missing: 3, extra: 1, changed: 1 });
    const shown = diff.differences.map((d) => `${d.kind} ${d.key.map((k) => (k === null ? 'NULL' : k.startsWith('\u0000') ? 'refused' : k)).join(',')}`);
    expect(shown.sort()).toEqual(['changed 1500', 'extra 9999', 'missing 2222', 'missing NULL', 'missing refused'].sort());
    expect(diff.changedColumns).toEqual({ v: 1 });
  });

  it('agrees with itself whatever the range size', async () => {
    for (const rangeRows of [7, 2501, 10_000]) {
      const diff = await diffTableRows(db, client, 'public', table, { rangeRows });
      expect({ missing: diff.missing, extra: diff.extra, changed: diff.changed }, `rangeRows ${rangeRows}`).toEqual({ missing: 3, extra: 1, changed: 1 });
    }
  });
});
