// Live fallback figures (after cutover, PostgreSQL → SQLite): change latency through
// `liteshift fallback`, and the cost of the PostgreSQL capture triggers to the
// application's own writes. The mirror of live.mjs.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { latencySummary, pollArrivals, sampleRss, startWriter, writeInTurns } from './live-common.mjs';
import { peakRssOf, runMeasured, startService, stopService } from './proc.mjs';
import { withClient } from './pg.mjs';
import { removeDb, tailOf } from './util.mjs';

const FOLLOWING = 'live fallback following PostgreSQL into SQLite';
/** At most this many connections for the latency writer (fallback-writer.mjs says why more than one). */
const WRITER_MAX_CONNECTIONS = 32;

/**
 * (a) Fallback change latency. A copy of `dbFile` is migrated into a fresh database, then
 * put in the state a READY cutover leaves: the file keeps the forward capture that
 * `extract --follow` installed and gets the cutover fence, PostgreSQL gets the fallback's
 * capture triggers (the same calls as cutover.ts). `liteshift fallback` follows; a writer
 * thread inserts tasks rows into PostgreSQL at `rate` rows/s for `durationMs`, and a
 * read-only poller on the file records when each row's id appears, minus when its INSERT
 * was sent.
 */
export async function measureFallbackLatency(o) {
  const { dbFile, tmpDir, brokers, dbs, uniq, logDir, rate, durationMs, cliArgs, cwd, shared, say } = o;
  const { capturedTables, exportPlan } = await import('@liteshift/reverse');
  const copy = join(tmpDir, 'fallback-latency.db');
  removeDb(copy);
  copyFileSync(dbFile, copy);
  const dbName = `lsbench_${uniq}_fallback`;
  const url = await dbs.create(dbName);
  const prefix = `bench${uniq}fallback`;
  const [node, ...bin] = cliArgs;
  let fallback = null;
  let poller = null;
  try {
    say('  liteshift migrate into a fresh database');
    const migrateLog = join(logDir, 'fallback-migrate.log');
    const m = await runMeasured(node, [...bin, 'migrate', '--sqlite-path', copy, '--postgres-url', url, '--kafka-brokers', brokers, '--topic-prefix', prefix, '--log-format', 'json'], {
      cwd, logFile: migrateLog, tmpDir,
    });
    if (m.code !== 0) throw new Error(`liteshift migrate exited ${m.code ?? m.signal}:\n${tailOf(migrateLog, 12)}`);

    const db = shared.openSqlite(copy);
    try {
      const { tables } = shared.readSchema(db, { profile: false });
      shared.requireWal(db);
      shared.installCapture(db, tables);
      shared.installFence(db, tables, 'fenced');
    } finally {
      db.close();
    }
    const before = await withClient(url, async (c) => {
      await shared.installFallbackCapture(c, 'public', capturedTables((await exportPlan(c, 'public')).tables));
      return (await c.query('SELECT (SELECT max(id) FROM tasks) AS last, (SELECT count(*) FROM users) AS users')).rows[0];
    });

    say('  starting liteshift fallback');
    const logFile = join(logDir, 'fallback.log');
    const env = { ...process.env, SQLITE_PATH: copy, DATABASE_URL: url, KAFKA_BROKERS: brokers, LITESHIFT_TOPIC_PREFIX: prefix, LOG_FORMAT: 'json' };
    fallback = startService(node, [...bin, 'fallback'], { cwd, env, logFile });
    const followingMs = await waitForLog(fallback, logFile, FOLLOWING, 120_000);
    say(`  following after ${(followingMs / 1000).toFixed(1)} s; writing ${rate}/s for ${durationMs / 1000} s`);

    poller = new Database(copy, { readonly: true, fileMustExist: true });
    const above = poller.prepare('SELECT id FROM tasks WHERE id > ? ORDER BY id');
    const rss = sampleRss({ fallback });
    const writer = startWriter(new URL('./fallback-writer.mjs', import.meta.url), { url, rate, durationMs, users: Number(before.users), maxConnections: WRITER_MAX_CONNECTIONS });
    const visibleAt = new Map();
    const { arrivals, polls } = await pollArrivals({
      writer,
      from: Number(before.last),
      read: (after) => above.all(after),
      arrived: (row, visible) => visibleAt.set(Number(row.id), visible),
      check: () => {
        if (fallback.exitCode !== null || fallback.signalCode !== null) throw new Error(`liteshift fallback stopped during the latency run:\n${tailOf(logFile, 10)}`);
      },
    });
    const peaks = rss.stop();
    const w = writer.result;
    const latencies = [];
    w.ids.forEach((id, i) => {
      if (visibleAt.has(id)) latencies.push(visibleAt.get(id) - w.sentAt[i]);
    });
    const lifetimePeak = peakRssOf(fallback.pid);
    const stopped = await stopService(fallback);
    return {
      table: 'tasks (the live dataset, migrated), single-row INSERT transactions',
      migrateWallMs: m.wallMs,
      followingAfterMs: followingMs,
      written: w.written,
      writeErrors: w.errors,
      firstWriteError: w.firstError,
      writerElapsedMs: w.elapsedMs,
      achievedRate: (w.written - w.errors) / (w.elapsedMs / 1000),
      maxWritesBehindSchedule: w.maxBehind,
      writerConnections: w.connections,
      seen: arrivals,
      polls,
      latencyMs: latencySummary(latencies),
      peakRssBytes: { fallbackDuringRun: peaks.fallback, fallbackLifetime: lifetimePeak },
      stoppedWith: stopped.code ?? stopped.signal,
      topicPrefix: prefix,
    };
  } finally {
    poller?.close();
    await stopService(fallback);
    await dbs.drop(dbName).catch(() => undefined);
    removeDb(copy);
  }
}

/** Waits until `logFile` has a line containing `text`; how long that took. Throws when the process exits first. */
async function waitForLog(child, logFile, text, timeoutMs) {
  const started = performance.now();
  for (;;) {
    if (readFileSync(logFile, 'utf8').includes(text)) return performance.now() - started;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`liteshift fallback exited (${child.exitCode ?? child.signalCode}) before following:\n${tailOf(logFile, 10)}`);
    if (performance.now() - started > timeoutMs) throw new Error(`liteshift fallback was not following after ${timeoutMs / 1000} s:\n${tailOf(logFile, 10)}`);
    await sleep(200);
  }
}

/**
 * A tasks-like table as migrated: identity key, the demo's columns, its two indexes and
 * the foreign key to users (recurring_pattern_id without its parent table).
 */
const tasksDdl = (name) => `CREATE TABLE ${name} (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  recurring_pattern_id bigint,
  title text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'pending',
  priority bigint NOT NULL DEFAULT 2,
  due_date timestamptz,
  completed boolean NOT NULL DEFAULT false,
  completed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE INDEX ix_${name}_user_id ON ${name} (user_id);
CREATE INDEX ix_${name}_due_date ON ${name} (due_date)`;

const OVERHEAD_USERS = 100;

/**
 * (b) Fallback capture overhead: the application's own write throughput on PostgreSQL
 * (single-row INSERT transactions, synchronous_commit as the server has it) into two
 * identical tasks-like tables of one fresh database, one of them under the fallback's
 * capture triggers (installFallbackCapture, as cutover installs them; no fallback runs, so
 * the changelog only grows), written in turns (writeInTurns) until each has had `durationMs`.
 */
export async function measureFallbackOverhead({ dbs, uniq, durationMs, shared }) {
  const dbName = `lsbench_${uniq}_fallback_overhead`;
  const url = await dbs.create(dbName);
  const tables = { without: 'tasks_uncaptured', with: 'tasks' };
  const writers = {};
  try {
    await withClient(url, async (c) => {
      // The schema migrate would have created: the capture's changelog goes in it.
      await c.query(`CREATE SCHEMA ${shared.META_SCHEMA}`);
      await c.query('CREATE TABLE users (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, username text NOT NULL UNIQUE)');
      await c.query('INSERT INTO users (username) SELECT $1 || n FROM generate_series(1, $2::int) AS n', ['user', OVERHEAD_USERS]);
      for (const table of Object.values(tables)) await c.query(tasksDdl(table));
      await shared.installFallbackCapture(c, 'public', [{ name: 'tasks', pgTable: tables.with, pgKey: ['id'] }]);
    });
    for (const [mode, table] of Object.entries(tables)) {
      // Not liteshift…: the fallback's capture ignores liteshift's own sessions.
      const client = new pg.Client({ connectionString: url, application_name: 'bench-app' });
      client.on('error', () => undefined);
      writers[mode] = { client, i: 0 };
      await client.connect();
    }
    const insert = (mode) => ({
      name: `insert-${mode}`,
      text: `INSERT INTO ${tables[mode]} (user_id, title, description, status, priority, completed, created_at, updated_at)
             VALUES ($1, $2, 'Written by the fallback capture-overhead benchmark, one row per transaction.', 'pending', 2, false, now(), now())`,
    });
    const rates = await writeInTurns(Object.keys(tables), durationMs, async (mode, ms) => {
      const w = writers[mode];
      const started = performance.now();
      let n = 0;
      while (performance.now() - started < ms) {
        const i = w.i++;
        await w.client.query({ ...insert(mode), values: [(i % OVERHEAD_USERS) + 1, `Bench task ${i}`] });
        n++;
      }
      return n;
    });
    return await withClient(url, async (c) => {
      const triggers = 'SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal';
      for (const [mode, table] of Object.entries(tables)) rates[mode].triggers = (await c.query(triggers, [table])).rows[0].n;
      rates.with.changelogRows = (await c.query(`SELECT count(*)::int AS n FROM ${shared.META_TABLES.changelog}`)).rows[0].n;
      return {
        table: 'tasks-like (identity key, two indexes, foreign key to users), single-row INSERT transactions',
        synchronousCommit: (await c.query('SHOW synchronous_commit')).rows[0].synchronous_commit,
        ...rates,
        ratio: rates.with.rate / rates.without.rate,
      };
    });
  } finally {
    await Promise.all(Object.values(writers).map((w) => w.client.end().catch(() => undefined)));
    await dbs.drop(dbName).catch(() => undefined);
  }
}
