import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { columnTypes } from '@liteshift/shared';
import type { TodoReport } from './apps/todo-orm/app.js';
import { describeRun, runCli } from './helpers/cli.js';
import { withClient } from './helpers/postgres.js';
import { MigrationTargets } from './helpers/targets.js';
import { Service, waitForStatus } from './helpers/services.js';
import { appOutput, runTodoApp } from './helpers/todo-orm.js';

/*
 * An application written with a real ORM (TypeORM, test/apps/todo-orm) moves to PostgreSQL
 * the way it would in production: it creates its SQLite schema with its own migrations
 * (one of which rebuilds a table), fills it, keeps working while `extract --follow` and
 * `load --follow` run, then `cutover` fences SQLite and prints the DATABASE_URL; the same
 * module, given that URL, must answer as it did and pass its own checks. The PostgreSQL
 * database defaults to Asia/Kolkata and the application runs in America/Sao_Paulo: naive
 * timestamps read in either zone would shift by hours.
 */
describe('an ORM application moves to PostgreSQL and reads back what it wrote', () => {
  const brokers = inject('kafkaBrokers');
  const targets = new MigrationTargets(inject('adminDatabaseUrl'), brokers);
  const services: Service[] = [];
  let dir: string;
  let sqliteUrl: string;
  let target: { url: string; prefix: string };
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-orm-todo-'));
    const sqlitePath = join(dir, 'todo.db');
    sqliteUrl = `sqlite://${sqlitePath}`;
    target = await targets.create('orm-todo', { timezone: 'Asia/Kolkata' });
    env = { SQLITE_PATH: sqlitePath, DATABASE_URL: target.url, KAFKA_BROKERS: brokers, LITESHIFT_TOPIC_PREFIX: target.prefix, LOG_FORMAT: 'json' };
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop('SIGTERM', 15_000).catch(() => undefined)));
    for (const s of services) s.kill();
    await targets.dropAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('migrates live, cuts over, and the same TypeORM module on PostgreSQL passes its checks', async () => {
    onTestFailed(() => console.error(services.map((s) => s.describe(6000)).join('\n')));
    const migrated = appOutput<{ migrations: string[] }>(await runTodoApp(sqliteUrl, ['migrate']), 'migrate');
    expect(migrated.migrations).toEqual(['CreateTodoSchema1767225600000', 'WidenTaskTitle1767312000000']);
    const seeded = appOutput<TodoReport>(await runTodoApp(sqliteUrl, ['seed', '--users', '12', '--tasks-per-user', '25']), 'seed');
    expect(seeded.tasks).toBe(300);
    // The seed answers something in each range the checks ask about.
    expect(seeded.dueFirstWeekOfMarch).toBeGreaterThan(0);
    expect(seeded.doneInFebruary).toBeGreaterThan(0);

    services.push(new Service('extract', ['extract', '--follow'], env), new Service('load', ['load', '--follow'], env));
    await waitForStatus(env, services, { deadlineMs: 120_000, what: 'snapshot applied, streaming' });
    // The application keeps working through the ORM while its changes stream.
    for (const round of [1, 2]) appOutput(await runTodoApp(sqliteUrl, ['work', '--round', String(round)]), `work ${round}`);
    const before = appOutput<TodoReport>(await runTodoApp(sqliteUrl, ['report']), 'report on SQLite');
    expect(before.users).toBe(14);

    const cutover = await runCli(['cutover', '--timeout', '120'], env, 170_000);
    expect(cutover.code, describeRun(cutover)).toBe(0);
    expect(cutover.stdout).toMatch(/verdict: READY/);
    const line = /^\s*DATABASE_URL=(\S+)$/m.exec(cutover.stdout);
    expect(line?.[1]).toBe(target.url);
    // SQLite refuses the application's writes now.
    const fenced = await runTodoApp(sqliteUrl, ['work', '--round', '3']);
    expect(fenced.code).not.toBe(0);
    expect(fenced.stderr).toMatch(/this database has moved to PostgreSQL/);

    const expected = join(dir, 'before.json');
    writeFileSync(expected, JSON.stringify(before));
    const check = await runTodoApp(target.url, ['check', '--expect', expected]);
    expect(check.code, `${check.stdout}\n${check.stderr}`).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual({ dialect: 'postgres', problems: [] });
    await withClient(target.url, async (pg) => {
      const tasks = Object.fromEntries(await columnTypes(pg, 'tasks'));
      expect(tasks).toMatchObject({ due_at: 'timestamp with time zone', completed_at: 'timestamp with time zone', created_at: 'timestamp with time zone', is_starred: 'boolean' });
    });
    // Its migrations table came along: nothing is pending for the application on PostgreSQL.
    expect(appOutput<{ migrations: string[] }>(await runTodoApp(target.url, ['migrate']), 'migrate on PostgreSQL').migrations).toEqual([]);
  }, 400_000);
});
