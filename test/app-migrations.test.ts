import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, runCli } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { FaultPipeline, streamingEverywhere, until } from './helpers/fault-pipeline.js';
import { freePort } from './helpers/ports.js';
import { withClient } from './helpers/postgres.js';
import { caughtUp, liveStatus, type Service } from './helpers/services.js';

/*
 * What applications do to their own SQLite file while liteshift moves it (DESIGN: "Pitfalls
 * known in the field"): their ORM's migrations rebuild tables (CREATE new, copy, DROP,
 * RENAME: every trigger on the table goes with it), INSERT OR REPLACE deletes the rows it
 * conflicts with without firing delete triggers, and tables appear, fill or change types
 * while the extractor is stopped or killed. Each ends with the target equal to the source.
 */

const COUNTS = { users: 100, tasks: 1500, recurringPatterns: 100 };

function pipeline(label: string, env: Record<string, string> = {}): FaultPipeline {
  return new FaultPipeline(label, { brokers: inject('kafkaBrokers'), adminUrl: inject('adminDatabaseUrl'), counts: COUNTS, env });
}

/** Runs `work` on the application's own connection to the SQLite file. */
function withSqlite<T>(p: FaultPipeline, work: (db: Database.Database) => T): T {
  const db = p.openWritable();
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/**
 * A table rebuilt the way ORMs change a SQLite table (Django's _remake_table, Alembic batch
 * mode, TypeORM, Prisma, knex): in one transaction, CREATE TABLE new_<t> from `create`
 * (given t's CREATE statement), copy the rows, DROP TABLE t, rename new_<t> to t, create
 * its indexes again. `gap` runs in the same transaction after the rename, when t has no
 * trigger at all: what it changes only a re-read of the table can find.
 */
function rebuild(db: Database.Database, table: string, o: { create: (sql: string) => string; columns?: [string, string][]; gap?: () => void }): void {
  const sql = (db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table) as { sql: string }).sql;
  const indexes = db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table) as { sql: string }[];
  const temp = `new_${table}`;
  const create = o.create(sql).replace(/^CREATE TABLE\s+("?)\w+\1/i, `CREATE TABLE "${temp}"`);
  const into = o.columns ? `(${o.columns.map(([to]) => `"${to}"`).join(', ')})` : '';
  const select = o.columns ? o.columns.map(([, from]) => from).join(', ') : '*';
  db.pragma('foreign_keys = OFF');
  db.transaction(() => {
    db.exec(create);
    db.exec(`INSERT INTO "${temp}" ${into} SELECT ${select} FROM "${table}"`);
    db.exec(`DROP TABLE "${table}"`);
    db.exec(`ALTER TABLE "${temp}" RENAME TO "${table}"`);
    for (const index of indexes) db.exec(index.sql);
    o.gap?.();
  })();
  db.pragma('foreign_keys = ON');
}

/** The extractor's log lines saying it re-synchronised `table`. */
function resyncLines(service: Service, table: string): Record<string, unknown>[] {
  return service.logLines().filter((l) => l.msg === 'table re-synchronised' && l.table === table);
}

async function waitForResync(p: FaultPipeline, table: string, count = 1): Promise<void> {
  await until(`the extractor re-synchronised ${table}`, () => {
    if (!p.extract!.running) throw new Error(`the extractor exited\n${p.extract!.describe()}`);
    return resyncLines(p.extract!, table).length >= count;
  }, 60_000, 100);
}

async function pgColumns(url: string, table: string): Promise<Record<string, string>> {
  return withClient(url, async (client) => {
    const r = await client.query<{ column_name: string; data_type: string }>(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
      [table],
    );
    return Object.fromEntries(r.rows.map((row) => [row.column_name, row.data_type]));
  });
}

async function pgIds(url: string, table: string, column = 'id'): Promise<number[]> {
  return withClient(url, async (client) => (await client.query<{ id: string }>(`SELECT "${column}"::text AS id FROM "${table}" ORDER BY 1`)).rows.map((r) => Number(r.id)));
}

describe('application migrations and REPLACE while extract and load follow', () => {
  const p = pipeline('mig-live');

  beforeAll(async () => {
    await p.create();
    withSqlite(p, (db) => {
      db.exec(`CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, color TEXT);
        CREATE TABLE settings (k TEXT NOT NULL UNIQUE, v TEXT);
        CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, label TEXT UNIQUE, PRIMARY KEY (a, b)) WITHOUT ROWID;
        CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL, legacy_code TEXT NOT NULL, budget INTEGER);
        CREATE TABLE gauges (id INTEGER PRIMARY KEY, reading BOOLEAN);
        INSERT INTO gauges (id, reading) VALUES (1, 0), (2, 1), (3, 1);`);
      const tag = db.prepare('INSERT INTO tags (id, name, color) VALUES (?, ?, ?)');
      const setting = db.prepare('INSERT INTO settings (k, v) VALUES (?, ?)');
      const pair = db.prepare('INSERT INTO pairs (a, b, label) VALUES (?, ?, ?)');
      const project = db.prepare('INSERT INTO projects (id, name, legacy_code, budget) VALUES (?, ?, ?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= 40; i++) tag.run(i, `tag ${i}`, i % 2 ? 'blue' : null);
        for (const k of ['theme', 'locale', 'timezone']) setting.run(k, `${k} default`);
        for (let i = 1; i <= 10; i++) pair.run(i, i, `label ${i}`);
        for (let i = 1; i <= 300; i++) project.run(i, `project ${i}`, `LEG-${i}`, i * 100);
      })();
    });
  });
  afterAll(() => p.destroy());

  it('INSERT OR REPLACE, REPLACE INTO and UPDATE OR REPLACE over a UNIQUE value: the rows they delete are deleted in PostgreSQL too', async () => {
    p.diagnoseOnFailure();
    p.startExtract();
    p.startLoad();
    await p.waitFor('every table streaming', streamingEverywhere);
    withSqlite(p, (db) => {
      // Conflicts on the NOCASE name of id 3: id 3 is deleted, 1000 inserted.
      db.prepare("INSERT OR REPLACE INTO tags (id, name, color) VALUES (1000, 'TAG 3', 'red')").run();
      // Conflicts on its own key 7 and on the name of id 8: both deleted, 7 inserted.
      db.prepare("REPLACE INTO tags (id, name) VALUES (7, 'tag 8')").run();
      // An update taking the name of id 10: id 10 is deleted.
      db.prepare("UPDATE OR REPLACE tags SET name = 'tag 10' WHERE id = 11").run();
      // Neither deletes anything.
      db.prepare("INSERT INTO tags (id, name) VALUES (12, 'tag 12') ON CONFLICT (id) DO UPDATE SET color = 'upserted'").run();
      db.prepare("INSERT OR IGNORE INTO tags (id, name) VALUES (2000, 'tag 13')").run();
      // A table keyed by rowid: the old row of 'theme' goes, a new rowid comes.
      db.prepare("REPLACE INTO settings (k, v) VALUES ('theme', 'dark')").run();
      // A composite key, WITHOUT ROWID: (2, 2) holds 'label 2'.
      db.prepare("INSERT OR REPLACE INTO pairs (a, b, label) VALUES (90, 90, 'label 2')").run();
    });
    await p.waitFor('zero lag after the REPLACEs');
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    const tags = await pgIds(p.databaseUrl, 'tags');
    for (const gone of [3, 8, 10]) expect(tags, `tags ${gone} is still in PostgreSQL`).not.toContain(gone);
    expect(tags).toEqual(expect.arrayContaining([7, 11, 12, 1000]));
    expect(await pgIds(p.databaseUrl, 'settings', 'liteshift_rowid')).toHaveLength(3);
  });

  it('the four-statement rebuild while following, then inserts, updates and deletes on the rebuilt table: zero differences, nothing restarted', async () => {
    p.diagnoseOnFailure();
    const [extract, load] = [p.extract!, p.load!];
    const writer = p.writer(100, 61);
    await writer.waitForAccepted(100);
    const gapDeleted: number[] = [];
    withSqlite(p, (db) => {
      rebuild(db, 'tasks', {
        create: (sql) => sql.replace(/title VARCHAR\(200\)/i, 'title VARCHAR(500)'),
        gap: () => {
          // Written while tasks has no trigger: only a re-read finds these.
          for (const row of db.prepare('SELECT id FROM tasks ORDER BY id LIMIT 25').all() as { id: number }[]) gapDeleted.push(row.id);
          db.prepare(`DELETE FROM tasks WHERE id IN (${gapDeleted.join(', ')})`).run();
          db.prepare("UPDATE tasks SET title = title || ' (changed in the gap)' WHERE id % 13 = 0").run();
          db.prepare("INSERT INTO tasks (user_id, title) SELECT id, 'inserted in the gap' FROM users LIMIT 10").run();
        },
      });
    });
    await writer.waitForAccepted(writer.progress.accepted + 100);
    await waitForResync(p, 'tasks');
    // The rebuilt table is captured again.
    withSqlite(p, (db) => {
      db.prepare("INSERT INTO tasks (user_id, title) SELECT id, 'after the rebuild ' || id FROM users LIMIT 20").run();
      db.prepare("UPDATE tasks SET status = 'done', title = title || ' ✓' WHERE id % 7 = 0").run();
      db.prepare('DELETE FROM tasks WHERE id % 11 = 0').run();
    });
    await writer.waitForAccepted(writer.progress.accepted + 100);
    await p.drain(writer);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    const tasks = await pgIds(p.databaseUrl, 'tasks');
    expect(gapDeleted).toHaveLength(25);
    expect(tasks.filter((id) => gapDeleted.includes(id)), 'rows deleted while tasks had no trigger, still in PostgreSQL').toEqual([]);

    // Without a restart: the same two processes did all of it, and said so once.
    expect(extract.running && load.running).toBe(true);
    expect(p.services).toHaveLength(2);
    expect(resyncLines(extract, 'tasks')).toHaveLength(1);
    const status = await liveStatus(p.env);
    expect(status.tables.find((t) => t.table === 'tasks')?.note).toMatch(/re-synchronised/);
    expect(status.tables.find((t) => t.table === 'users')?.note).toBeUndefined();
  });

  it('a rebuild that drops a column and renames another: PostgreSQL follows, zero differences', async () => {
    p.diagnoseOnFailure();
    withSqlite(p, (db) => {
      rebuild(db, 'projects', {
        create: () => 'CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL, budget_cents INTEGER)',
        columns: [['id', 'id'], ['name', 'name'], ['budget_cents', 'budget * 100']],
        gap: () => db.prepare('DELETE FROM projects WHERE id % 50 = 0').run(),
      });
    });
    await waitForResync(p, 'projects');
    withSqlite(p, (db) => {
      db.prepare("INSERT INTO projects (id, name, budget_cents) VALUES (1001, 'after the rebuild', 5)").run();
      db.prepare('UPDATE projects SET budget_cents = budget_cents + 1 WHERE id % 3 = 0').run();
    });
    await p.waitFor('zero lag after the rebuild of projects');
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    const columns = await pgColumns(p.databaseUrl, 'projects');
    expect(Object.keys(columns).sort()).toEqual(['budget_cents', 'id', 'name']);
    expect(p.extract!.running && p.load!.running).toBe(true);
  });

  it('a rebuild giving a column a type PostgreSQL cannot widen to: that table stops with one line, the others go on', async () => {
    p.diagnoseOnFailure();
    withSqlite(p, (db) => {
      rebuild(db, 'gauges', {
        create: () => 'CREATE TABLE gauges (id INTEGER PRIMARY KEY, reading DATETIME)',
        columns: [['id', 'id'], ['reading', "'2026-01-0' || id || ' 10:00:00'"]],
      });
    });
    await waitForResync(p, 'gauges');
    const stopped = (): Record<string, unknown>[] => p.load!.logLines().filter((l) => l.level === 50 && l.table === 'gauges');
    await until('the loader stopping gauges', () => stopped().length > 0, 60_000, 100);
    expect(String(stopped()[0]!.msg)).toMatch(/^table gauges: column reading changed from boolean to timestamp(tz)?, which cannot hold every value the column has; its changes are no longer applied/);
    withSqlite(p, (db) => db.prepare("INSERT INTO tags (id, name) VALUES (3000, 'after gauges stopped')").run());
    await until('tags 3000 in PostgreSQL', async () => (await pgIds(p.databaseUrl, 'tags')).includes(3000), 60_000, 200);
    expect(stopped()).toHaveLength(1);
    expect(p.load!.running).toBe(true);
    const status = await liveStatus(p.env);
    expect(status.tables.find((t) => t.table === 'gauges')!.loaderLag).toBeGreaterThan(0);
  });
});

describe('the extractor stopped, killed and restarted while the application changes its schema', () => {
  const p = pipeline('mig-restart');

  beforeAll(async () => {
    await p.create();
    withSqlite(p, (db) => {
      db.exec(`CREATE TABLE readings (id INTEGER PRIMARY KEY, v INTEGER, at TEXT);
        CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);`);
      const reading = db.prepare('INSERT INTO readings (id, v, at) VALUES (?, ?, ?)');
      const note = db.prepare('INSERT INTO notes (id, body) VALUES (?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= 300; i++) reading.run(i, i * 3, `2026-01-0${(i % 9) + 1}`);
        for (let i = 1; i <= 200; i++) note.run(i, `note ${i}`);
      })();
    });
  });
  afterAll(() => p.destroy());

  it('a table created and filled, and another rebuilt, while the extractor is stopped: both whole after the restart', async () => {
    p.diagnoseOnFailure();
    p.startExtract();
    p.startLoad();
    await p.waitFor('every table streaming, caught up');
    const stopped = await p.extract!.stop('SIGTERM', 30_000);
    expect(stopped.code, p.extract!.describe()).toBe(0);
    withSqlite(p, (db) => {
      db.exec('CREATE TABLE labels (id INTEGER PRIMARY KEY, name TEXT NOT NULL, weight REAL)');
      const insert = db.prepare('INSERT INTO labels (id, name, weight) VALUES (?, ?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= 500; i++) insert.run(i, `label ${i}`, i / 4);
      })();
      rebuild(db, 'notes', { create: (sql) => sql, gap: () => db.prepare('DELETE FROM notes WHERE id % 10 = 0').run() });
    });
    p.startExtract();
    await p.waitFor('labels streaming, caught up', (s) => caughtUp(s, ['labels']));
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expect(await pgIds(p.databaseUrl, 'labels')).toHaveLength(500);
    expect((await pgIds(p.databaseUrl, 'notes')).filter((id) => id % 10 === 0)).toEqual([]);
  });

  it("the extractor killed (SIGKILL) during a new table's snapshot: the restarted one snapshots it again", async () => {
    p.diagnoseOnFailure();
    const extract = p.extract!;
    withSqlite(p, (db) => {
      db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT)');
      const insert = db.prepare('INSERT INTO events (id, kind, payload) VALUES (?, ?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= 60_000; i++) insert.run(i, i % 3 ? 'click' : 'view', `payload ${i}`);
      })();
    });
    const chunkOfEvents = (): boolean => extract.logLines().some((l) => l.msg === 'snapshot chunk sent' && l.table === 'events');
    await until('a snapshot chunk of events sent', () => {
      if (!extract.running) throw new Error(extract.describe());
      return chunkOfEvents();
    }, 60_000, 5);
    extract.kill();
    await extract.whenExited();
    expect(extract.logLines().some((l) => l.msg === 'snapshot of table read' && l.table === 'events'), 'the snapshot of events ended before the kill').toBe(false);
    withSqlite(p, (db) => {
      db.prepare('DELETE FROM events WHERE id % 100 = 0').run();
      db.prepare("UPDATE events SET payload = 'changed while no extractor ran' WHERE id % 77 = 0").run();
    });
    p.startExtract();
    await p.waitFor('events streaming, caught up', (s) => caughtUp(s, ['events']));
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });

  it('a column whose type the restarted extractor plans anew (text now stored in an INTEGER column): PostgreSQL widens it, zero differences', async () => {
    p.diagnoseOnFailure();
    expect((await pgColumns(p.databaseUrl, 'readings')).v).toBe('bigint');
    for (const service of [p.extract!, p.load!]) expect((await service.stop('SIGTERM', 30_000)).code, service.describe()).toBe(0);
    withSqlite(p, (db) => {
      db.prepare("UPDATE readings SET v = 'n/a' WHERE id % 10 = 0").run();
      db.prepare('UPDATE readings SET v = v + 0.5 WHERE id % 10 = 1').run();
      db.prepare("INSERT INTO readings (id, v, at) VALUES (1001, 'unknown', NULL)").run();
    });
    p.startExtract();
    p.startLoad();
    await p.waitFor('readings caught up after the restart');
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expect((await pgColumns(p.databaseUrl, 'readings')).v).toBe('text');
  });
});

describe('a column added while the extractor reads the schema', () => {
  const p = pipeline('mig-read');
  let port = 0;

  beforeAll(async () => {
    await p.create();
    withSqlite(p, (db) => {
      db.exec('CREATE TABLE aa_first (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE zz_history (id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c REAL, d TEXT)');
      const series = (n: number): string => `WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < ${n})`;
      db.prepare(`${series(50)} INSERT INTO aa_first (id, name) SELECT value, 'first ' || value FROM s`).run();
      // Large enough that reading its profile takes a while after aa_first was read.
      db.prepare(`${series(500_000)} INSERT INTO zz_history (id, a, b, c, d) SELECT value, 'history ' || value, value * 7, value / 3.0, printf('%08d', value) FROM s`).run();
    });
    port = await freePort();
  });
  afterAll(() => p.destroy());

  it('is captured: the column reaches PostgreSQL with its values', async () => {
    p.diagnoseOnFailure();
    const extract = p.startExtract({ LITESHIFT_HTTP_PORT: String(port) });
    // /readyz answers from before the schema is read.
    await until('the extractor serving /readyz', async () => {
      if (!extract.running) throw new Error(extract.describe());
      return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null)) !== null;
    }, 60_000, 10);
    withSqlite(p, (db) => {
      db.exec("ALTER TABLE aa_first ADD COLUMN note TEXT DEFAULT 'none'");
      db.prepare("UPDATE aa_first SET note = 'set ' || id WHERE id % 2 = 0").run();
    });
    p.startLoad();
    await p.waitFor('caught up', (s) => caughtUp(s, ['aa_first', 'zz_history']), 240_000);
    expect(Object.keys(await pgColumns(p.databaseUrl, 'aa_first'))).toContain('note');
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  }, 300_000);
});

describe('an application migration rebuilds a table during cutover', () => {
  const p = pipeline('mig-cutover');

  beforeAll(() => p.create());
  afterAll(() => p.destroy());

  it('the extractor fences the rebuilt table again, cutover ends NOT READY and lifts the fence from every table; the next cutover is READY', async () => {
    p.diagnoseOnFailure();
    p.startExtract();
    p.startLoad();
    await p.waitFor('caught up');
    // A loader that is behind holds cutover in its drain, fence on. It is paused, not
    // stopped: cutover fences only while a loader is a member of the group, which a
    // paused one stays for its session (10 s), longer than the rebuild below takes.
    const loader = p.load!;
    const pauseLoader = (signal: NodeJS.Signals): boolean => process.kill(-loader.child.pid!, signal);
    pauseLoader('SIGSTOP');
    withSqlite(p, (db) => db.prepare("UPDATE tasks SET title = title || '.' WHERE id % 10 = 0").run());
    const cutover = runCli(['cutover', '--json', '--timeout', '120'], p.env, 200_000);
    const fenceOn = (table: string): boolean =>
      withSqlite(p, (db) => {
        try {
          db.prepare(`UPDATE "${table}" SET id = id WHERE id = (SELECT min(id) FROM "${table}")`).run();
          return false;
        } catch (error) {
          if (/has moved to PostgreSQL/.test(String(error))) return true;
          throw error;
        }
      });
    await until('the fence up', () => fenceOn('users'), 60_000, 50);
    withSqlite(p, (db) => rebuild(db, 'tasks', { create: (sql) => sql.replace(/title VARCHAR\(200\)/i, 'title VARCHAR(500)') }));
    // Never an unfenced table while the rest is fenced: the extractor puts the fence back.
    await until('tasks fenced again', () => fenceOn('tasks'), 30_000, 50);
    expect(fenceOn('users')).toBe(true);
    pauseLoader('SIGCONT');
    const run = await cutover;
    expect(run.code, describeRun(run)).toBe(1);
    const result = JSON.parse(run.stdout) as { ready: boolean; report: { verdict: string; reasons: string[] } };
    expect(result.ready).toBe(false);
    expect(result.report.reasons.join('\n')).toMatch(/schema of SQLite changed during cutover/);
    // Lifted from every table together.
    expect(fenceOn('tasks') || fenceOn('users') || fenceOn('recurring_patterns')).toBe(false);

    await waitForResync(p, 'tasks');
    await p.waitFor('caught up after the rebuild');
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    const again = await runCli(['cutover', '--json', '--timeout', '120'], p.env, 200_000);
    expect(again.code, describeRun(again)).toBe(0);
  }, 400_000);
});
