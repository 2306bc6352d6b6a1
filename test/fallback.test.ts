import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, runCli } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { FaultPipeline, until } from './helpers/fault-pipeline.js';
import { Service } from './helpers/services.js';
import { adminQuery, urlForDatabase, withClient } from './helpers/postgres.js';
import { ThrowawayCluster, clusterAvailable } from './helpers/pg-cluster.js';
import { get, readyz } from './helpers/http.js';
import { freePort } from './helpers/ports.js';
import type { Writer } from './helpers/writer.js';

/*
 * The way back after the switch: cutover installs capture on PostgreSQL, the application
 * writes there, `liteshift fallback` follows those changes back into the fenced SQLite
 * file, and `liteshift rollback` returns to SQLite with nothing lost. A probe writing to
 * SQLite throughout meets only the fence until the rollback ends.
 */

const SQLITE_FENCE = /this database has moved to PostgreSQL/;

describe('live fallback and rollback', () => {
  // A server of its own when this machine can make one: the test restarts it.
  const cluster = clusterAvailable ? new ThrowawayCluster() : null;
  let p: FaultPipeline;
  let probe: Writer;
  let fallback: Service;
  let app: pg.Client;
  let nextUser = 10_000;

  let httpPort = 0;
  const startFallback = (): Service => {
    fallback = new Service(`fallback#${p.services.filter((s) => s.label.startsWith('fallback')).length + 1}`, ['fallback'], {
      ...p.env,
      LOG_LEVEL: 'debug',
      LITESHIFT_HTTP_PORT: String(httpPort),
    });
    p.services.push(fallback);
    return fallback;
  };
  const backlog = async (): Promise<number> => Number((await app.query<{ n: string }>('SELECT count(*) AS n FROM liteshift.changelog')).rows[0]!.n);
  /** The application on PostgreSQL: a new user with tasks, updates and deletes of existing rows. */
  const appWrites = async (rounds: number): Promise<void> => {
    for (let i = 0; i < rounds; i++) {
      const id = nextUser++;
      await app.query('BEGIN');
      await app.query("INSERT INTO users (id, email, username, hashed_password, is_active, created_at) VALUES ($1, $2, $3, 'x', true, now())", [id, `u${id}@pg.example`, `u${id}`]);
      for (let t = 0; t < 3; t++) {
        await app.query("INSERT INTO tasks (user_id, title, status, priority, completed, created_at, updated_at) VALUES ($1, $2, 'pending', 2, false, now(), now())", [id, `task ${t} of ${id}`]);
      }
      await app.query('COMMIT');
      await app.query("UPDATE tasks SET status = 'done', completed = true WHERE id = (SELECT min(id) FROM tasks WHERE status <> 'done')");
      await app.query('DELETE FROM tasks WHERE id = (SELECT max(id) FROM tasks WHERE user_id < 10000)');
    }
  };
  const waitForBackInSqlite = async (): Promise<void> => {
    await until('the changelog sent back', async () => (await backlog()) === 0, 60_000, 100);
    // Then the applier: the status says the reverse lag.
    await until('the fallback lag at zero', async () => {
      const run = await runCli(['status', '--json'], p.env, 60_000);
      return run.code === 0 && (JSON.parse(run.stdout) as { fallback?: { lag: number } }).fallback?.lag === 0;
    }, 60_000, 500);
  };

  beforeAll(async () => {
    await cluster?.init();
    if (cluster) await adminQuery(cluster.url, 'CREATE DATABASE target');
    p = new FaultPipeline('fallback', {
      brokers: inject('kafkaBrokers'),
      adminUrl: cluster?.url ?? inject('adminDatabaseUrl'),
      ...(cluster ? { databaseUrl: urlForDatabase(cluster.url, 'target') } : {}),
      counts: { users: 30, tasks: 300, recurringPatterns: 30 },
    });
    await p.create();
    const db = p.openWritable();
    db.exec("CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO tags (name) VALUES ('home'), ('work'), ('later');");
    db.close();
    p.startExtract();
    p.startLoad();
    await p.waitFor('streaming and caught up');
    const writer = p.writer(30, 31);
    await writer.waitForAccepted(30);
    await p.drain(writer);
    const cutover = await runCli(['cutover', '--timeout', '60'], p.env, 150_000);
    expect(cutover.code, describeRun(cutover)).toBe(0);
    expect(cutover.stdout).toMatch(/installing the live fallback/);
    // The forward path stops for good at the switch.
    for (const service of [p.extract!, p.load!]) expect((await service.stop('SIGTERM')).code, service.describe()).toBe(0);
    probe = p.writer(20, 32);
    await connectApp();
    httpPort = await freePort();
    startFallback();
  }, 300_000);
  afterAll(async () => {
    await app?.end().catch(() => undefined);
    await cluster?.start().catch(() => undefined);
    await p?.destroy();
    await cluster?.destroy();
  });
  const connectApp = async (): Promise<void> => {
    app = new pg.Client({ connectionString: p.databaseUrl, application_name: 'todo-app' });
    // The server stopped under it (the restart test): the next query says so; the event must not go unhandled.
    app.on('error', () => undefined);
    await app.connect();
  };

  it('changes made on PostgreSQL after the switch follow back into the fenced SQLite file; the probe meets only the fence', async () => {
    p.diagnoseOnFailure();
    await appWrites(20);
    await app.query('TRUNCATE tags');
    await app.query("INSERT INTO tags (id, name) VALUES (7, 'after truncate')");
    await waitForBackInSqlite();
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    // Every write of the probe that would change a row met the fence: SQLite equals PostgreSQL.
    await probe.waitForRefused(probe.progress.refused + 5, 30_000);
    expect((await readyz(httpPort)).status).toBe(200);
    await until('the metrics read', async () => /liteshift_fallback_fenced\{side="sqlite"[^}]*\} 1/.test((await get(httpPort, '/metrics')).body), 30_000, 500);
    const metrics = (await get(httpPort, '/metrics')).body;
    expect(metrics).toMatch(/liteshift_fallback_direction\{from="postgresql",to="sqlite"[^}]*\} 1/);
    expect(metrics).toMatch(/liteshift_fallback_fenced\{side="postgresql"[^}]*\} 0/);
    expect(metrics).toMatch(/liteshift_fallback_events_sent_total\{[^}]*\} [1-9]/);
  });

  it('PostgreSQL ending the sessions of the fallback while following (as a restart does): it reconnects and loses nothing', async () => {
    p.diagnoseOnFailure();
    await appWrites(5);
    await withClient(p.databaseUrl, (c) => c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'liteshift-fallback'"));
    await appWrites(5);
    await waitForBackInSqlite();
    expect(fallback.running, fallback.describe()).toBe(true);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });

  it.runIf(clusterAvailable)('PostgreSQL stopped and started again while following: the fallback waits, then sends what was written before and after', async () => {
    p.diagnoseOnFailure();
    await appWrites(5);
    await cluster!.stop();
    await new Promise((r) => setTimeout(r, 2_000));
    expect(fallback.running, fallback.describe()).toBe(true);
    await cluster!.start();
    await app.end().catch(() => undefined);
    await connectApp();
    await appWrites(5);
    await waitForBackInSqlite();
    expect(fallback.stderr + fallback.stdout).toMatch(/PostgreSQL is unreachable; the fallback waits for it/);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });

  it('the fallback SIGKILLed while applying and started again: nothing lost', async () => {
    p.diagnoseOnFailure();
    const writing = appWrites(40);
    await until('the fallback applying', () => /batch applied/.test(fallback.stderr + fallback.stdout), 30_000);
    fallback.kill();
    await writing;
    startFallback();
    await waitForBackInSqlite();
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });

  it('rollback interrupted with SIGINT while draining: PostgreSQL takes writes again, nothing rolled back', async () => {
    p.diagnoseOnFailure();
    // A paused fallback still counts as running (its heartbeat is fresh) but drains nothing.
    process.kill(fallback.child.pid!, 'SIGSTOP');
    try {
      await appWrites(3);
      const rollback = new Service('rollback#1', ['rollback', '--timeout', '120'], p.env);
      p.services.push(rollback);
      await until('the rollback draining', () => /draining the last changes/.test(rollback.stdout) || !rollback.running, 60_000);
      await expect(app.query("INSERT INTO tags (name) VALUES ('refused')")).rejects.toThrow(/moved back to SQLite/);
      const stopped = await rollback.stop('SIGINT', 30_000);
      expect(stopped.code, rollback.describe()).toBe(130);
      expect(rollback.stderr).toMatch(/interrupted \(SIGINT\): PostgreSQL fence lifted/);
      await app.query("INSERT INTO tags (name) VALUES ('accepted again')");
    } finally {
      process.kill(fallback.child.pid!, 'SIGCONT');
    }
    await waitForBackInSqlite();
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });

  it('a column and a table added on PostgreSQL after the switch: rollback is NOT READY and says so, PostgreSQL takes writes again', async () => {
    p.diagnoseOnFailure();
    await app.query('ALTER TABLE tags ADD COLUMN color text');
    await app.query('CREATE TABLE notes (id integer PRIMARY KEY, body text)');
    const run = await runCli(['rollback', '--timeout', '60'], p.env, 150_000);
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.stdout).toMatch(/tags: column\(s\) color added on PostgreSQL after the fallback started/);
    expect(run.stdout).toMatch(/table notes was created on PostgreSQL after the switch/);
    await app.query("INSERT INTO tags (name, color) VALUES ('writable', 'red')");
    await app.query('ALTER TABLE tags DROP COLUMN color');
    await app.query('DROP TABLE notes');
  });

  it('rollback: zero lag, PostgreSQL fenced, verified READY; SQLite equals PostgreSQL and takes the probe\'s writes again', async () => {
    p.diagnoseOnFailure();
    await appWrites(5);
    // Stopped first, so that what the rollback leaves can be compared before the application writes again.
    const summary = await probe.stop();
    expect(summary.refused).toBeGreaterThan(0);
    for (const message of Object.keys(summary.refusals)) expect(message).toMatch(SQLITE_FENCE);
    const run = await runCli(['rollback', '--timeout', '60'], p.env, 150_000);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/verdict: READY/);
    expect(run.stdout).toMatch(/Rollback complete/);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    const after = p.writer(20, 33);
    await after.waitForAccepted(10, 30_000);
    expect((await after.stop()).refused).toBe(0);
    // PostgreSQL has neither capture nor fence any more.
    await app.query("INSERT INTO tags (name) VALUES ('after rollback')");
    expect((await app.query("SELECT to_regclass('liteshift.changelog') AS t")).rows[0]).toEqual({ t: null });
  });
});
