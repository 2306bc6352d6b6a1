// Live figures: change latency through extract --follow → Kafka → load --follow, and the
// cost of the capture triggers to the application's own writes.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { latencySummary, pollArrivals, sampleRss, startWriter, writeInTurns } from './live-common.mjs';
import { peakRssOf, runQuiet, startService, stopService } from './proc.mjs';
import { firstMatch, removeDb, tailOf } from './util.mjs';

/**
 * (a) Change latency. A copy of `dbFile` gets a table of its own, bench_latency, before
 * capture starts; extractor and loader follow; once `status --json` shows zero lag a
 * writer thread inserts `rate` rows/s for `durationMs`, and a poller on PostgreSQL
 * records, per row, when it became visible minus when it was committed in SQLite.
 */
export async function measureLatency(o) {
  const { dbFile, tmpDir, brokers, dbs, uniq, logDir, rate, durationMs, cliArgs, cwd, say } = o;
  const copy = join(tmpDir, 'live-latency.db');
  removeDb(copy);
  copyFileSync(dbFile, copy);
  const seed = new Database(copy);
  seed.pragma('journal_mode = WAL');
  seed.exec('CREATE TABLE bench_latency (id INTEGER PRIMARY KEY, t_ms INTEGER NOT NULL)');
  seed.close();

  const dbName = `lsbench_${uniq}_live`;
  const url = await dbs.create(dbName);
  const prefix = `bench${uniq}live`;
  const common = ['--kafka-brokers', brokers, '--topic-prefix', prefix, '--log-format', 'json'];
  const extractorLog = join(logDir, 'live-extractor.log');
  const loaderLog = join(logDir, 'live-loader.log');
  const [node, ...bin] = cliArgs;
  const start = {
    extractor: () => startService(node, [...bin, 'extract', '--follow', '--sqlite-path', copy, ...common], { cwd, logFile: extractorLog }),
    loader: () => startService(node, [...bin, 'load', '--follow', '--postgres-url', url, ...common], { cwd, logFile: loaderLog }),
  };
  // Started together, as docker-compose starts them.
  const svc = { extractor: start.extractor(), loader: start.loader() };
  const restarts = [];
  const pollClient = new pg.Client({ connectionString: url });
  pollClient.on('error', () => undefined);
  try {
    say('  waiting for extract --follow / load --follow to reach zero lag');
    const readyMs = await waitForZeroLag({ node, bin, cwd, copy, url, common, svc, start, restarts, logs: { extractor: extractorLog, loader: loaderLog } });
    const { extractor, loader } = svc;
    say(`  zero lag after ${(readyMs / 1000).toFixed(1)} s; writing ${rate}/s for ${durationMs / 1000} s`);
    await pollClient.connect();

    const rss = sampleRss({ extractor, loader });
    const writer = startWriter(new URL('./latency-writer.mjs', import.meta.url), { path: copy, rate, durationMs });
    const latencies = [];
    const { arrivals, polls } = await pollArrivals({
      writer,
      read: async (after) => (await pollClient.query('SELECT id, t_ms FROM bench_latency WHERE id > $1', [after])).rows,
      arrived: (row, visible) => latencies.push(visible - Number(row.t_ms)),
      check: () => {
        if (extractor.exitCode !== null || loader.exitCode !== null) {
          const log = extractor.exitCode !== null ? extractorLog : loaderLog;
          throw new Error(`a service stopped during the latency run:\n${tailOf(log, 10)}`);
        }
      },
    });
    const peaks = rss.stop();
    const w = writer.result;
    return {
      tables: 'bench_latency(id INTEGER PRIMARY KEY, t_ms INTEGER)',
      zeroLagAfterMs: readyMs,
      written: w.written,
      writeErrors: w.errors,
      firstWriteError: w.firstError,
      writerElapsedMs: w.elapsedMs,
      achievedRate: (w.written - w.errors) / (w.elapsedMs / 1000),
      maxWritesBehindSchedule: w.maxBehind,
      seen: arrivals,
      polls,
      latencyMs: latencySummary(latencies),
      peakRssBytes: {
        extractorDuringRun: peaks.extractor,
        loaderDuringRun: peaks.loader,
        extractorLifetime: peakRssOf(extractor.pid),
        loaderLifetime: peakRssOf(loader.pid),
      },
      topicPrefix: prefix,
      startupRestarts: restarts,
    };
  } finally {
    await pollClient.end().catch(() => undefined);
    await Promise.all([stopService(svc.extractor), stopService(svc.loader)]);
    await dbs.drop(dbName).catch(() => undefined);
    removeDb(copy);
  }
}

/**
 * Polls `status --json` until every table streams with zero extractor and loader lag.
 * A service that dies during this start-up phase is restarted once (it resumes from its
 * stored position/offsets) and the crash is recorded: the figures are about the steady
 * state, the crash is a finding of its own.
 */
async function waitForZeroLag({ node, bin, cwd, copy, url, common, svc, start, restarts, logs }) {
  const started = performance.now();
  const deadline = Date.now() + 300_000;
  let last = '';
  for (;;) {
    for (const name of ['extractor', 'loader']) {
      const child = svc[name];
      if (child.exitCode === null && child.signalCode === null) continue;
      const how = child.exitCode ?? child.signalCode;
      const message = firstMatch(readFileSync(logs[name], 'utf8'), /^liteshift: /) ?? `exit ${how}`;
      if (restarts.filter((r) => r.service === name).length >= 1) {
        throw new Error(`${name} (--follow) exited (${how}) again before reaching zero lag:\n${tailOf(logs[name], 15)}`);
      }
      restarts.push({ service: name, exit: how, message, afterMs: performance.now() - started });
      svc[name] = start[name]();
    }
    const r = await runQuiet(node, [...bin, 'status', '--json', '--sqlite-path', copy, '--postgres-url', url, ...common], { cwd });
    if (r.code === 0) {
      try {
        const s = JSON.parse(r.stdout);
        const streaming = s.tables.length > 0 && s.tables.every((t) => t.phase === 'streaming');
        const hasTable = s.tables.some((t) => t.table === 'bench_latency');
        last = `phase ${s.extractor.phase}, extractor lag ${s.extractor.lag}, loader lag ${s.loaderLag}`;
        if (s.extractor.captured && streaming && hasTable && s.extractor.lag === 0 && s.loaderLag === 0) {
          const present = await targetHas(url, 'bench_latency');
          if (present) return performance.now() - started;
          last += ', bench_latency not yet created in PostgreSQL';
        }
      } catch (error) {
        last = `unreadable status: ${error.message}`;
      }
    } else {
      last = (r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.code}`;
    }
    if (Date.now() > deadline) throw new Error(`no zero lag after 300 s (last status: ${last})`);
    await sleep(1000);
  }
}

async function targetHas(url, table) {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const r = await c.query('SELECT to_regclass($1) IS NOT NULL AS present', [`public.${table}`]);
    return r.rows[0].present;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * (b) Capture overhead: the application's own write throughput (single-row insert
 * transactions, WAL, synchronous=NORMAL) on fresh copies of `dbFile`, without and with
 * liteshift's capture triggers (installCapture, as `extract --follow` installs them; no
 * extractor runs, so the changelog only grows). Into tasks (no UNIQUE constraint besides
 * its key: the capture triggers alone), and into users (email and username UNIQUE: the
 * REPLACE guard too, one index probe per constraint and insert), there also with capture
 * but the guard dropped, to show what the guard alone costs. The copies are written in
 * turns (writeInTurns) until each has had `durationMs`.
 */
export async function measureCaptureOverhead({ dbFile, tmpDir, durationMs, shared }) {
  const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
  const tasks = (db) => {
    const users = db.prepare('SELECT count(*) AS n FROM users').get().n;
    const insert = db.prepare(
      `INSERT INTO tasks (user_id, title, description, status, priority, completed, created_at, updated_at)
       VALUES (?, ?, ?, 'pending', 2, 0, ?, ?)`,
    );
    return (i) => insert.run((i % users) + 1, `Bench task ${i}`, 'Written by the capture-overhead benchmark, one row per transaction.', now, now);
  };
  const users = (db) => {
    const insert = db.prepare('INSERT INTO users (email, username, hashed_password, full_name, is_active, created_at) VALUES (?, ?, ?, ?, 1, ?)');
    return (i) => insert.run(`bench-${i}@overhead.example`, `bench_${i}`, '$2b$12$benchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchm', `Bench user ${i}`, now);
  };
  const result = await writeRates({ dbFile, tmpDir, durationMs, shared, table: 'tasks', writer: tasks, modes: ['without', 'with'] });
  result.ratio = result.with.rate / result.without.rate;
  const unique = { table: 'users', uniqueConstraints: 2, ...(await writeRates({ dbFile, tmpDir, durationMs, shared, table: 'users', writer: users, modes: ['without', 'withoutGuard', 'with'] })) };
  unique.ratio = unique.with.rate / unique.without.rate;
  unique.ratioWithoutGuard = unique.withoutGuard.rate / unique.without.rate;
  result.unique = unique;
  return result;
}

/** One copy of `dbFile` per mode (no capture, capture without the REPLACE guard, capture), written in turns. */
async function writeRates({ dbFile, tmpDir, durationMs, shared, table, writer, modes }) {
  const copies = new Map(modes.map((mode) => {
    const path = join(tmpDir, `live-overhead-${table}-${mode}.db`);
    removeDb(path);
    copyFileSync(dbFile, path);
    if (mode !== 'without') installCapture(shared, path, mode === 'withoutGuard');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return [mode, { path, db, write: writer(db), i: 0 }];
  }));
  try {
    const rates = await writeInTurns(modes, durationMs, (mode, ms) => {
      const copy = copies.get(mode);
      const started = performance.now();
      let n = 0;
      while (performance.now() - started < ms) {
        copy.write(copy.i++);
        n++;
      }
      return n;
    });
    for (const [mode, { db }] of copies) {
      if (mode !== 'without') rates[mode].changelogRows = Number(db.prepare('SELECT count(*) AS n FROM _liteshift_changelog').get().n);
      rates[mode].triggers = Number(db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?").get(table).n);
    }
    return rates;
  } finally {
    for (const { db, path } of copies.values()) {
      db.close();
      removeDb(path);
    }
  }
}

/** Capture as `extract --follow` installs it; `withoutGuard` drops the REPLACE guard's triggers again. */
function installCapture(shared, path, withoutGuard) {
  const db = shared.openSqlite(path);
  try {
    shared.requireWal(db);
    shared.installCapture(db, shared.readSchema(db, { profile: false }).tables);
    if (!withoutGuard) return;
    const guard = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND (substr(name, -4) = '_rep' OR substr(name, -5) = '_repu')").all();
    for (const { name } of guard) db.exec(`DROP TRIGGER "${name}"`);
  } finally {
    db.close();
  }
}
