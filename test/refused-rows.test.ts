import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, runCli } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { FaultPipeline, streamingEverywhere, until } from './helpers/fault-pipeline.js';
import { withClient } from './helpers/postgres.js';

/*
 * Contract 6 as a user meets it: a row PostgreSQL refuses becomes a reject with its
 * SQLSTATE, the rest of its batch applies, the loader keeps running, and the reject is
 * resolved once SQLite holds a value PostgreSQL takes. Tables the application created in
 * PostgreSQL itself (adopted) keep their own constraints only from cutover on.
 */

interface Reject {
  table_name: string;
  key: unknown[];
  column_name: string | null;
  value: string | null;
  sqlstate: string | null;
  reason: string;
}

describe('one row never stops the loader', () => {
  const p = new FaultPipeline('refused-rows', {
    brokers: inject('kafkaBrokers'),
    adminUrl: inject('adminDatabaseUrl'),
    counts: { users: 20, tasks: 200, recurringPatterns: 20 },
    // One partition per table: the 5,000 rows of `wide` reach the loader as one batch.
    env: { LITESHIFT_PARTITIONS: '1' },
  });
  const rejects = (table: string): Promise<Reject[]> =>
    withClient(p.databaseUrl, async (pg) => (await pg.query<Reject>('SELECT * FROM liteshift.rejects WHERE table_name = $1 ORDER BY id', [table])).rows);
  const pgRows = <R extends object>(sql: string): Promise<R[]> => withClient(p.databaseUrl, async (pg) => (await pg.query(sql)).rows as R[]);
  const loaderAlive = (): void => expect(p.load!.running, p.load!.describe()).toBe(true);
  const cutover = async (): Promise<string> => {
    const run = await runCli(['cutover', '--timeout', '60'], p.env, 150_000);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/verdict: READY/);
    return run.stdout;
  };

  beforeAll(async () => {
    await p.create();
    const db = p.openWritable();
    db.exec(`
      CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT COLLATE NOCASE CHECK (status IN ('open', 'done')), note TEXT CHECK (note LIKE 'n%'));
      INSERT INTO t VALUES (1, 'open', 'n1');
      CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT);
      CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id), note TEXT);
      CREATE TABLE wide (id INTEGER PRIMARY KEY, code TEXT);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)
      INSERT INTO wide SELECT i, CASE WHEN i = 2500 THEN 'toolong' ELSE 'c' || (i % 1000) END FROM c;`);
    db.close();
    // The application's own migrations made these in PostgreSQL first: a foreign key and a varchar(5).
    await withClient(p.databaseUrl, (pg) =>
      pg.query(`CREATE TABLE parents (id integer PRIMARY KEY, name varchar(5));
        CREATE TABLE children (id integer PRIMARY KEY, parent_id integer CONSTRAINT children_parent_fk REFERENCES parents (id), note text);
        CREATE TABLE wide (id integer PRIMARY KEY, code varchar(5));`),
    );
    p.startExtract();
    // The loader starts once the whole snapshot is on Kafka: its first fetch of `wide` holds all 5,000 rows.
    await p.waitFor('the snapshot on Kafka', streamingEverywhere);
    p.startLoad();
    await p.waitFor('streaming and caught up');
  }, 240_000);
  afterAll(() => p.destroy());

  it('a batch of 5,000 with one bad row: 4,999 applied, one reject with its SQLSTATE, column and value', async () => {
    p.diagnoseOnFailure();
    loaderAlive();
    expect(await pgRows('SELECT count(*)::int AS n FROM wide')).toEqual([{ n: 4999 }]);
    expect(await rejects('wide')).toEqual([
      expect.objectContaining({ key: ['2500'], column_name: 'code', value: 'toolong', sqlstate: '22001', reason: expect.stringMatching(/value too long for type character varying\(5\)/) }),
    ]);
    const db = p.openWritable();
    db.prepare("UPDATE wide SET code = 'c2500' WHERE id = 2500").run();
    db.close();
    await until('the reject of wide resolved', async () => (await rejects('wide')).length === 0, 60_000, 250);
    expect(await pgRows('SELECT code FROM wide WHERE id = 2500')).toEqual([{ code: 'c2500' }]);
    const batch = `${p.load!.stdout}\n${p.load!.stderr}`
      .split('\n')
      .filter((l) => l.includes('"table":"wide"') && l.includes('batch applied'))
      .map((l) => JSON.parse(l) as { messages: number; upserted: number; rejected: number });
    expect(batch).toContainEqual(expect.objectContaining({ messages: 5000, upserted: 4999, rejected: 1 }));
  });

  it('NOCASE and LIKE: a row SQLite takes is applied under a CHECK that means what it meant in SQLite; the loader lives', async () => {
    p.diagnoseOnFailure();
    // The CHECKs are created while following, once the snapshot is in.
    await until('the CHECKs of t in PostgreSQL', async () => (await pgRows<{ n: number }>("SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'c'"))[0]!.n === 2, 60_000, 500);
    const db = p.openWritable();
    db.prepare("INSERT INTO t VALUES (2, 'Open', 'N2')").run();
    await until('row 2 applied or rejected', async () => (await pgRows('SELECT 1 FROM t WHERE id = 2')).length + (await rejects('t')).length > 0, 60_000, 250);
    expect(await rejects('t')).toEqual([]);
    expect(await pgRows('SELECT status, note FROM t WHERE id = 2')).toEqual([{ status: 'Open', note: 'N2' }]);
    db.prepare("UPDATE t SET status = 'DONE', note = 'n3' WHERE id = 2").run();
    db.close();
    await until('row 2 changed in PostgreSQL', async () => (await pgRows<{ status: string }>('SELECT status FROM t WHERE id = 2'))[0]?.status === 'DONE', 60_000, 250);
    expect(await rejects('t')).toEqual([]);
    loaderAlive();
  });

  it('an adopted table with a foreign key and a varchar(5) under a live writer of parents and children: loader alive, READY once the long value is fixed', async () => {
    p.diagnoseOnFailure();
    const db = p.openWritable();
    const parent = db.prepare('INSERT INTO parents VALUES (?, ?)');
    const child = db.prepare('INSERT INTO children VALUES (?, ?, ?)');
    for (let i = 1; i <= 300; i++) {
      parent.run(i, i === 150 ? 'toolong' : `p${i}`);
      child.run(2 * i, i, 'first');
      child.run(2 * i + 1, i, 'second');
      if (i % 30 === 0) db.prepare('DELETE FROM children WHERE id = ?').run(2 * i + 1);
      await new Promise((r) => setTimeout(r, 5));
    }
    await p.waitFor('caught up after the writer');
    loaderAlive();
    expect(await rejects('parents')).toEqual([expect.objectContaining({ key: ['150'], column_name: 'name', value: 'toolong', sqlstate: '22001' })]);
    // Every child is in, those of the refused parent too: the foreign key waits for cutover.
    expect(await pgRows('SELECT count(*)::int AS n FROM children')).toEqual([{ n: 590 }]);
    expect(await pgRows("SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'children_parent_fk'")).toEqual([{ n: 0 }]);
    db.prepare("UPDATE parents SET name = 'p150' WHERE id = 150").run();
    db.close();
    await until('the reject resolved', async () => (await rejects('parents')).length === 0, 60_000, 250);
    await cutover();
    expect(await pgRows("SELECT convalidated FROM pg_constraint WHERE conname = 'children_parent_fk'")).toEqual([{ convalidated: true }]);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });

  it('cutover --abort, then children written before their parents: streaming resumes, loader alive, READY again', async () => {
    p.diagnoseOnFailure();
    const abort = await runCli(['cutover', '--abort'], p.env, 60_000);
    expect(abort.code, describeRun(abort)).toBe(0);
    expect(await pgRows("SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'children_parent_fk'")).toEqual([{ n: 0 }]);
    const db = p.openWritable();
    // An application that does not enforce SQLite's foreign keys (SQLite's own default).
    db.pragma('foreign_keys = OFF');
    for (let i = 1001; i <= 1100; i++) {
      db.prepare('INSERT INTO children VALUES (?, ?, ?)').run(2 * i, i, 'early');
      db.prepare('INSERT INTO parents VALUES (?, ?)').run(i, `q${i - 1000}`);
    }
    db.close();
    await p.waitFor('caught up after the children and parents');
    loaderAlive();
    expect(await rejects('children')).toEqual([]);
    expect(await pgRows('SELECT count(*)::int AS n FROM children WHERE id > 2000')).toEqual([{ n: 100 }]);
    await cutover();
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    loaderAlive();
  });

  it('a child refused for want of its parent (a deferrable foreign key left in place) is parked, applied on another try once the parent is in', async () => {
    p.diagnoseOnFailure();
    expect((await runCli(['cutover', '--abort'], p.env, 60_000)).code).toBe(0);
    await withClient(p.databaseUrl, (pg) => pg.query('ALTER TABLE children ADD CONSTRAINT kept_fk FOREIGN KEY (parent_id) REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED NOT VALID'));
    const db = p.openWritable();
    db.pragma('foreign_keys = OFF');
    db.prepare('INSERT INTO children VALUES (?, ?, ?)').run(5000, 2000, 'before its parent');
    await until('the child parked', async () => (await rejects('children')).length === 1, 60_000, 100);
    expect(await rejects('children')).toEqual([expect.objectContaining({ key: ['5000'], sqlstate: '23503' })]);
    db.prepare('INSERT INTO parents VALUES (?, ?)').run(2000, 'late');
    db.close();
    await until('the parked child applied', async () => (await rejects('children')).length === 0, 90_000, 250);
    expect(await pgRows('SELECT parent_id FROM children WHERE id = 5000')).toEqual([{ parent_id: 2000 }]);
    expect(p.load!.stderr + p.load!.stdout).toMatch(/parked rows applied on another try/);
    loaderAlive();
  });
});
