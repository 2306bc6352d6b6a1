import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTodoDatabase } from '@liteshift/shared';
import { describeRun, runCli, type CliResult, migrateArgs as cliMigrateArgs } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { deleteTopicsWithPrefix, topicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { createTestDatabase, DEMO_FOREIGN_KEYS, foreignKeys, uniqueIndexColumns, userRelations, userSchemas, withClient, type TestDatabase } from './helpers/postgres.js';

const COUNTS = { users: 300, tasks: 5000, recurringPatterns: 400 };

function expectReady(run: CliResult): void {
  expect(run.code, describeRun(run)).toBe(0);
  expect(run.stdout, describeRun(run)).toMatch(/verdict: READY/);
  expect(run.stdout).not.toContain('NOT READY');
  // A rerun must adopt what is there, not trip over it.
  expect(`${run.stdout}\n${run.stderr}`).not.toMatch(/already exists|duplicate key|cannot affect row a second time/i);
}

describe('migrate the demo Todo database', () => {
  const brokers = inject('kafkaBrokers');
  const adminUrl = inject('adminDatabaseUrl');
  const prefix = uniquePrefix('demo');
  const dryRunPrefix = uniquePrefix('demo-dry');
  let workDir: string;
  let sqlitePath: string;
  let target: TestDatabase;
  const created: TestDatabase[] = [];

  const migrateArgs = (...extra: string[]) => cliMigrateArgs({ sqlitePath, databaseUrl: target.url, brokers, prefix }, ...extra);

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'liteshift-demo-'));
    sqlitePath = join(workDir, 'todo.db');
    expect(createTodoDatabase(sqlitePath, COUNTS)).toEqual(COUNTS);
    target = await createTestDatabase(adminUrl, 'demo');
    created.push(target);
  });

  afterAll(async () => {
    for (const db of created) await db.drop();
    await deleteTopicsWithPrefix(brokers, prefix);
    await deleteTopicsWithPrefix(brokers, dryRunPrefix);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('migrates: exit 0, READY, every row and column equal', async () => {
    const run = await runCli(migrateArgs());
    expectReady(run);
    const tables = await expectSameRows(sqlitePath, target.url);
    expect(Object.fromEntries(tables.map((t) => [t.table, t.postgresCount]))).toEqual({
      users: COUNTS.users,
      tasks: COUNTS.tasks,
      recurring_patterns: COUNTS.recurringPatterns,
    });
  });

  it('carries tricky text (quotes, backslash, tab, newline, non-ASCII) byte for byte (checked without the diff)', async () => {
    const db = new Database(sqlitePath, { readonly: true });
    const source = new Map<number, [string, string | null]>();
    const users = new Map<number, [string, string | null]>();
    try {
      for (const r of db.prepare('SELECT id, title, description FROM tasks').all() as { id: number; title: string; description: string | null }[]) {
        source.set(r.id, [r.title, r.description]);
      }
      for (const r of db.prepare('SELECT id, email, full_name FROM users').all() as { id: number; email: string; full_name: string | null }[]) {
        users.set(r.id, [r.email, r.full_name]);
      }
    } finally {
      db.close();
    }
    // The demo data does carry what naive escaping breaks; otherwise this test proves nothing.
    const tricky = [...source.values()].filter(([, d]) => d !== null && /['"\\\t\n]/.test(d));
    expect(tricky.length).toBeGreaterThan(0);
    expect([...users.values()].some(([, n]) => n !== null && /[^\x00-\x7f]/.test(n))).toBe(true);

    await withClient(target.url, async (client) => {
      const tasks = await client.query<{ id: string; title: string; description: string | null }>('SELECT id::text, title, description FROM tasks');
      expect(new Map(tasks.rows.map((r) => [Number(r.id), [r.title, r.description]]))).toEqual(source);
      const people = await client.query<{ id: string; email: string; full_name: string | null }>('SELECT id::text, email, full_name FROM users');
      expect(new Map(people.rows.map((r) => [Number(r.id), [r.email, r.full_name]]))).toEqual(users);
    });
  });

  it('keeps NOT NULL, validated foreign keys, UNIQUE, identity, CHECK and defaults', async () => {
    await withClient(target.url, async (client) => {
      const title = await client.query<{ is_nullable: string }>(
        "SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'tasks' AND column_name = 'title'",
      );
      expect(title.rows).toEqual([{ is_nullable: 'NO' }]);

      expect(await foreignKeys(client)).toEqual(DEMO_FOREIGN_KEYS);
      expect(await uniqueIndexColumns(client, 'public.users')).toContain('email');

      const identity = await client.query<{ attidentity: string }>(
        "SELECT attidentity FROM pg_attribute WHERE attrelid = 'public.tasks'::regclass AND attname = 'id'",
      );
      expect(['a', 'd']).toContain(identity.rows[0]?.attidentity);

      const check = await client.query<{ def: string }>(
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'public.recurring_patterns'::regclass AND contype = 'c'",
      );
      expect(check.rows.some((r) => /frequency/.test(r.def) && /daily/.test(r.def))).toBe(true);

      const defaults = await client.query<{ column_name: string; column_default: string | null }>(
        "SELECT column_name, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'tasks' AND column_name IN ('status', 'created_at') ORDER BY 1",
      );
      expect(defaults.rows.map((r) => [r.column_name, r.column_default !== null])).toEqual([
        ['created_at', true],
        ['status', true],
      ]);

      // Behaviour, not just catalog entries; rolled back so both sides stay equal.
      await client.query('BEGIN');
      try {
        const max = await client.query<{ m: string }>('SELECT max(id)::text AS m FROM tasks');
        const inserted = await client.query<{ id: string; status: string; priority: string; completed: boolean; age_s: number }>(
          `INSERT INTO tasks (user_id, title) VALUES (1, 'inserted without id') RETURNING id::text, status, priority::text, completed,
                  abs(extract(epoch FROM (created_at - (now() AT TIME ZONE 'UTC'))))::float8 AS age_s`,
        );
        const row = inserted.rows[0]!;
        expect(BigInt(row.id)).toBeGreaterThan(BigInt(max.rows[0]!.m));
        expect(row.status).toBe('pending');
        expect(row.priority).toBe('2');
        expect(row.completed).toBe(false);
        expect(row.age_s).toBeLessThan(5);

        await client.query('SAVEPOINT bad_frequency');
        const refused = await client
          .query("INSERT INTO recurring_patterns (user_id, frequency, start_date) VALUES (1, 'hourly', '2025-01-01')")
          .then(() => null, (e: { code?: string }) => e.code);
        expect(refused, 'the CHECK on frequency must refuse "hourly"').toBe('23514');
        await client.query('ROLLBACK TO SAVEPOINT bad_frequency');

        const fine = await client.query<{ interval: string }>(
          "INSERT INTO recurring_patterns (user_id, frequency, start_date) VALUES (1, 'weekly', '2025-01-01') RETURNING interval::text",
        );
        expect(fine.rows[0]!.interval).toBe('1');
      } finally {
        await client.query('ROLLBACK');
      }
    });
  });

  it('re-running migrate on the same target: exit 0, READY, still equal', async () => {
    expectReady(await runCli(migrateArgs()));
    await expectSameRows(sqlitePath, target.url);
  });

  it('re-running after SQLite changed (10 tasks updated, 5 inserted) brings the changes over', async () => {
    const db = new Database(sqlitePath);
    let updated: number[] = [];
    let inserted: number[] = [];
    try {
      updated = (db.prepare('SELECT id FROM tasks WHERE id % 400 = 7 ORDER BY id LIMIT 10').all() as { id: number }[]).map((r) => r.id);
      expect(updated).toHaveLength(10);
      const update = db.prepare(
        "UPDATE tasks SET title = title || ' (edited)', status = 'done', completed = 1, completed_at = '2025-06-01 10:00:00', description = ? WHERE id = ?",
      );
      const insert = db.prepare(
        "INSERT INTO tasks (user_id, title, description, status, priority, due_date, created_at, updated_at) VALUES (?, ?, ?, 'pending', 3, NULL, '2025-06-02 08:00:00', '2025-06-02 08:00:00')",
      );
      db.transaction(() => {
        for (const id of updated) update.run(`edited "${id}"\twith\\escapes\nand a newline — ü`, id);
        for (let i = 0; i < 5; i++) inserted.push(Number(insert.run(1 + i, `new task ${i} 'quoted'`, i % 2 ? null : `line1\nline2\t${i}`).lastInsertRowid));
      })();
    } finally {
      db.close();
    }
    expect(Math.min(...inserted)).toBeGreaterThan(COUNTS.tasks);

    expectReady(await runCli(migrateArgs()));
    const tables = await expectSameRows(sqlitePath, target.url);
    expect(tables.find((t) => t.table === 'tasks')?.postgresCount).toBe(COUNTS.tasks + 5);
    await withClient(target.url, async (client) => {
      const edited = await client.query<{ n: string }>("SELECT count(*) AS n FROM tasks WHERE id = ANY($1) AND title LIKE '% (edited)' AND status = 'done'", [updated]);
      expect(edited.rows[0]!.n).toBe('10');
      const added = await client.query<{ n: string }>('SELECT count(*) AS n FROM tasks WHERE id = ANY($1)', [inserted]);
      expect(added.rows[0]!.n).toBe('5');
    });
  });

  it('re-running after rows were deleted from SQLite deletes them in PostgreSQL too', async () => {
    const db = new Database(sqlitePath);
    let deleted: number[] = [];
    try {
      deleted = (db.prepare('SELECT id FROM tasks WHERE id % 500 = 3 ORDER BY id LIMIT 7').all() as { id: number }[]).map((r) => r.id);
      expect(deleted).toHaveLength(7);
      const remove = db.prepare('DELETE FROM tasks WHERE id = ?');
      db.transaction(() => deleted.forEach((id) => remove.run(id)))();
    } finally {
      db.close();
    }
    const run = await runCli(migrateArgs());
    expectReady(run);
    await expectSameRows(sqlitePath, target.url);
    await withClient(target.url, async (client) => {
      const left = await client.query<{ n: string }>('SELECT count(*) AS n FROM tasks WHERE id = ANY($1)', [deleted]);
      expect(left.rows[0]!.n).toBe('0');
    });
  });

  it('--force-recreate: exit 0, READY, still equal, constraints back', async () => {
    expectReady(await runCli(migrateArgs('--force-recreate')));
    await expectSameRows(sqlitePath, target.url);
    await withClient(target.url, async (client) => {
      const fks = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_constraint WHERE contype = 'f' AND convalidated AND connamespace = 'public'::regnamespace",
      );
      expect(fks.rows[0]!.n).toBe('3');
    });
  });

  it('--dry-run prints the DDL and writes nothing (no table, no schema, no topic)', async () => {
    const fresh = await createTestDatabase(adminUrl, 'demo_dry');
    created.push(fresh);
    const run = await runCli([
      'migrate', '--dry-run',
      '--sqlite-path', sqlitePath,
      '--postgres-url', fresh.url,
      '--kafka-brokers', brokers,
      '--topic-prefix', dryRunPrefix,
    ]);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toContain('CREATE TABLE');
    for (const table of ['users', 'tasks', 'recurring_patterns']) expect(run.stdout).toMatch(new RegExp(`CREATE TABLE[^\\n]*${table}`));
    expect(await userRelations(fresh.url)).toEqual([]);
    expect(await userSchemas(fresh.url)).toEqual([]);
    expect(await topicsWithPrefix(brokers, dryRunPrefix)).toEqual([]);
  });

  const verifyArgs = () => ['verify', '--json', '--sqlite-path', sqlitePath, '--postgres-url', target.url];

  it('verify --json: READY as JSON with exit 0', async () => {
    const run = await runCli(verifyArgs());
    expect(run.code, describeRun(run)).toBe(0);
    const report = JSON.parse(run.stdout) as { verdict: string; tables: { table: string; content: { ranges: { checked: number; rechecked: number } } }[] };
    expect(report.verdict).toBe('READY');
    expect(report.tables.map((t) => t.table).sort()).toEqual(['recurring_patterns', 'tasks', 'users']);
    // A faithful copy matches by checksum: no key range needed a row-by-row comparison.
    for (const t of report.tables) {
      expect(t.content.ranges.checked, t.table).toBeGreaterThan(0);
      expect(t.content.ranges.rechecked, t.table).toBe(0);
    }
  });

  it('verify --json: a value changed in PostgreSQL (same row count) is NOT READY (contract 7: content checksums)', async () => {
    const original = await withClient(target.url, async (client) => {
      const r = await client.query<{ title: string }>('SELECT title FROM tasks WHERE id = 42');
      await client.query("UPDATE tasks SET title = title || ' tampered' WHERE id = 42");
      return r.rows[0]!.title;
    });
    try {
      const run = await runCli(verifyArgs());
      expect(run.code, describeRun(run)).toBe(1);
      expect((JSON.parse(run.stdout) as { verdict: string }).verdict).toBe('NOT READY');
    } finally {
      await withClient(target.url, (client) => client.query('UPDATE tasks SET title = $1 WHERE id = 42', [original]));
    }
  });

  it('verify --json: one row deleted in PostgreSQL is NOT READY with exit 1, naming the table', async () => {
    await withClient(target.url, async (client) => {
      const deleted = await client.query('DELETE FROM tasks WHERE id = 43');
      expect(deleted.rowCount).toBe(1);
    });
    const run = await runCli(verifyArgs());
    expect(run.code, describeRun(run)).toBe(1);
    const report = JSON.parse(run.stdout) as { verdict: string; reasons: string[] };
    expect(report.verdict).toBe('NOT READY');
    expect(report.reasons.join('\n')).toMatch(/tasks/);
  });
});
