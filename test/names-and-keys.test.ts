import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, expectCleanFailure, migrateArgs, runCli, type CliResult } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { until } from './helpers/fault-pipeline.js';
import { deleteTopicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { createTestDatabase, foreignKeys, uniqueIndexColumns, withClient, type TestDatabase } from './helpers/postgres.js';
import { caughtUp, Service, waitForStatus } from './helpers/services.js';

/*
 * Names and keys PostgreSQL cannot take as SQLite has them (issue 20): names longer than
 * PostgreSQL's 63 bytes (two of them equal once cut there), and a declared PRIMARY KEY
 * that holds NULL. Each migrates to READY, a second `migrate` adopts the same tables, and
 * `plan` says what it does and why.
 */

const brokers = inject('kafkaBrokers');
const adminUrl = inject('adminDatabaseUrl');

/** 63 bytes each: names that differ only after them are one name to PostgreSQL as it is. */
const SENSOR_63 = 'temperature_in_celsius_measured_at_the_north_east_corner_of_the';
const LEDGER_63 = 'accounts_receivable_ledger_entries_for_the_fiscal_year_2026_of_';

interface PlanJson {
  tables: { name: string; pgName?: string; key: string[]; keyIsRowid: boolean; columns: { name: string; pgName?: string; notNull: boolean }[] }[];
  notices: { level: string; table?: string; column?: string; message: string }[];
}

/** One SQLite file, one PostgreSQL database and one topic prefix per scenario. */
class Scenario {
  readonly prefix: string;
  dir = '';
  sqlitePath = '';
  target: TestDatabase | null = null;

  constructor(readonly label: string) {
    this.prefix = uniquePrefix(label);
  }

  async create(sql: string): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), `liteshift-${this.label}-`));
    this.sqlitePath = join(this.dir, 'app.db');
    const db = new Database(this.sqlitePath);
    db.exec(sql);
    db.close();
    this.target = await createTestDatabase(adminUrl, this.label);
  }

  get url(): string {
    return this.target!.url;
  }

  get env(): Record<string, string> {
    return { SQLITE_PATH: this.sqlitePath, DATABASE_URL: this.url, KAFKA_BROKERS: brokers, LITESHIFT_TOPIC_PREFIX: this.prefix };
  }

  migrate(...extra: string[]): Promise<CliResult> {
    return runCli(migrateArgs({ sqlitePath: this.sqlitePath, databaseUrl: this.url, brokers, prefix: this.prefix }, ...extra));
  }

  plan(...extra: string[]): Promise<CliResult> {
    return runCli(['plan', '--sqlite-path', this.sqlitePath, ...extra]);
  }

  async planJson(...extra: string[]): Promise<PlanJson> {
    const run = await this.plan('--json', ...extra);
    expect(run.code, describeRun(run)).toBe(0);
    return JSON.parse(run.stdout) as PlanJson;
  }

  async destroy(): Promise<void> {
    await this.target?.drop();
    await deleteTopicsWithPrefix(brokers, this.prefix);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

async function expectReady(run: CliResult): Promise<void> {
  expect(run.code, describeRun(run)).toBe(0);
  expect(run.stdout, describeRun(run)).toMatch(/verdict: READY/);
}

/** Tables of the public schema and their columns, as PostgreSQL has them. */
async function targetColumns(url: string): Promise<Record<string, string[]>> {
  return withClient(url, async (pg) => {
    const r = await pg.query<{ table_name: string; column_name: string }>(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    );
    const out: Record<string, string[]> = {};
    for (const row of r.rows) (out[row.table_name] ??= []).push(row.column_name);
    return out;
  });
}

async function rowCount(url: string, table: string, where = 'true'): Promise<number> {
  return withClient(url, async (pg) => Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM "${table.replace(/"/g, '""')}" WHERE ${where}`)).rows[0]!.n));
}

const bytes = (name: string): number => Buffer.byteLength(name);

describe('two columns equal in their first 63 bytes', () => {
  const s = new Scenario('names-columns');
  const inside = `${SENSOR_63}_inside`;
  const outside = `${SENSOR_63}_outside`;

  beforeAll(() =>
    s.create(`
      CREATE TABLE readings (id INTEGER PRIMARY KEY, taken DATETIME NOT NULL, "${inside}" REAL, "${outside}" REAL NOT NULL);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 500)
      INSERT INTO readings SELECT i, datetime(1700000000 + i * 60, 'unixepoch'), i / 4.0, -i / 8.0 FROM c;`),
  );
  afterAll(() => s.destroy());

  it('plan gives each column a short name of its own, with the reason', async () => {
    expect(bytes(SENSOR_63)).toBe(63);
    const plan = await s.planJson();
    const columns = plan.tables.find((t) => t.name === 'readings')!.columns;
    const names = [inside, outside].map((n) => columns.find((c) => c.name === n)!.pgName);
    for (const name of names) {
      expect(name, JSON.stringify(columns)).toBeDefined();
      expect(bytes(name!)).toBeLessThanOrEqual(63);
    }
    expect(names[0]).not.toBe(names[1]);

    const text = await s.plan();
    expect(text.code, describeRun(text)).toBe(0);
    for (const [i, column] of [inside, outside].entries()) {
      expect(text.stdout).toContain(`--   ${column} as ${names[i]}: REAL → double precision`);
      expect(text.stdout).toMatch(new RegExp(`readings\\.${column}: name of ${bytes(column)} bytes, PostgreSQL keeps 63: .*${names[i]}`));
    }
  });

  it('migrates to READY, each value in its own column, and a second migrate adopts the same table', async () => {
    const plan = await s.planJson();
    const pgName = (n: string) => plan.tables[0]!.columns.find((c) => c.name === n)!.pgName!;
    await expectReady(await s.migrate());
    const columns = await targetColumns(s.url);
    expect(columns).toEqual({ readings: ['id', 'taken', pgName(inside), pgName(outside)] });
    await withClient(s.url, async (pg) => {
      const r = await pg.query(`SELECT "${pgName(inside)}" AS i, "${pgName(outside)}" AS o FROM readings WHERE id = 200`);
      expect(r.rows).toEqual([{ i: 50, o: -25 }]);
    });

    await expectReady(await s.migrate());
    expect(await targetColumns(s.url)).toEqual(columns);
    expect(await rowCount(s.url, 'readings')).toBe(500);
    await expectSameRows(s.sqlitePath, s.url);
  });
});

describe('four tables equal in their first 63 bytes, with foreign keys and indexes between them', () => {
  const s = new Scenario('names-tables');
  const [parentOne, parentTwo, childOne, childTwo] = ['parent_one', 'parent_two', 'child_one', 'child_two'].map((t) => `${LEDGER_63}${t}`) as [string, string, string, string];
  const counts = { [parentOne]: 3, [parentTwo]: 5, [childOne]: 40, [childTwo]: 60 };

  beforeAll(() =>
    s.create(`
      CREATE TABLE "${parentOne}" (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
      CREATE TABLE "${parentTwo}" (id INTEGER PRIMARY KEY, code TEXT NOT NULL);
      CREATE TABLE "${childOne}" (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES "${parentOne}"(id), note TEXT);
      CREATE TABLE "${childTwo}" (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES "${parentTwo}", amount NUMERIC(10,2));
      CREATE INDEX "${childOne}_by_parent" ON "${childOne}"(parent_id);
      CREATE INDEX "${childTwo}_by_parent" ON "${childTwo}"(parent_id);
      CREATE UNIQUE INDEX "${parentTwo}_by_code" ON "${parentTwo}"(code);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 60)
      INSERT INTO "${parentOne}" SELECT i, 'one ' || i FROM c WHERE i <= 3;
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 60)
      INSERT INTO "${parentTwo}" SELECT i, 'two ' || i FROM c WHERE i <= 5;
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 60)
      INSERT INTO "${childOne}" SELECT i, 1 + i % 3, 'note ' || i FROM c WHERE i <= 40;
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 60)
      INSERT INTO "${childTwo}" SELECT i, 1 + i % 5, i * 1.25 FROM c;`),
  );
  afterAll(() => s.destroy());

  it('plan gives each table a short name of its own, with the reason, and DDL that uses it', async () => {
    expect(bytes(LEDGER_63)).toBe(63);
    const plan = await s.planJson();
    const pgNames = plan.tables.map((t) => t.pgName);
    expect(plan.tables.map((t) => t.name).sort()).toEqual([childOne, childTwo, parentOne, parentTwo].sort());
    for (const name of pgNames) {
      expect(name).toBeDefined();
      expect(bytes(name!)).toBeLessThanOrEqual(63);
    }
    expect(new Set(pgNames).size).toBe(4);

    const text = await s.plan();
    expect(text.code, describeRun(text)).toBe(0);
    for (const t of plan.tables) {
      expect(text.stdout).toContain(`-- ${t.name} → ${t.pgName}`);
      expect(text.stdout).toContain(`CREATE TABLE IF NOT EXISTS "public"."${t.pgName}"`);
      expect(text.stdout).toMatch(new RegExp(`\\[info\\] ${t.name}: name of ${bytes(t.name)} bytes, PostgreSQL keeps 63: .*${t.pgName}`));
    }
    const pg = (n: string) => plan.tables.find((t) => t.name === n)!.pgName!;
    expect(text.stdout).toContain(`REFERENCES "public"."${pg(parentOne)}" ("id")`);
    expect(text.stdout).toContain(`REFERENCES "public"."${pg(parentTwo)}" ("id")`);
  });

  it('migrates every table into its own, foreign keys and indexes between the right ones; a second migrate adopts them', async () => {
    const plan = await s.planJson();
    const pg = (n: string) => plan.tables.find((t) => t.name === n)!.pgName!;
    await expectReady(await s.migrate());
    const columns = await targetColumns(s.url);
    expect(columns).toEqual({
      [pg(parentOne)]: ['id', 'name'],
      [pg(parentTwo)]: ['id', 'code'],
      [pg(childOne)]: ['id', 'parent_id', 'note'],
      [pg(childTwo)]: ['id', 'parent_id', 'amount'],
    });
    for (const [table, n] of Object.entries(counts)) expect(await rowCount(s.url, pg(table)), table).toBe(n);
    await withClient(s.url, async (client) => {
      expect(await foreignKeys(client)).toEqual(
        [`${pg(childOne)}(parent_id)->${pg(parentOne)} validated=true`, `${pg(childTwo)}(parent_id)->${pg(parentTwo)} validated=true`].sort(),
      );
      expect((await uniqueIndexColumns(client, `"${pg(parentOne)}"`)).sort()).toEqual(['id', 'name']);
      expect((await uniqueIndexColumns(client, `"${pg(parentTwo)}"`)).sort()).toEqual(['code', 'id']);
      const indexes = await client.query<{ table: string; n: string }>(
        "SELECT tablename AS table, count(*) AS n FROM pg_indexes WHERE schemaname = 'public' GROUP BY tablename",
      );
      expect(Object.fromEntries(indexes.rows.map((r) => [r.table, Number(r.n)]))).toEqual({ [pg(parentOne)]: 2, [pg(parentTwo)]: 2, [pg(childOne)]: 2, [pg(childTwo)]: 2 });
    });

    await expectReady(await s.migrate());
    expect(await targetColumns(s.url)).toEqual(columns);
    for (const [table, n] of Object.entries(counts)) expect(await rowCount(s.url, pg(table)), table).toBe(n);
    await expectSameRows(s.sqlitePath, s.url);
  });

  it('--rename chooses a name instead; one already taken stops at plan time', async () => {
    const plan = await s.planJson('--rename', `"${childOne}"=ledger_child_one`);
    expect(plan.tables.find((t) => t.name === childOne)!.pgName).toBe('ledger_child_one');
    const text = await s.plan('--rename', `"${childOne}"=ledger_child_one`);
    expect(text.stdout).toContain(`-- ${childOne} → ledger_child_one`);
    expect(text.stdout).toMatch(/FOREIGN KEY \("parent_id"\) REFERENCES/);

    const taken = plan.tables.find((t) => t.name === childTwo)!.pgName!;
    const clash = await s.plan('--rename', `"${childOne}"=${taken}`);
    const line = expectCleanFailure(clash);
    expect(line).toContain(childOne);
    expect(line).toContain(childTwo);
    expect(line).toContain('--rename');
  });
});

describe('a primary key that holds NULL, migrated, then followed live', () => {
  const s = new Scenario('null-keys');
  const services: Service[] = [];

  beforeAll(() =>
    s.create(`
      CREATE TABLE things (id integer auto_increment primary key, name TEXT NOT NULL, qty INTEGER);
      INSERT INTO things (name, qty) VALUES ('no id 1', 1), ('no id 2', 2), ('no id 3', 3), ('no id 4', 4);
      INSERT INTO things (id, name, qty) VALUES (10, 'ten', 10), (11, 'eleven', 11);
      CREATE TABLE parts (id INTEGER PRIMARY KEY, thing_id INTEGER REFERENCES things(id), label TEXT);
      INSERT INTO parts (thing_id, label) VALUES (10, 'a'), (11, 'b'), (NULL, 'c'), (10, 'd');
      CREATE TABLE labels (code TEXT PRIMARY KEY, title TEXT);
      INSERT INTO labels VALUES ('a', 'A'), ('b', 'B');`),
  );
  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop('SIGTERM', 15_000).catch(() => undefined)));
    for (const service of services) service.kill();
    await s.destroy();
  });

  it('plan keys it by rowid, in one line, and keeps the declared key nullable', async () => {
    const plan = await s.planJson();
    const things = plan.tables.find((t) => t.name === 'things')!;
    expect(things.keyIsRowid).toBe(true);
    expect(things.key).toEqual(['liteshift_rowid']);
    expect(things.columns.find((c) => c.name === 'id')!.notNull).toBe(false);
    const labels = plan.tables.find((t) => t.name === 'labels')!;
    expect(labels.key).toEqual(['code']);

    const text = await s.plan();
    expect(text.code, describeRun(text)).toBe(0);
    const lines = text.stdout.split('\n').filter((l) => l.includes('things') && l.includes('NULL'));
    expect(lines, text.stdout).toEqual([
      '  [warn] things: primary key (id) holds NULL in 4 row(s), which a PostgreSQL primary key cannot: keyed by rowid (column liteshift_rowid); id keeps its values under a UNIQUE constraint (NULLs are distinct there, as in SQLite)',
    ]);
    expect(text.stdout).toContain('CREATE UNIQUE INDEX IF NOT EXISTS "things_id_key" ON "public"."things" ("id")');
  });

  it('migrates every row (none collapsed onto one NULL key) to READY; a second migrate adopts the same tables', async () => {
    await expectReady(await s.migrate());
    const columns = await targetColumns(s.url);
    expect(columns.things).toEqual(['id', 'name', 'qty', 'liteshift_rowid']);
    expect(await rowCount(s.url, 'things')).toBe(6);
    expect(await rowCount(s.url, 'things', 'id IS NULL')).toBe(4);
    await withClient(s.url, async (client) => {
      expect((await uniqueIndexColumns(client, 'things')).sort()).toEqual(['id', 'liteshift_rowid']);
      expect(await foreignKeys(client)).toEqual(['parts(thing_id)->things validated=true']);
    });

    await expectReady(await s.migrate());
    expect(await targetColumns(s.url)).toEqual(columns);
    expect(await rowCount(s.url, 'things')).toBe(6);
    await expectSameRows(s.sqlitePath, s.url);
  });

  it('followed live: inserts, updates and deletes of rows whose key is NULL arrive; READY', async () => {
    services.push(new Service('extract', ['extract', '--follow'], s.env), new Service('load', ['load', '--follow'], s.env));
    await waitForStatus(s.env, services, { deadlineMs: 90_000, what: 'caught up after the snapshot', until: (st) => caughtUp(st, ['labels', 'parts', 'things']) });

    const app = new Database(s.sqlitePath);
    app.pragma('busy_timeout = 5000');
    app.exec(`
      INSERT INTO things (name, qty) VALUES ('live no id 1', 100), ('live no id 2', 200);
      UPDATE things SET qty = qty + 1000 WHERE name = 'no id 1';
      DELETE FROM things WHERE name = 'no id 2';
      UPDATE things SET id = 12 WHERE name = 'no id 3';
      INSERT INTO things (id, name, qty) VALUES (20, 'twenty', 20);
      UPDATE things SET id = NULL, qty = 21 WHERE id = 20;
      UPDATE things SET name = 'no id 4, renamed' WHERE name = 'no id 4';`);
    app.close();
    await waitForStatus(s.env, services, { deadlineMs: 90_000, what: 'caught up after the writes' });

    expect(await rowCount(s.url, 'things')).toBe(8);
    expect(await rowCount(s.url, 'things', 'id IS NULL')).toBe(5);
    expect(await rowCount(s.url, 'things', "name = 'no id 2'")).toBe(0);
    expect(await rowCount(s.url, 'things', "name = 'no id 1' AND qty = 1001")).toBe(1);
    expect(await rowCount(s.url, 'things', "name = 'twenty' AND id IS NULL AND qty = 21")).toBe(1);
    await expectSameRows(s.sqlitePath, s.url);
    const verify = await runCli(['verify', '--kafka-brokers', brokers], s.env);
    await expectReady(verify);
  });

  it('a NULL arriving later in a key that was chosen as the row key: one reject per row, saying why', async () => {
    const app = new Database(s.sqlitePath);
    app.pragma('busy_timeout = 5000');
    app.exec("INSERT INTO labels VALUES (NULL, 'no code 1'), (NULL, 'no code 2'), ('c', 'C');");
    app.close();
    await waitForStatus(s.env, services, { deadlineMs: 90_000, what: 'caught up after the NULL keys' });
    const rejects = () => withClient(s.url, async (pg) => Number((await pg.query<{ n: string }>('SELECT count(*) AS n FROM liteshift.rejects')).rows[0]!.n));
    await until('rejects written', async () => (await rejects()) >= 2, 30_000, 200);

    await withClient(s.url, async (pg) => {
      const r = await pg.query<{ table_name: string; column_name: string; reason: string; key: unknown }>(
        'SELECT table_name, column_name, reason, key FROM liteshift.rejects ORDER BY id',
      );
      expect(r.rows.length, JSON.stringify(r.rows)).toBe(2);
      for (const row of r.rows) {
        expect(row.table_name).toBe('labels');
        expect(row.column_name).toBe('code');
        expect(row.key).toEqual([null]);
        expect(row.reason).toMatch(/^NULL in primary key column code: /);
      }
    });
    expect(await rowCount(s.url, 'labels')).toBe(3);
    const verify = await runCli(['verify', '--kafka-brokers', brokers], s.env);
    expect(verify.code, describeRun(verify)).toBe(1);
    expect(verify.stdout).toMatch(/labels: 2 rejected row/);
  });
});

describe('a key that held NULL, then none', () => {
  const s = new Scenario('null-keys-gone');

  beforeAll(() =>
    s.create(`
      CREATE TABLE things (id TEXT PRIMARY KEY, name TEXT NOT NULL);
      INSERT INTO things (name) VALUES ('one'), ('two');
      INSERT INTO things VALUES ('k3', 'three');`),
  );
  afterAll(() => s.destroy());

  it('a second migrate keeps the rowid key the target has, saying why; the services refuse the other key in one line', async () => {
    await expectReady(await s.migrate());
    const app = new Database(s.sqlitePath);
    app.exec("UPDATE things SET id = 'k' || rowid WHERE id IS NULL");
    app.close();

    // Alone, the plan keys the table by its key again: nothing tells it about the target.
    expect((await s.planJson()).tables[0]!.key).toEqual(['id']);
    const again = await s.migrate();
    await expectReady(again);
    expect(again.stdout).toContain('primary key (id) holds no NULL now, but the target table is keyed by rowid since an earlier run found some');
    expect((await targetColumns(s.url)).things).toEqual(['id', 'name', 'liteshift_rowid']);
    expect(await rowCount(s.url, 'things', "id IN ('k1', 'k2', 'k3')")).toBe(3);

    const extract = await runCli(['extract'], s.env);
    expect(extract.code, describeRun(extract)).toBe(0);
    const load = await runCli(['load'], s.env);
    const line = expectCleanFailure(load);
    expect(line).toContain('target table public.things has column liteshift_rowid NOT NULL without a default, which liteshift does not write');
    expect(await rowCount(s.url, 'things')).toBe(3);
  });
});

describe('what liteshift still cannot take stops at plan time, one line naming table and column', () => {
  const s = new Scenario('names-refused');

  beforeAll(() => s.create('CREATE TABLE events (liteshift_rowid INTEGER, payload TEXT); INSERT INTO events VALUES (1, \'x\');'));
  afterAll(() => s.destroy());

  it('a table keyed by rowid that already has a column liteshift_rowid', async () => {
    for (const run of [await s.plan(), await s.migrate()]) {
      const line = expectCleanFailure(run);
      expect(line).toContain('events.liteshift_rowid');
      expect(line).toMatch(/rename/i);
    }
    expect(await targetColumns(s.url)).toEqual({});
  });
});
