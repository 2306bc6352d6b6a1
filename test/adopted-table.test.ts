import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { columnTypes } from '@liteshift/shared';
import { describeRun, migrateArgs, runCli } from './helpers/cli.js';
import { deleteTopicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { createTestDatabase, withClient, type TestDatabase } from './helpers/postgres.js';

/*
 * A target table the application's own migrations created first is adopted, whatever its
 * column types: here an integer key and a varchar where liteshift would make bigint and
 * text. The loader's binary COPY writes the types it would have made, so it must see that
 * these differ and send text (which PostgreSQL converts) instead.
 */
describe('migrate into a table the application created, with its own column types', () => {
  const brokers = inject('kafkaBrokers');
  const prefix = uniquePrefix('adopted');
  let dir: string;
  let sqlitePath: string;
  let target: TestDatabase;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-adopted-'));
    sqlitePath = join(dir, 'app.db');
    const db = new Database(sqlitePath);
    db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, made DATETIME, n INTEGER);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)
      INSERT INTO items SELECT i, 'item ' || i, '2024-05-06 07:08:09', i * 7 FROM c;`);
    db.close();
    target = await createTestDatabase(inject('adminDatabaseUrl'), 'adopted');
    await withClient(target.url, (pg) => pg.query('CREATE TABLE items (id integer PRIMARY KEY, name varchar(40) NOT NULL, made timestamp, n integer)'));
  });

  afterAll(async () => {
    await target?.drop();
    await deleteTopicsWithPrefix(brokers, prefix);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads every row into the columns as they are, and verifies READY', async () => {
    const run = await runCli(migrateArgs({ sqlitePath, databaseUrl: target.url, brokers, prefix }));
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout, describeRun(run)).toMatch(/verdict: READY/);
    await withClient(target.url, async (pg) => {
      const types = await columnTypes(pg, 'items');
      expect(Object.fromEntries(types)).toEqual({ id: 'integer', name: 'character varying(40)', made: 'timestamp without time zone', n: 'integer' });
      const { rows } = await pg.query<{ count: number; n: string }>('SELECT count(*)::int AS count, sum(n)::text AS n FROM items');
      expect(rows[0]).toEqual({ count: 3000, n: String(7 * (3000 * 3001) / 2) });
    });
  });
});
