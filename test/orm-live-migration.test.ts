import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import type { TodoReport } from './apps/todo-orm/app.js';
import { describeRun, repoRoot, runCli } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { until } from './helpers/fault-pipeline.js';
import { deleteTopicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { createTestDatabase, withClient, type TestDatabase } from './helpers/postgres.js';
import { Service, caughtUp, waitForStatus } from './helpers/services.js';
import { appOutput, runTodoApp } from './helpers/todo-orm.js';

/*
 * An application written with a real ORM (TypeORM, test/apps/todo-orm) moves while it
 * works: its first migration created the SQLite schema; while `extract --follow` and
 * `load --follow` run and it keeps working through the ORM, its next migration runs through
 * TypeORM's migration API, which rebuilds `tasks` on SQLite (CREATE temporary_tasks, copy,
 * DROP, RENAME). Then cutover, and the same module, unmodified, given only the new
 * DATABASE_URL, answers on PostgreSQL what it answered on SQLite and passes its own checks.
 */

/** The app's writer (test/apps/todo-orm/writer.ts): rounds of work through the ORM until SIGTERM. */
class OrmWriter {
  readonly child: ChildProcess;
  private out = '';
  private err = '';
  private readonly exited: Promise<number | null>;

  constructor(databaseUrl: string, from: number) {
    this.child = spawn(process.execPath, [join(repoRoot, 'node_modules', 'vite-node', 'vite-node.mjs'), join(repoRoot, 'test', 'apps', 'todo-orm', 'writer.ts'), '--', '--from', String(from)], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), DATABASE_URL: databaseUrl, TZ: 'UTC' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.out += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.err += chunk));
    this.exited = new Promise((resolve) => this.child.on('close', resolve));
  }

  get rounds(): number {
    return this.out.split('\n').filter((l) => l.startsWith('{"round"')).length;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitForRounds(n: number): Promise<void> {
    await until(`${n} rounds of the ORM writer`, () => {
      if (!this.running) throw new Error(`the ORM writer exited\n${this.describe()}`);
      return this.rounds >= n;
    }, 120_000, 100);
  }

  async stop(): Promise<{ rounds: number; failures: string[] }> {
    this.child.kill('SIGTERM');
    const code = await this.exited;
    expect(code, this.describe()).toBe(0);
    return JSON.parse(this.out.trim().split('\n').pop()!) as { rounds: number; failures: string[] };
  }

  describe(): string {
    return `--- ORM writer ---\nstdout:\n${this.out.slice(-2000)}\nstderr:\n${this.err.slice(-4000)}`;
  }
}

describe('an ORM application runs its own migration during a live migration, then moves to PostgreSQL', () => {
  const brokers = inject('kafkaBrokers');
  const services: Service[] = [];
  let writer: OrmWriter | null = null;
  let dir = '';
  let sqlitePath = '';
  let target: TestDatabase;
  let env: Record<string, string>;
  const prefix = uniquePrefix('orm-live');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-orm-live-'));
    sqlitePath = join(dir, 'todo.db');
    target = await createTestDatabase(inject('adminDatabaseUrl'), 'orm-live');
    env = { SQLITE_PATH: sqlitePath, DATABASE_URL: target.url, KAFKA_BROKERS: brokers, LITESHIFT_TOPIC_PREFIX: prefix, LOG_FORMAT: 'json' };
  });

  afterAll(async () => {
    writer?.child.kill('SIGKILL');
    await Promise.all(services.map((s) => s.stop('SIGTERM', 15_000).catch(() => undefined)));
    for (const s of services) s.kill();
    await target?.drop().catch(() => undefined);
    await deleteTopicsWithPrefix(brokers, prefix);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the app's rebuild migration runs while it writes; cutover READY; the same module passes its checks on PostgreSQL", async () => {
    onTestFailed(() => console.error([...services.map((s) => s.describe(6000)), writer?.describe() ?? ''].join('\n')));
    const sqliteUrl = `sqlite://${sqlitePath}`;
    const app = (args: string[], url = sqliteUrl) => runTodoApp(url, args, 'UTC');
    expect(appOutput<{ migrations: string[] }>(await app(['migrate', '--up-to', '1']), 'first migration').migrations).toEqual(['CreateTodoSchema1767225600000']);
    const seeded = appOutput<TodoReport>(await app(['seed', '--users', '12', '--tasks-per-user', '25']), 'seed');
    expect(seeded.tasks).toBe(300);

    services.push(new Service('extract', ['extract', '--follow'], env), new Service('load', ['load', '--follow'], env));
    await waitForStatus(env, services, { deadlineMs: 120_000, what: 'snapshot applied, streaming' });

    writer = new OrmWriter(sqliteUrl, 100);
    await writer.waitForRounds(3);
    // The application's own next migration, through TypeORM's migration API, while it works.
    // TypeORM's transaction reads before it writes: a write committed in between (the app's,
    // or the extractor's position) makes SQLite refuse it at once (SQLITE_BUSY, nothing
    // applied), and it is run again, as a deploy script would.
    let run = await app(['migrate']);
    for (let attempt = 1; attempt < 20 && run.code !== 0 && /database is locked/.test(run.stderr); attempt++) run = await app(['migrate']);
    expect(appOutput<{ migrations: string[] }>(run, 'second migration').migrations).toEqual(['WidenTaskTitle1767312000000']);
    const extract = services[0]!;
    await until('tasks re-synchronised', () => extract.logLines().some((l) => l.msg === 'table re-synchronised' && l.table === 'tasks'), 60_000, 100);
    await writer.waitForRounds(writer.rounds + 3);
    const work = await writer.stop();
    // A round SQLite refused (busy, as above) wrote nothing: the application would retry it.
    expect(work.failures.filter((f) => !/database is locked/.test(f))).toEqual([]);
    expect(work.rounds).toBeGreaterThanOrEqual(6);
    await waitForStatus(env, services, { deadlineMs: 120_000, until: (s) => caughtUp(s), what: 'caught up after the migration' });
    await expectSameRows(sqlitePath, target.url);
    const before = appOutput<TodoReport>(await app(['report']), 'report on SQLite');

    const cutover = await runCli(['cutover', '--timeout', '120'], env, 170_000);
    expect(cutover.code, describeRun(cutover)).toBe(0);
    expect(cutover.stdout).toMatch(/verdict: READY/);
    expect(services.every((s) => s.running)).toBe(true);

    const expected = join(dir, 'before.json');
    writeFileSync(expected, JSON.stringify(before));
    const check = await app(['check', '--expect', expected], target.url);
    expect(check.code, `${check.stdout}\n${check.stderr}`).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual({ dialect: 'postgres', problems: [] });
    await withClient(target.url, async (pg) => {
      const starred = await pg.query<{ t: string }>('SELECT pg_typeof(is_starred)::text AS t FROM tasks LIMIT 1');
      expect(starred.rows[0]!.t).toBe('boolean');
    });
  }, 600_000);
});
