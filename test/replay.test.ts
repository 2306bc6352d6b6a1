import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, humanStderrLines, runCli } from './helpers/cli.js';
import { compareAllRows, describeDifferences, expectSameRows } from './helpers/compare.js';
import { FaultPipeline, until } from './helpers/fault-pipeline.js';
import { DEMO_FOREIGN_KEYS, foreignKeys, uniqueIndexColumns, withClient } from './helpers/postgres.js';
import { Service } from './helpers/services.js';

/*
 * Replay (DESIGN contract 9): the topics are applied again into the target, from the
 * beginning or from a time; a target emptied or corrupted by hand ends up equal to the
 * source, with its unique indexes and foreign keys back in place.
 */

async function constraints(url: string): Promise<{ foreignKeys: string[]; uniqueEmail: boolean }> {
  return withClient(url, async (client) => ({
    foreignKeys: await foreignKeys(client),
    uniqueEmail: (await uniqueIndexColumns(client, 'public.users')).filter((columns) => columns === 'email').length === 1,
  }));
}

describe('liteshift replay', () => {
  const p = new FaultPipeline('replay', { brokers: inject('kafkaBrokers'), adminUrl: inject('adminDatabaseUrl') });
  let migratedAt: Date;

  const sql = (statements: string[]) =>
    withClient(p.databaseUrl, async (client) => {
      for (const statement of statements) await client.query(statement);
    });
  const replay = async (args: string[]) => {
    const run = await runCli(['replay', ...args], p.env, 120_000);
    expect(run.code, describeRun(run)).toBe(0);
    return run;
  };

  beforeAll(async () => {
    await p.create();
    migratedAt = new Date();
    const migrate = await runCli(['migrate'], p.env, 120_000);
    expect(migrate.code, describeRun(migrate)).toBe(0);
    expect((await constraints(p.databaseUrl)).foreignKeys).toEqual(DEMO_FOREIGN_KEYS);
  });
  afterAll(() => p.destroy());

  it('from the beginning into a truncated table and a corrupted one: zero differences, constraints back', async () => {
    p.diagnoseOnFailure();
    await sql([
      'TRUNCATE tasks',
      "UPDATE users SET full_name = 'corrupted', is_active = NOT is_active WHERE id % 3 = 0",
      // Users no pattern points at (tasks are gone): deletable despite the foreign keys.
      'DELETE FROM users WHERE id IN (SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM recurring_patterns) ORDER BY id LIMIT 7)',
    ]);
    const before = await compareAllRows(p.sqlitePath, p.databaseUrl);
    expect(before.find((t) => t.table === 'tasks')!.missing).toBe(3000);
    expect(before.find((t) => t.table === 'users')!).toMatchObject({ missing: 7, extra: 0 });
    expect(before.find((t) => t.table === 'users')!.changed).toBeGreaterThan(50);

    const run = await replay(['--from-beginning']);
    expect(run.stdout).toMatch(/Replayed 3 table\(s\) \(recurring_patterns, tasks, users\): 3,500 message\(s\)/);
    expect(run.stdout).toMatch(/unique indexes and foreign keys created again on: recurring_patterns, tasks, users/);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expect(await constraints(p.databaseUrl)).toEqual({ foreignKeys: DEMO_FOREIGN_KEYS, uniqueEmail: true });
    const verify = await runCli(['verify', '--json'], p.env);
    expect(verify.code, describeRun(verify)).toBe(0);
    expect((JSON.parse(verify.stdout) as { verdict: string }).verdict).toBe('READY');
  });

  it('rows whose keys are on no topic stay with a plain replay and go with --truncate', async () => {
    p.diagnoseOnFailure();
    await sql([
      "INSERT INTO users (id, email, username, hashed_password) VALUES (900001, 'stray@example.com', 'stray', 'x')",
      "UPDATE recurring_patterns SET days_of_week = 'corrupted', \"interval\" = \"interval\" + 100 WHERE id % 10 = 1",
    ]);
    await replay(['--tables', 'users,recurring_patterns']);
    const after = await compareAllRows(p.sqlitePath, p.databaseUrl);
    expect(describeDifferences(after.filter((t) => t.table !== 'users'))).toBe('');
    const users = after.find((t) => t.table === 'users')!;
    expect([users.missing, users.extra, users.changed]).toEqual([0, 1, 0]);
    expect(users.differences[0]!.key.map(String)).toEqual(['900001']);

    const run = await replay(['--from-beginning', '--truncate', '--tables', 'users']);
    expect(run.stdout).toMatch(/Replayed 1 table\(s\) \(users\): 200 message\(s\).*tables emptied first/);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    // Emptying users meant dropping the foreign keys that point at it; they are back, validated.
    expect(await constraints(p.databaseUrl)).toEqual({ foreignKeys: DEMO_FOREIGN_KEYS, uniqueEmail: true });
  });

  it('--since applies only what was written from that time on', async () => {
    p.diagnoseOnFailure();
    await sql(["UPDATE tasks SET title = 'corrupted' WHERE id IN (1, 2, 3)"]);
    const later = await replay(['--since', new Date(Date.now() + 60_000).toISOString()]);
    expect(later.stdout).toMatch(/: 0 message\(s\)/);
    const untouched = (await compareAllRows(p.sqlitePath, p.databaseUrl)).find((t) => t.table === 'tasks')!;
    expect(untouched.changed).toBe(3);

    const run = await replay(['--since', new Date(migratedAt.getTime() - 1_000).toISOString(), '--tables', 'tasks']);
    expect(run.stdout).toMatch(/Replayed 1 table\(s\) \(tasks\): 3,000 message\(s\)/);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });

  it('beside a running `load --follow`, which reads again from where the replay moved the offsets', async () => {
    p.diagnoseOnFailure();
    const follower = p.startLoad();
    await until('the follower in the group', () => follower.logLines().some((l) => l.msg === 'partitions assigned'), 60_000);
    await sql(['TRUNCATE tasks', "UPDATE users SET username = username || '?' WHERE id % 2 = 0"]);
    const appliedBefore = follower.logLines().filter((l) => l.msg === 'batch applied').length;
    await replay(['--from-beginning', '--tables', 'tasks,users']);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expect(follower.running, follower.describe()).toBe(true);
    // The group split the partitions: the follower applied its share of the replay.
    const applied = follower.logLines().filter((l) => l.msg === 'batch applied');
    expect(applied.length, follower.describe()).toBeGreaterThan(appliedBefore);
    expect(applied.some((l) => l.from === '0'), follower.describe()).toBe(true);
  });

  it('--follow keeps applying once caught up, until SIGTERM', async () => {
    p.diagnoseOnFailure();
    const service = new Service('replay#follow', ['replay', '--follow', '--tables', 'recurring_patterns'], p.env);
    p.services.push(service);
    // The summary is printed once caught up, the phase line right after it.
    await until('the replay caught up and following', () => /following/.test(service.stdout) || !service.running, 60_000);
    expect(service.stdout).toMatch(/Replayed 1 table\(s\)[\s\S]*following/);
    expect(service.running, service.describe()).toBe(true);
    const stopped = await service.stop('SIGTERM', 30_000);
    expect(stopped.code, service.describe()).toBe(0);
  });

  it('says what is wrong with its flags', async () => {
    const both = await runCli(['replay', '--since', '2026-01-01T00:00:00Z', '--truncate'], p.env);
    expect(both.code).toBe(2);
    expect(humanStderrLines(both).join('\n')).toMatch(/--truncate needs --from-beginning/);
    const unknown = await runCli(['replay', '--tables', 'users,nope'], p.env);
    expect(unknown.code).toBe(2);
    expect(humanStderrLines(unknown).join('\n')).toMatch(/not on the topics: nope.*recurring_patterns, tasks, users/);
    const zone = await runCli(['replay', '--since', '2026-01-01 10:00'], p.env);
    expect(zone.code).toBe(2);
    expect(humanStderrLines(zone).join('\n')).toMatch(/--since must be an ISO 8601 time with a zone/);
  });
});
