import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, runCli, type CliResult } from './helpers/cli.js';
import { compareAllRows, describeDifferences } from './helpers/compare.js';
import { MigratedSqlite } from './helpers/migrated-sqlite.js';
import { withClient } from './helpers/postgres.js';
import { storedRows } from './helpers/stored-rows.js';
import { postgresAnswers, sqliteAnswers } from './helpers/todo-app.js';

/*
 * The way back (export-sqlite): the demo database migrated, the application then working on
 * PostgreSQL (inserts, updates, deletes, a new user and their tasks, a new table, a new
 * column), and PostgreSQL exported into the original SQLite file and into a new one. Both
 * verify READY, the application's own reads answer as PostgreSQL does, and every row
 * PostgreSQL did not change is back byte for byte as the application stored it.
 */

const COUNTS = { users: 200, tasks: 3000, recurringPatterns: 300 };
const NEW_EMAIL = 'zoe.nouvelle@example.org';

/** An audit table the way a JavaScript service writes one: no primary key, ISO text with 'T' and 'Z', booleans as text. */
function addAuditLog(path: string): void {
  const db = new Database(path);
  db.exec("CREATE TABLE audit_log (at DATETIME NOT NULL, user_id INTEGER, action TEXT NOT NULL, ok BOOLEAN NOT NULL DEFAULT 'true')");
  const insert = db.prepare('INSERT INTO audit_log (at, user_id, action, ok) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 500; i++) {
      const at = new Date(Date.UTC(2024, 0, 1) + i * 3_600_123).toISOString();
      insert.run(at, (i % 50) + 1, ['login', 'create task', 'complete task', 'logout'][i % 4], i % 7 === 0 ? 'false' : 'true');
    }
  })();
  db.close();
}

function expectReady(run: CliResult): void {
  expect(run.code, describeRun(run)).toBe(0);
  expect(run.stdout, describeRun(run)).toMatch(/verdict: READY/);
  expect(run.stdout).not.toContain('NOT READY');
}

describe('export-sqlite: the demo database migrated, changed on PostgreSQL, and exported back', () => {
  const demo = new MigratedSqlite('back');
  let original: string;
  let pristine: string;
  let fresh: string;
  let newUser: number;
  const exportArgs = (path: string, ...extra: string[]) => demo.exportArgs(path, ...extra);

  beforeAll(async () => {
    await demo.create(COUNTS, addAuditLog);
    original = demo.sqlitePath;
    pristine = join(demo.dir, 'todo-before.db');
    fresh = join(demo.dir, 'fresh.db');
    copyFileSync(original, pristine);

    // The application now runs on PostgreSQL.
    await withClient(demo.url, async (pg) => {
      const user = await pg.query<{ id: string }>(
        `INSERT INTO users (email, username, hashed_password, full_name, is_active, created_at)
         VALUES ($1, 'zoe_nouvelle', '$2b$12$abcdefghijklmnopqrstuv0123456789ABCDEFGHIJKLMNOPQRSTU', 'Zoë Nouvelle', true, '2026-01-05 09:30:00') RETURNING id::text`,
        [NEW_EMAIL],
      );
      newUser = Number(user.rows[0]!.id);
      await pg.query(
        `INSERT INTO tasks (user_id, title, description, status, priority, due_date, completed, created_at, updated_at) VALUES
           ($1, 'Unpack boxes', 'Kitchen first, then the "books" — all of them', 'pending', 1, '2025-01-10 17:00:00', false, '2026-01-05 10:00:00', '2026-01-05 10:00:00'),
           ($1, 'Register at the town hall', NULL, 'pending', 2, '2026-02-01 09:00:00', false, '2026-01-05 10:01:00', '2026-01-05 10:01:00'),
           ($1, 'Buy a lamp', E'tab\\there', 'done', 3, NULL, true, '2026-01-05 10:02:00', '2026-01-06 08:00:00')`,
        [newUser],
      );
      await pg.query(`UPDATE tasks SET completed = true, status = 'done', completed_at = '2026-01-06 08:15:30.25', updated_at = '2026-01-06 08:15:30' WHERE id IN (1, 2, 3)`);
      await pg.query(`UPDATE tasks SET title = title || ' (moved)' WHERE id % 97 = 0`);
      await pg.query(`UPDATE users SET full_name = 'Renée O''Brien', is_active = false WHERE id = 5`);
      await pg.query('DELETE FROM tasks WHERE id % 50 = 0');
      // Cascades to the user's tasks and recurring patterns, as the foreign keys say.
      await pg.query('DELETE FROM users WHERE id = 7');
      await pg.query(`INSERT INTO audit_log (liteshift_rowid, at, user_id, action, ok) VALUES (10001, '2026-01-05 09:30:00.5+00', $1, 'signup', false)`, [newUser]);
      await pg.query('DELETE FROM audit_log WHERE liteshift_rowid % 100 = 3');
      await pg.query('ALTER TABLE tasks ADD COLUMN estimate_minutes integer');
      await pg.query('UPDATE tasks SET estimate_minutes = 25 WHERE id % 10 = 1');
      await pg.query(`CREATE TABLE projects (
        id bigserial PRIMARY KEY, owner_id bigint NOT NULL REFERENCES users (id), name varchar(80) NOT NULL UNIQUE,
        budget numeric(10,2), archived boolean NOT NULL DEFAULT false, starts_on date, review_at timestamp, created_at timestamptz NOT NULL DEFAULT now())`);
      await pg.query('CREATE INDEX projects_owner ON projects (owner_id)');
      await pg.query(`INSERT INTO projects (owner_id, name, budget, starts_on, review_at, created_at) VALUES
        ($1, 'Move to Lyon', 1234.50, '2026-02-01', '2026-03-01 09:00:00', '2026-01-05 11:00:00.123456+00'), (1, 'Garden', NULL, NULL, NULL, '2026-01-06 12:00:00+02')`, [newUser]);
    });
  }, 240_000);

  afterAll(() => demo.destroy());

  it('--dry-run shows the tables and the SQLite types chosen for the table created on PostgreSQL, and writes nothing', async () => {
    const run = await runCli(exportArgs(fresh, '--dry-run'));
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/-- tasks: migrated from SQLite/);
    expect(run.stdout).toMatch(/-- projects: created on PostgreSQL after the switch/);
    expect(run.stdout).toMatch(/id: PostgreSQL bigint → INTEGER PRIMARY KEY \(rowid alias\)/);
    expect(run.stdout).toMatch(/created_at: PostgreSQL timestamp with time zone → TIMESTAMPTZ/);
    expect(run.stdout).toMatch(/tasks\.estimate_minutes: added on PostgreSQL after the switch \(integer → INTEGER\)/);
    expect(existsSync(fresh)).toBe(false);
  });

  it('into the original file: READY; the application reads what PostgreSQL answers; untouched rows are back byte for byte', async () => {
    const run = await runCli(exportArgs(original));
    expectReady(run);
    expect(run.stdout).toMatch(/Export summary \(into the existing file\)/);
    // The deletes made on PostgreSQL travelled as deletes: 60 tasks by id, user 7 with what cascaded.
    expect(run.stdout).toMatch(/tasks\s+[\d,]+ rows, \d+ deleted/);

    const differences = await compareAllRows(original, demo.url);
    expect(describeDifferences(differences)).toBe('');
    const params = { email: NEW_EMAIL, user: newUser };
    expect(sqliteAnswers(original, params)).toEqual(await postgresAnswers(demo.url, params));
    expect(sqliteAnswers(original, { email: 'nobody@example.com', user: 1 })).toEqual(await postgresAnswers(demo.url, { email: 'nobody@example.com', user: 1 }));

    const before = storedRows(pristine);
    const after = storedRows(original);
    const changedOnPg = (table: string, key: string): boolean =>
      (table === 'tasks' && (['1', '2', '3'].includes(key) || Number(key) % 97 === 0)) || (table === 'users' && key === '5');
    for (const [table, rows] of before) {
      let same = 0;
      for (const [key, row] of rows) {
        const now = after.get(table)?.get(key);
        if (now === undefined || changedOnPg(table, key)) continue;
        // A column added on PostgreSQL comes last; the rest is as the application stored it.
        expect(table === 'tasks' ? now.slice(0, row.length) : now, `${table} rowid ${key}`).toBe(row);
        same++;
      }
      expect(same, table).toBeGreaterThan(rows.size * 0.8);
    }
    const db = new Database(original, { readonly: true });
    try {
      // What PostgreSQL wrote, in the forms the application wrote: JavaScript ISO text and 'true'/'false' in the audit log.
      expect(db.prepare('SELECT at, ok, typeof(user_id) AS t FROM audit_log WHERE rowid = 10001').get()).toEqual({ at: '2026-01-05T09:30:00.500Z', ok: 'false', t: 'integer' });
      expect(db.prepare('SELECT count(*) FROM audit_log WHERE rowid % 100 = 3').pluck().get()).toBe(0);
      expect(db.prepare('SELECT completed, completed_at, status FROM tasks WHERE id = 1').get()).toEqual({ completed: 1, completed_at: '2026-01-06 08:15:30.25', status: 'done' });
      expect(db.prepare('SELECT count(*) FROM tasks WHERE user_id = 7').pluck().get()).toBe(0);
      expect(db.prepare('SELECT count(*) FROM tasks WHERE estimate_minutes = 25').pluck().get()).toBeGreaterThan(0);
      expect(db.prepare("SELECT count(*) FROM tasks WHERE typeof(estimate_minutes) NOT IN ('integer', 'null')").pluck().get()).toBe(0);
      expect(db.prepare('SELECT name, budget, archived, starts_on, review_at, created_at FROM projects ORDER BY id').all()).toEqual([
        { name: 'Move to Lyon', budget: 1234.5, archived: 0, starts_on: '2026-02-01', review_at: '2026-03-01 09:00:00', created_at: '2026-01-05 11:00:00.123456' },
        { name: 'Garden', budget: null, archived: 0, starts_on: null, review_at: null, created_at: '2026-01-06 10:00:00' },
      ]);
      // The application keeps writing where its ids left off.
      const maxUser = db.prepare('SELECT max(id) FROM users').pluck().get() as number;
      expect(maxUser).toBe(newUser);
    } finally {
      db.close();
    }
  }, 180_000);

  it('into a new file: tables created from the model (declared types, keys, NOT NULL, defaults, indexes, foreign keys), READY', async () => {
    const run = await runCli(exportArgs(fresh));
    expectReady(run);
    expect(run.stdout).toMatch(/Export summary \(into a new file\)/);
    const schemaOf = (path: string, table: string) => {
      const db = new Database(path, { readonly: true });
      try {
        return {
          columns: db.prepare(`PRAGMA table_info("${table}")`).all(),
          indexes: (db.prepare(`PRAGMA index_list("${table}")`).all() as { name: string; unique: number; origin: string }[]).map((i) => [i.unique, i.origin]).sort(),
          foreignKeys: db.prepare(`PRAGMA foreign_key_list("${table}")`).all().map((f) => ({ ...(f as object), id: 0, seq: 0 })),
        };
      } finally {
        db.close();
      }
    };
    for (const table of ['users', 'recurring_patterns']) expect(schemaOf(fresh, table), table).toEqual(schemaOf(original, table));
    const tasks = schemaOf(fresh, 'tasks');
    expect(tasks.columns).toEqual(schemaOf(original, 'tasks').columns);
    expect(tasks.foreignKeys).toEqual(schemaOf(original, 'tasks').foreignKeys);
    const projects = schemaOf(fresh, 'projects');
    expect((projects.columns as { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }[]).map((c) => [c.name, c.type, c.notnull, c.dflt_value, c.pk])).toEqual([
      ['id', 'INTEGER', 0, null, 1],
      ['owner_id', 'INTEGER', 1, null, 0],
      ['name', 'VARCHAR(80)', 1, null, 0],
      ['budget', 'NUMERIC(10,2)', 0, null, 0],
      ['archived', 'BOOLEAN', 1, '0', 0],
      ['starts_on', 'DATE', 0, null, 0],
      ['review_at', 'DATETIME', 0, null, 0],
      ['created_at', 'TIMESTAMPTZ', 1, 'CURRENT_TIMESTAMP', 0],
    ]);
    expect(describeDifferences(await compareAllRows(fresh, demo.url))).toBe('');
    const params = { email: NEW_EMAIL, user: newUser };
    expect(sqliteAnswers(fresh, params)).toEqual(await postgresAnswers(demo.url, params));
    // The file's rows are those of the original file, exported there too.
    const a = storedRows(original);
    const b = storedRows(fresh);
    for (const table of ['users', 'tasks', 'recurring_patterns', 'projects', 'audit_log']) expect(b.get(table), table).toEqual(a.get(table));
  }, 180_000);

  it('`liteshift verify` of either file says READY; a second export changes nothing', async () => {
    for (const path of [original, fresh]) {
      const run = await runCli(['verify', '--sqlite-path', path, '--postgres-url', demo.url]);
      expectReady(run);
    }
    const again = await runCli(exportArgs(original, '--json'));
    expect(again.code, describeRun(again)).toBe(0);
    const result = JSON.parse(again.stdout) as { verdict: string; export: { applied: { upserted: number; deleted: number; unchanged: number } } };
    expect(result.verdict).toBe('READY');
    expect(result.export.applied).toMatchObject({ upserted: 0, deleted: 0 });
    expect(result.export.applied.unchanged).toBeGreaterThan(COUNTS.tasks);
    // Back for good: uninstall leaves the application's own tables only.
    const uninstall = await runCli(['uninstall', '--sqlite-path', original]);
    expect(uninstall.code, describeRun(uninstall)).toBe(0);
    const db = new Database(original, { readonly: true });
    try {
      expect(db.prepare("SELECT name FROM sqlite_schema WHERE name LIKE '\\_liteshift%' ESCAPE '\\'").pluck().all()).toEqual([]);
    } finally {
      db.close();
    }
  }, 180_000);
});
