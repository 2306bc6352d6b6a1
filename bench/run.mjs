/**
 * liteshift benchmark: speed and memory, side by side with pgloader and a raw
 * `sqlite3 | psql \copy` pipe on the same data (DESIGN.md, "How it is tested").
 *
 *   npm run bench [-- options]          (= tsc -b && node bench/run.mjs [options])
 *
 * Options
 *   --tasks N             tasks in the demo Todo database (default 1000000); users = N/100,
 *                         recurring patterns = N/20 (1M → 10,000 users, 50,000 patterns).
 *                         Cached by size as ~/.cache/liteshift/bench/todo-<N>.db, built only
 *                         when missing ($LITESHIFT_CACHE_DIR replaces ~/.cache/liteshift).
 *   --only a,b            run only these sections, in this fixed order:
 *                           liteshift  migrate → READY, then a separate `verify --json`, then
 *                                      `extract` and `load` as separate processes
 *                           blobs      a table of large blobs (--blob-rows rows of 2 MB): migrate,
 *                                      extract and load alone, and pgloader as is
 *                           live       latency, overhead and the two fallback sections (below),
 *                                      on a smaller database
 *                           latency    change latency through extract/load --follow
 *                           overhead   the capture triggers' cost to the application's writes
 *                           fallback-latency   change latency back, PostgreSQL → SQLite, through
 *                                      `liteshift fallback` after a (simulated) READY cutover
 *                           fallback-overhead  the PostgreSQL capture triggers' cost to the
 *                                      application's writes after the switch
 *                           pgloader   pgloader as is, and with the #1348 workaround
 *                           raw        sqlite3 -csv | psql \copy, per table
 *                         default: all of them.
 *   --skip-pgloader       leave pgloader out
 *   --blob-rows N         rows of the blobs section's database (default 300, i.e. 600 MB),
 *                         cached as ~/.cache/liteshift/bench/blobs-<N>x2MB.db
 *   --repeat N            run the liteshift, pgloader and raw sections N times each (default
 *                         1) and report the median of every figure; the JSON keeps each run
 *   --live-tasks N        tasks in the database of the live figures (default 20000; its
 *                         users and patterns follow the same N/100, N/20 rule)
 *   --latency-rate N      writes per second during the latency runs, forward and fallback (default 1000)
 *   --latency-seconds S   length of each latency run (default 20)
 *   --overhead-seconds S  writing time per mode of the capture-overhead runs, forward and fallback,
 *                         in turns of 250 ms (default 5)
 *   --help                this text
 *
 * Environment
 *   KAFKA_BROKERS                  use this broker; otherwise `liteshift stack up` starts one
 *                                  with its own state dir ~/.cache/liteshift/bench-stack, and
 *                                  the bench stops (and purges) it when done if it started it.
 *                                  Topics are named bench<run id>…; on a broker the bench did
 *                                  not start it deletes them at the end.
 *   LITESHIFT_BENCH_DATABASE_URL   PostgreSQL admin URL (default
 *                                  postgres://postgres@127.0.0.1:5432/postgres). Every
 *                                  measurement gets a fresh database lsbench_<run id>_<what>,
 *                                  dropped right after it (and on errors and Ctrl-C).
 *
 * Output: ONE table on stdout; the same as JSON in bench/results/latest.json and
 * bench/results/bench-<timestamp>.json (bench/results/ is git-ignored); the logs of every
 * child process in bench/results/logs/<timestamp>/.
 *
 * How things are measured (each figure once, or the median of --repeat runs; no pass/fail):
 *   wall      from spawning the process to its exit (so it includes Node/JVM/SBCL start-up)
 *   rows/s    rows of all tables ÷ wall (the snapshot-phase rate of liteshift is in notes)
 *   CPU       user + system time of the process and its children (GNU time's %U + %S; —
 *             without GNU time). More CPU than wall means more than one core was busy.
 *   PG CPU    what the local PostgreSQL server's processes used meanwhile, read from
 *             /proc (— when the server is not local); any other session's work counts too.
 *   Kafka CPU the same for the Kafka broker of the bench's liteshift stack (only that JVM:
 *             not other brokers on the machine); — where no broker was involved (pgloader,
 *             the raw pipe, verify) or it is not the stack's (KAFKA_BROKERS).
 *   CPU µs/row  the whole system's CPU per row: CPU + PG CPU + Kafka CPU (where measured)
 *             ÷ rows of all tables. Its inverse, rows per CPU-second, is compared with
 *             pgloader's and the raw pipe's in a ratio line: on a machine with few cores the
 *             CPU all processes need, not one process's wall time, bounds the wall time.
 *   peak RSS  max resident set of the process: GNU `/usr/bin/time -f '%M %e %U %S'` when present,
 *             else /proc/<pid>/status VmHWM polled every 50 ms. MB = 2^20 bytes.
 *   latency   per row, the time a poller (every ~5 ms) first saw it in PostgreSQL minus the
 *             Date.now() the writer stored in it just before its SQLite commit. Fallback: the
 *             live dataset migrated, the file fenced and PostgreSQL's capture installed with
 *             cutover's own calls; a writer thread inserts tasks rows into PostgreSQL, one
 *             per transaction, on as many connections as keep the rate (up to 32), and a
 *             read-only poller on the SQLite file records when each id first appears minus
 *             when its INSERT was sent.
 *   overhead  single-row insert transactions, each mode in turns of 250 ms: forward into
 *             copies of the SQLite file, fallback into two identical tasks-like PostgreSQL
 *             tables of a fresh database, one under the fallback's capture triggers.
 * Exit code: 0 when every section ran, 1 when one could not be measured, 130 on Ctrl-C.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { count, megabytes, millis, ratio, renderTable, seconds } from './lib/format.mjs';
import { Databases, DEFAULT_ADMIN_URL, countRows, describeUrl, withClient } from './lib/pg.mjs';
import { figuresOf, haveGnuTime, measureBrokerOf, runMeasured, runQuiet, stopAll, which } from './lib/proc.mjs';
import { measureCaptureOverhead, measureLatency } from './lib/live.mjs';
import { measureFallbackLatency, measureFallbackOverhead } from './lib/fallback.mjs';
import { ensureBlobDataset, runBlobs } from './lib/blobs.mjs';
import { firstMatch, tailOf } from './lib/util.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = [process.execPath, join(ROOT, 'bin', 'liteshift.js')];
const TABLES = ['users', 'recurring_patterns', 'tasks'];
const ALL_SECTIONS = ['liteshift', 'blobs', 'latency', 'overhead', 'fallback-latency', 'fallback-overhead', 'pgloader', 'raw'];
const LIVE_SECTIONS = ['latency', 'overhead', 'fallback-latency', 'fallback-overhead'];

// ───────────────────────────── options ─────────────────────────────

function usage() {
  const src = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const m = /^\/\*\*([\s\S]*?)\*\//.exec(src);
  process.stdout.write(m ? `${m[1].replace(/^ \* ?/gm, '').trim()}\n` : '');
}

function parseArgs(argv) {
  const o = {
    tasks: 1_000_000,
    only: null,
    skipPgloader: false,
    liveTasks: 20_000,
    latencyRate: 1000,
    latencySeconds: 20,
    overheadSeconds: 5,
    repeat: 1,
    blobRows: 300,
  };
  const num = (flag, v, { integer = true, min = 1 } = {}) => {
    const n = Number(String(v ?? '').replace(/_/g, ''));
    if (v === undefined || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
      fail(`${flag} needs a ${integer ? 'whole ' : ''}number ≥ ${min}, got ${v === undefined ? 'nothing' : `"${v}"`}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--tasks': o.tasks = num(flag, value()); break;
      case '--only': o.only = String(value() ?? ''); break;
      case '--skip-pgloader': o.skipPgloader = true; break;
      case '--repeat': o.repeat = num(flag, value()); break;
      case '--blob-rows': o.blobRows = num(flag, value()); break;
      case '--live-tasks': o.liveTasks = num(flag, value()); break;
      case '--latency-rate': o.latencyRate = num(flag, value()); break;
      case '--latency-seconds': o.latencySeconds = num(flag, value(), { integer: false, min: 0.1 }); break;
      case '--overhead-seconds': o.overheadSeconds = num(flag, value(), { integer: false, min: 0.1 }); break;
      case '--help': case '-h': usage(); process.exit(0); break;
      default: fail(`unknown option ${argv[i]} (see node bench/run.mjs --help)`);
    }
  }
  let sections = new Set(ALL_SECTIONS);
  if (o.only !== null) {
    sections = new Set();
    for (const name of o.only.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (name === 'live') for (const live of LIVE_SECTIONS) sections.add(live);
      else if (ALL_SECTIONS.includes(name)) sections.add(name);
      else fail(`--only: unknown section "${name}" (choose from liteshift, blobs, live, ${LIVE_SECTIONS.join(', ')}, pgloader, raw)`);
    }
    if (sections.size === 0) fail('--only needs at least one section');
  }
  if (o.skipPgloader) sections.delete('pgloader');
  o.sections = sections;
  return o;
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

// ───────────────────────────── cleanup ─────────────────────────────

const cleanups = [];
/** Registers `fn` to run once at the end (or on Ctrl-C); returns a function that runs it now. */
function onCleanup(fn) {
  let done = false;
  const run = async () => {
    if (done) return;
    done = true;
    try {
      await fn();
    } catch (error) {
      process.stderr.write(`bench: cleanup: ${error.message}\n`);
    }
  };
  cleanups.push(run);
  return run;
}
async function cleanupAll() {
  await stopAll();
  for (const run of cleanups.reverse()) await run();
}
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) {
      process.stderr.write('bench: second interrupt, exiting without cleanup\n');
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}: stopping child processes, dropping databases…\n`);
    cleanupAll().finally(() => process.exit(130));
  });
}
function checkInterrupted() {
  if (interrupted) throw new Error('interrupted');
}

// ───────────────────────────── helpers ─────────────────────────────

const say = (line) => process.stderr.write(`${line}\n`);

function datasetCounts(tasks) {
  return { users: Math.max(1, Math.floor(tasks / 100)), tasks, recurringPatterns: Math.floor(tasks / 20) };
}

/** The cached demo database of `tasks` tasks, built (under a temporary name) only when missing. */
function ensureDataset(shared, cacheDir, tasks) {
  const dir = join(cacheDir, 'bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `todo-${tasks}.db`);
  const counts = datasetCounts(tasks);
  let buildMs;
  if (!existsSync(path)) {
    const building = `${path}.building-${process.pid}`;
    say(`· building ${path} (${count(counts.users)} users, ${count(counts.recurringPatterns)} patterns, ${count(tasks)} tasks)`);
    const started = performance.now();
    let lastShown = 0;
    try {
      shared.createTodoDatabase(building, {
        ...counts,
        onProgress: (table, done, total) => {
          if (table === 'tasks' && (done === total || performance.now() - lastShown > 5000)) {
            lastShown = performance.now();
            say(`  tasks ${count(done)} / ${count(total)}`);
          }
        },
      });
      renameSync(building, path);
    } finally {
      for (const suffix of ['', '-wal', '-shm']) rmSync(building + suffix, { force: true });
    }
    buildMs = performance.now() - started;
  }
  const db = new Database(path, { readonly: true, fileMustExist: true });
  const rows = {};
  try {
    for (const t of TABLES) rows[t] = db.prepare(`SELECT count(*) AS n FROM "${t}"`).get().n;
  } finally {
    db.close();
  }
  const expected = { users: counts.users, recurring_patterns: counts.recurringPatterns, tasks };
  for (const t of TABLES) {
    if (rows[t] !== expected[t]) throw new Error(`${path} holds ${rows[t]} ${t}, expected ${expected[t]}: delete it to rebuild`);
  }
  const totalRows = TABLES.reduce((a, t) => a + rows[t], 0);
  return { path, file: basename(path), sizeBytes: statSync(path).size, rows, totalRows, ...(buildMs !== undefined ? { builtNowMs: buildMs } : {}) };
}

const describeDataset = (d) =>
  `${d.file} (${megabytes(d.sizeBytes)}): ${count(d.totalRows)} rows (${TABLES.map((t) => `${t} ${count(d.rows[t])}`).join(', ')})` +
  (d.builtNowMs !== undefined ? `, built in ${seconds(d.builtNowMs)}` : ', cached');

function parseJsonOutput(stdout) {
  const start = stdout.indexOf('{');
  if (start < 0) throw new Error('no JSON on stdout');
  return JSON.parse(stdout.slice(start));
}

async function checkCounts(url, dataset) {
  const got = {};
  for (const t of TABLES) got[t] = await countRows(url, t);
  const wrong = TABLES.filter((t) => got[t] !== dataset.rows[t]);
  return { got, ok: wrong.length === 0, wrong };
}

const pgloaderUrl = (url) => url.replace(/^postgres(ql)?:\/\//, 'postgresql://');

// ───────────────────────────── sections ─────────────────────────────

async function runLiteshift(ctx) {
  const { dataset, dbs, uniq, brokers, logDir, tmpDir } = ctx;
  const out = {};
  const dbName = `lsbench_${uniq}_migrate`;
  const url = await dbs.create(dbName);
  try {
    say('· liteshift migrate');
    const logFile = join(logDir, 'liteshift-migrate.log');
    const r = await runMeasured(
      CLI[0],
      [CLI[1], 'migrate', '--sqlite-path', dataset.path, '--postgres-url', url, '--kafka-brokers', brokers,
        '--topic-prefix', `bench${uniq}`, '--force-recreate', '--json', '--log-format', 'json'],
      { cwd: ROOT, logFile, captureStdout: true, tmpDir },
    );
    writeFileSync(join(logDir, 'liteshift-migrate.json'), r.stdout);
    let json;
    try {
      json = parseJsonOutput(r.stdout);
    } catch {
      throw new Error(`liteshift migrate exited ${r.code ?? r.signal} without its JSON result:\n${tailOf(logFile, 12)}`);
    }
    const rows = Object.values(json.rowsPerTable ?? {}).reduce((a, b) => a + b, 0);
    out.migrate = {
      exitCode: r.code,
      verdict: json.verdict,
      wallMs: r.wallMs,
      reportedDurationMs: json.durationMs,
      peakRssBytes: r.peakRssBytes,
      cpuMs: r.cpuMs,
      serverCpuMs: r.serverCpuMs,
      brokerCpuMs: r.brokerCpuMs,
      rows,
      rowsPerSec: rows / (r.wallMs / 1000),
      phasesMs: json.phasesMs,
      snapshotRowsPerSec: json.phasesMs?.snapshotAndLoad ? rows / (json.phasesMs.snapshotAndLoad / 1000) : undefined,
      rowsPerTable: json.rowsPerTable,
      reasons: json.report?.reasons,
    };
    checkInterrupted();

    say('· liteshift verify (separately)');
    const vlog = join(logDir, 'liteshift-verify.log');
    const v = await runMeasured(CLI[0], [CLI[1], 'verify', '--sqlite-path', dataset.path, '--postgres-url', url, '--json', '--log-format', 'json'], {
      cwd: ROOT, logFile: vlog, captureStdout: true, tmpDir,
    });
    writeFileSync(join(logDir, 'liteshift-verify.json'), v.stdout);
    let verdict;
    try {
      verdict = parseJsonOutput(v.stdout).verdict;
    } catch {
      verdict = `no JSON (exit ${v.code ?? v.signal})`;
    }
    out.verify = {
      exitCode: v.code,
      verdict,
      wallMs: v.wallMs,
      peakRssBytes: v.peakRssBytes,
      cpuMs: v.cpuMs,
      serverCpuMs: v.serverCpuMs,
      rowsPerSec: dataset.totalRows / (v.wallMs / 1000),
    };
  } finally {
    await dbs.drop(dbName).catch(() => undefined);
  }
  checkInterrupted();
  out.services = await runServices(ctx);
  return out;
}

/**
 * The extractor and the loader as separate processes (what docker-compose runs), one after
 * the other: `liteshift extract` sends the snapshot, then `liteshift load` applies it into a
 * fresh database. Their peak RSS is what the memory targets are about; migrate runs both in
 * one process.
 */
async function runServices(ctx) {
  const { dataset, dbs, uniq, brokers, logDir, tmpDir } = ctx;
  const prefix = `bench${uniq}svc`;
  const dbName = `lsbench_${uniq}_services`;
  const url = await dbs.create(dbName);
  try {
    const measure = async (name, args) => {
      say(`· liteshift ${name} (alone)`);
      const r = await runMeasured(CLI[0], [CLI[1], ...args, '--log-format', 'json'], { cwd: ROOT, logFile: join(logDir, `liteshift-${name}.log`), tmpDir });
      if (r.code !== 0) throw new Error(`liteshift ${name} exited ${r.code ?? r.signal}:\n${tailOf(join(logDir, `liteshift-${name}.log`), 12)}`);
      return {
        wallMs: r.wallMs,
        peakRssBytes: r.peakRssBytes,
        cpuMs: r.cpuMs,
        serverCpuMs: r.serverCpuMs,
        brokerCpuMs: r.brokerCpuMs,
        rowsPerSec: dataset.totalRows / (r.wallMs / 1000),
      };
    };
    const extract = await measure('extract', ['extract', '--sqlite-path', dataset.path, '--kafka-brokers', brokers, '--topic-prefix', prefix]);
    checkInterrupted();
    const load = await measure('load', ['load', '--postgres-url', url, '--kafka-brokers', brokers, '--topic-prefix', prefix]);
    return { extract, load };
  } finally {
    await dbs.drop(dbName).catch(() => undefined);
  }
}

async function ensurePgloader(logDir) {
  let path = which('pgloader');
  if (!path && process.getuid?.() === 0 && which('apt-get')) {
    say('· pgloader missing: apt-get install -y pgloader');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = await runQuiet('apt-get', ['install', '-y', 'pgloader'], { env });
    if (r.code !== 0) {
      await runQuiet('apt-get', ['update'], { env });
      r = await runQuiet('apt-get', ['install', '-y', 'pgloader'], { env });
    }
    writeFileSync(join(logDir, 'apt-get-pgloader.log'), r.stdout + r.stderr);
    path = which('pgloader');
  }
  if (!path) return null;
  const v = await runQuiet(path, ['--version']);
  const version = /pgloader version "?([^"\s]+)"?/.exec(v.stdout)?.[1] ?? 'unknown version';
  return { path, version };
}

/** One pgloader run: wall time, peak RSS, what arrived, and its first ERROR/FATAL line (pgloader exits 0 on some failures). */
async function measurePgloader(path, args, { ctx, url, logName }) {
  const { dataset, logDir, tmpDir } = ctx;
  const logFile = join(logDir, logName);
  const r = await runMeasured(path, args, { cwd: tmpDir, logFile, tmpDir });
  const counts = await checkCounts(url, dataset);
  const error = firstMatch(readFileSync(logFile, 'utf8'), / (ERROR|FATAL) /);
  return {
    ...figuresOf(r),
    rowsInTarget: counts.got,
    ok: counts.ok,
    firstError: error?.replace(/^\S+\s+/, ''),
    rowsPerSec: dataset.totalRows / (r.wallMs / 1000),
  };
}

async function runPgloader(ctx) {
  const { dataset, dbs, uniq, logDir, tmpDir } = ctx;
  const tool = await ensurePgloader(logDir);
  if (!tool) return { installed: false };
  const out = { installed: true, version: tool.version };

  // As is: pgloader sqlite:///file postgresql://…
  say(`· pgloader ${tool.version} (as is)`);
  {
    const dbName = `lsbench_${uniq}_pgloader`;
    const url = await dbs.create(dbName);
    try {
      const result = await measurePgloader(tool.path, [`sqlite://${dataset.path}`, pgloaderUrl(url)], { ctx, url, logName: 'pgloader-as-is.log' });
      out.asIs = { ...result, rowsPerSec: result.ok ? result.rowsPerSec : undefined };
    } finally {
      await dbs.drop(dbName).catch(() => undefined);
    }
  }
  checkInterrupted();

  // With the workaround: a load file that casts the one column and drops its default.
  say(`· pgloader ${tool.version} (workaround load file)`);
  {
    const dbName = `lsbench_${uniq}_pgloader_wa`;
    const url = await dbs.create(dbName);
    try {
      const loadFile = join(tmpDir, 'pgloader-todo.load');
      const loadText = [
        'LOAD DATABASE',
        `  FROM sqlite://${dataset.path}`,
        `  INTO ${pgloaderUrl(url)}`,
        "  -- pgloader quotes SQLite's datetime('now') default into a timestamptz literal (dimitri/pgloader#1348)",
        '  CAST column recurring_patterns.created_at to timestamptz drop default;',
        '',
      ].join('\n');
      writeFileSync(loadFile, loadText);
      out.workaround = {
        ...(await measurePgloader(tool.path, [loadFile], { ctx, url, logName: 'pgloader-workaround.log' })),
        loadFile: loadText.replace(/\/\/[^@/\s]*:[^@/\s]*@/g, '//***@'),
      };
    } finally {
      await dbs.drop(dbName).catch(() => undefined);
    }
  }
  return out;
}

/** Equivalent PostgreSQL tables for the raw pipe: same columns and order, key only. */
const RAW_DDL = {
  users: `CREATE TABLE users (id bigint PRIMARY KEY, email varchar(255) NOT NULL, username varchar(50) NOT NULL,
    hashed_password varchar(255) NOT NULL, full_name varchar(100), is_active boolean NOT NULL,
    created_at timestamp NOT NULL, updated_at timestamp)`,
  recurring_patterns: `CREATE TABLE recurring_patterns (id bigint PRIMARY KEY, user_id bigint NOT NULL, frequency varchar(20) NOT NULL,
    "interval" integer NOT NULL, days_of_week varchar(20), day_of_month integer, start_date date NOT NULL, end_date date,
    created_at timestamp NOT NULL)`,
  tasks: `CREATE TABLE tasks (id bigint PRIMARY KEY, user_id bigint NOT NULL, recurring_pattern_id bigint, title varchar(200) NOT NULL,
    description text, status varchar(20) NOT NULL, priority integer NOT NULL, due_date timestamp, completed boolean NOT NULL,
    completed_at timestamp, created_at timestamp NOT NULL, updated_at timestamp NOT NULL)`,
};
const RAW_PIPE = String.raw`set -o pipefail; sqlite3 -csv "$1" "SELECT * FROM \"$3\"" | psql -X -q -v ON_ERROR_STOP=1 -d "$2" -c "\\copy \"$3\" FROM STDIN CSV"`;

async function runRaw(ctx) {
  const { dataset, dbs, uniq, logDir, tmpDir } = ctx;
  const missing = ['sqlite3', 'psql', 'bash'].filter((c) => !which(c));
  if (missing.length > 0) return { installed: false, missing };
  const dbName = `lsbench_${uniq}_raw`;
  const url = await dbs.create(dbName);
  const out = { installed: true, tables: {} };
  try {
    await withClient(url, async (c) => {
      for (const t of TABLES) await c.query(RAW_DDL[t]);
    });
    for (const t of TABLES) {
      say(`· raw pipe: ${t}`);
      const logFile = join(logDir, `raw-${t}.log`);
      const r = await runMeasured('bash', ['-c', RAW_PIPE, 'bench-raw', dataset.path, url, t], { cwd: tmpDir, logFile, tmpDir });
      const rows = await countRows(url, t);
      if (r.code !== 0 || rows !== dataset.rows[t]) {
        throw new Error(`raw pipe for ${t} failed (exit ${r.code ?? r.signal}, ${rows} of ${dataset.rows[t]} rows):\n${tailOf(logFile, 8)}`);
      }
      out.tables[t] = {
        rows,
        wallMs: r.wallMs,
        cpuMs: r.cpuMs,
        serverCpuMs: r.serverCpuMs,
        rowsPerSec: rows / (r.wallMs / 1000),
        // GNU time reports the largest of the pipeline's processes (sqlite3, psql).
        peakRssBytes: haveGnuTime ? r.peakRssBytes : undefined,
      };
      checkInterrupted();
    }
    const wallMs = TABLES.reduce((a, t) => a + out.tables[t].wallMs, 0);
    const sum = (field) => (TABLES.every((t) => out.tables[t][field] !== undefined) ? TABLES.reduce((a, t) => a + out.tables[t][field], 0) : undefined);
    out.total = {
      rows: dataset.totalRows,
      wallMs,
      cpuMs: sum('cpuMs'),
      serverCpuMs: sum('serverCpuMs'),
      rowsPerSec: dataset.totalRows / (wallMs / 1000),
      peakRssBytes: haveGnuTime ? Math.max(...TABLES.map((t) => out.tables[t].peakRssBytes ?? 0)) : undefined,
    };
  } finally {
    await dbs.drop(dbName).catch(() => undefined);
  }
  return out;
}

// ───────────────────────────── Kafka ─────────────────────────────

async function kafkaBrokers(cacheDir, logDir, uniq, needed) {
  if (!needed) return null;
  if (process.env.KAFKA_BROKERS) {
    const brokers = process.env.KAFKA_BROKERS;
    onCleanup(() => deleteBenchTopics(brokers, uniq));
    return { brokers, source: 'KAFKA_BROKERS', started: false, stop: async () => undefined };
  }
  const java = which('java');
  const javaVersion = java ? await runQuiet(java, ['-version']) : null;
  if (!java || javaVersion.code !== 0) {
    throw new Error(
      'Java (17+) is needed to run the local Kafka broker (`liteshift stack up`) and was not found on the PATH.\n' +
        '  install a JDK (e.g. apt-get install -y openjdk-17-jre-headless) or point the bench at a broker with KAFKA_BROKERS=host:port',
    );
  }
  const stateDir = join(cacheDir, 'bench-stack');
  measureBrokerOf(stateDir);
  const env = { ...process.env, LITESHIFT_STACK_DIR: stateDir };
  say(`· Kafka: liteshift stack up (state in ${stateDir})`);
  const r = await runQuiet(CLI[0], [CLI[1], 'stack', 'up', '--log-format', 'json'], { cwd: ROOT, env });
  writeFileSync(join(logDir, 'stack-up.log'), r.stdout + r.stderr);
  const brokers = /KAFKA_BROKERS=(\S+)/.exec(r.stdout)?.[1];
  if (r.code !== 0 || !brokers) {
    throw new Error(`liteshift stack up failed (exit ${r.code}):\n${(r.stderr || r.stdout).trim().split('\n').slice(-6).join('\n')}`);
  }
  const started = !/already running/i.test(r.stdout);
  const stop = onCleanup(async () => {
    if (started) {
      say('· Kafka: liteshift stack down --purge (the bench started it)');
      const d = await runQuiet(CLI[0], [CLI[1], 'stack', 'down', '--purge', '--log-format', 'json'], { cwd: ROOT, env });
      if (d.code !== 0) say(`bench: stack down failed: ${d.stderr.trim()}`);
    } else {
      await deleteBenchTopics(brokers, uniq);
    }
  });
  return { brokers, source: `liteshift stack (${started ? 'started' : 'reused'}, ${stateDir})`, started, stop };
}

/** Deletes this run's topics and consumer groups from a broker the bench did not start. */
async function deleteBenchTopics(brokers, uniq) {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ clientId: 'liteshift-bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const mine = (name) => name.startsWith(`bench${uniq}`);
    const topics = (await admin.listTopics()).filter(mine);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(mine);
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** The log directory of one of several runs of a section. */
function runLogDir(logDir, run) {
  const dir = join(logDir, `run${run}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Runs of one section merged figure by figure: the median of every number, the first run's
 * value of anything else (verdicts, notes). Each figure's median may come from another run.
 */
function medianOf(runs) {
  const [first] = runs;
  if (typeof first === 'number') {
    const xs = runs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    if (xs.length === 0) return first;
    const m = xs.length >> 1;
    return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
  }
  if (Array.isArray(first)) return first.map((_, i) => medianOf(runs.map((r) => r?.[i])));
  if (first && typeof first === 'object') return Object.fromEntries(Object.keys(first).map((k) => [k, medianOf(runs.map((r) => r?.[k]))]));
  return first;
}

// ───────────────────────────── the table ─────────────────────────────

/**
 * The whole system's CPU during a measurement: the command's, PostgreSQL's and the Kafka
 * broker's (where one was measured); undefined without the command's or PostgreSQL's.
 */
function systemCpuMs(m) {
  if (m.cpuMs === undefined || m.serverCpuMs === undefined) return undefined;
  return m.cpuMs + m.serverCpuMs + (m.brokerCpuMs ?? 0);
}

function rowsPerCpuSecond(m, rows) {
  const cpu = systemCpuMs(m);
  return cpu === undefined || cpu <= 0 ? undefined : rows / (cpu / 1000);
}

function cpuMicrosPerRow(m, rows) {
  const cpu = systemCpuMs(m);
  return cpu === undefined || !rows ? '—' : (cpu * 1000) / rows >= 100 ? count((cpu * 1000) / rows) : ((cpu * 1000) / rows).toFixed(1);
}

function buildTable(report) {
  const rows = [];
  // A row's cells but CPU; with the measurement `m` of `rowCount` rows, its CPU, PostgreSQL's,
  // the broker's and the whole system's per row go after the wall time.
  const add = (cells, m, rowCount) =>
    rows.push([
      cells[0],
      cells[1],
      ...(m ? [seconds(m.cpuMs), seconds(m.serverCpuMs), seconds(m.brokerCpuMs), cpuMicrosPerRow(m, rowCount)] : ['', '', '', '']),
      ...cells.slice(2),
    ]);
  const totalRows = report.dataset?.totalRows;
  const r = report.results;
  const L = r.liteshift;
  if (L?.error) add(['liteshift migrate → READY', '—', '—', '—', `FAILED: ${L.error}`]);
  if (L?.migrate) {
    const m = L.migrate;
    const p = m.phasesMs ?? {};
    add([
      'liteshift migrate → READY',
      seconds(m.wallMs),
      count(m.rowsPerSec),
      megabytes(m.peakRssBytes),
      `verdict ${m.verdict}; plan ${seconds(p.plan)}, snapshot+load ${seconds(p.snapshotAndLoad)} (${count(m.snapshotRowsPerSec)} rows/s), ` +
        `constraints ${seconds(p.finalize)}, verify ${seconds(p.verify)}`,
    ], m, m.rows);
  }
  if (L?.verify) {
    add([
      'verification (liteshift verify)',
      seconds(L.verify.wallMs),
      count(L.verify.rowsPerSec),
      megabytes(L.verify.peakRssBytes),
      `separate run of verify --json on the migrated database; verdict ${L.verify.verdict}`,
    ], L.verify, totalRows);
  }
  for (const [name, what] of [['extract', 'snapshot of every table into Kafka, alone'], ['load', 'the same topics into a fresh database, alone']]) {
    const m = L?.services?.[name];
    if (m) add([`liteshift ${name}`, seconds(m.wallMs), count(m.rowsPerSec), megabytes(m.peakRssBytes), what], m, totalRows);
  }
  const P = r.pgloader;
  if (P?.error) add(['pgloader', '—', '—', '—', `FAILED: ${P.error}`]);
  if (P && !P.installed && !P.error) add(['pgloader', '—', '—', '—', 'not installed (apt-get install -y pgloader, as root)']);
  if (P?.asIs) {
    const a = P.asIs;
    add([
      `pgloader ${P.version} (as is)`,
      seconds(a.wallMs),
      a.ok ? count(a.rowsPerSec) : '—',
      megabytes(a.peakRssBytes),
      a.ok
        ? `ok, exit ${a.exitCode}`
        : `FAILED (exit ${a.exitCode}): ${TABLES.map((t) => `${t} ${a.rowsInTarget[t] ?? 'missing'}`).join(', ')}` +
          (a.firstError ? `; ${a.firstError.slice(0, 110)}` : '') + ' (dimitri/pgloader#1348)',
    ], a, totalRows);
  }
  if (P?.workaround) {
    const w = P.workaround;
    add([
      'pgloader (workaround)',
      seconds(w.wallMs),
      count(w.rowsPerSec),
      megabytes(w.peakRssBytes),
      (w.ok ? '' : `INCOMPLETE (${TABLES.map((t) => `${t} ${w.rowsInTarget[t] ?? 'missing'}`).join(', ')}); `) +
        'CAST column recurring_patterns.created_at to timestamptz drop default',
    ], w, totalRows);
  }
  const R = r.raw;
  if (R?.error) add(['raw sqlite3 | psql \\copy', '—', '—', '—', `FAILED: ${R.error}`]);
  if (R && !R.installed && !R.error) add(['raw sqlite3 | psql \\copy', '—', '—', '—', `not installed: ${R.missing.join(', ')}`]);
  if (R?.total) {
    for (const t of TABLES) {
      const x = R.tables[t];
      add([`raw pipe: ${t}`, seconds(x.wallMs), count(x.rowsPerSec), megabytes(x.peakRssBytes), `${count(x.rows)} rows`], x, x.rows);
    }
    add([
      'raw pipe: total',
      seconds(R.total.wallMs),
      count(R.total.rowsPerSec),
      megabytes(R.total.peakRssBytes),
      'sqlite3 -csv | psql \\copy, table with its primary key only (no unique, FK or secondary index); RSS = larger of sqlite3, psql',
    ], R.total, R.total.rows);
  }
  const Q = report.ratios;
  if (Q.liteshiftVsPgloader !== undefined) {
    add(['ratio: liteshift ÷ pgloader wall', '', '', '', `${ratio(Q.liteshiftVsPgloader)} (${seconds(L.migrate.wallMs)} ÷ ${seconds(P.workaround.wallMs)}, pgloader with the workaround)`]);
  }
  if (Q.rowsPerCpuSecondVsPgloader !== undefined || Q.rowsPerCpuSecondVsRaw !== undefined) {
    const perCpuS = (m, n) => `${count(rowsPerCpuSecond(m, n))}`;
    const vs = [
      ...(Q.rowsPerCpuSecondVsPgloader !== undefined ? [`${ratio(Q.rowsPerCpuSecondVsPgloader)} pgloader's (${perCpuS(L.migrate, L.migrate.rows)} ÷ ${perCpuS(P.workaround, totalRows)})`] : []),
      ...(Q.rowsPerCpuSecondVsRaw !== undefined ? [`${ratio(Q.rowsPerCpuSecondVsRaw)} the raw pipe's (÷ ${perCpuS(R.total, R.total.rows)})`] : []),
    ];
    add(['ratio: rows per CPU-second', '', '', '', `migrate → READY: ${vs.join(', ')}; CPU of the whole system (ours + PostgreSQL + Kafka broker)`]);
  }
  if (Q.snapshotVsRaw !== undefined) {
    add(['ratio: snapshot rows/s ÷ raw pipe', '', '', '', `${ratio(Q.snapshotVsRaw)} (${count(L.migrate.snapshotRowsPerSec)} ÷ ${count(R.total.rowsPerSec)} rows/s)`]);
  }
  if (Q.verifyVsMigrate !== undefined) {
    add([
      'ratio: verification ÷ migration',
      '',
      '',
      '',
      `${ratio(Q.verifyVsMigrate)} (verify ${seconds(L.verify.wallMs)} ÷ migrate ${seconds(L.migrate.wallMs)}; in-migrate verify phase ${ratio(Q.verifyPhaseVsMigrate)})`,
    ]);
  }
  const B = r.blobs;
  if (B?.error) add(['blobs: liteshift migrate', '—', '—', '—', `FAILED: ${B.error}`]);
  if (B?.migrate) {
    const size = `${B.rows} rows of 2 MB (${megabytes(B.sizeBytes)})`;
    const outcome = (m) => (m.exitCode === 0 ? '' : `; exit ${m.exitCode}${m.firstError ? `: ${m.firstError}` : ''}`);
    add(['blobs: liteshift migrate → READY', seconds(B.migrate.wallMs), count(B.rows / (B.migrate.wallMs / 1000)), megabytes(B.migrate.peakRssBytes), `${size}, ${count(B.migrate.mbPerSec)} MB/s${outcome(B.migrate)}`], B.migrate, B.rows);
    add(['blobs: liteshift extract', seconds(B.extract.wallMs), count(B.rows / (B.extract.wallMs / 1000)), megabytes(B.extract.peakRssBytes), `alone${outcome(B.extract)}`], B.extract, B.rows);
    add(['blobs: liteshift load', seconds(B.load.wallMs), count(B.rows / (B.load.wallMs / 1000)), megabytes(B.load.peakRssBytes), `alone; ${B.load.rowsInTarget} rows arrived${outcome(B.load)}`], B.load, B.rows);
    if (B.pgloader) {
      const P = B.pgloader;
      add(['blobs: pgloader (as is)', seconds(P.wallMs), count(B.rows / (P.wallMs / 1000)), megabytes(P.peakRssBytes), `${P.rowsInTarget ?? 'no'} of ${B.rows} rows arrived, exit ${P.exitCode}${P.firstError ? `; ${P.firstError}` : ''}`], P, B.rows);
    }
  }
  const T = r.latency;
  if (T?.error) add(['live: change latency', '—', '—', '—', `FAILED: ${T.error}`]);
  if (T?.latencyMs) {
    const l = T.latencyMs;
    add([
      'live: change latency',
      seconds(T.writerElapsedMs),
      count(T.achievedRate),
      '',
      `p50 ${millis(l.p50)}, p95 ${millis(l.p95)}, p99 ${millis(l.p99)}, max ${millis(l.max)}; ` +
        `${count(T.seen)} of ${count(T.written - T.writeErrors)} rows seen in PostgreSQL` +
        (T.writeErrors ? `, ${count(T.writeErrors)} write errors` : '') + `; rows/s = achieved writes/s (target ${count(report.options.latencyRate)})` +
        T.startupRestarts
          .map((x) => `; NOTE ${x.service === 'loader' ? 'load' : 'extract'} --follow crashed during start-up (exit ${x.exit}: ${x.message.replace(/^liteshift: /, '')}) and was restarted once`)
          .join(''),
    ]);
    const rss = T.peakRssBytes;
    add(['  extract --follow', '', '', megabytes(rss.extractorDuringRun), `peak RSS during the writes (lifetime peak ${megabytes(rss.extractorLifetime)})`]);
    add(['  load --follow', '', '', megabytes(rss.loaderDuringRun), `peak RSS during the writes (lifetime peak ${megabytes(rss.loaderLifetime)})`]);
  }
  const O = r.overhead;
  if (O?.error) add(['live: capture overhead', '—', '—', '—', `FAILED: ${O.error}`]);
  if (O?.without) {
    add(['live: app writes, no capture', seconds(O.without.elapsedMs), count(O.without.rate), '', 'single-row insert transactions into tasks, WAL, synchronous=NORMAL']);
    add([
      'live: app writes, capture on',
      seconds(O.with.elapsedMs),
      count(O.with.rate),
      '',
      `same, with liteshift's capture triggers installed (${O.with.changelogRows === O.with.writes + O.with.warmupWrites ? 'one changelog row per write' : `${count(O.with.changelogRows)} changelog rows`}); ${ratio(O.ratio)} of the rate without`,
    ]);
  }
  const U = O?.unique;
  if (U) {
    add(['live: app writes into users, no capture', seconds(U.without.elapsedMs), count(U.without.rate), '', `single-row insert transactions into users (${U.uniqueConstraints} UNIQUE constraints besides the key)`]);
    add(['  capture on, REPLACE guard off', seconds(U.withoutGuard.elapsedMs), count(U.withoutGuard.rate), '', `${U.withoutGuard.triggers} triggers; ${ratio(U.ratioWithoutGuard)} of the rate without capture`]);
    add(['  capture on, REPLACE guard on', seconds(U.with.elapsedMs), count(U.with.rate), '', `${U.with.triggers} triggers (as extract --follow installs them); ${ratio(U.ratio)} of the rate without capture`]);
  }
  const F = r['fallback-latency'];
  if (F?.error) add(['fallback: change latency', '—', '—', '—', `FAILED: ${F.error}`]);
  if (F?.latencyMs) {
    const l = F.latencyMs;
    add([
      'fallback: change latency',
      seconds(F.writerElapsedMs),
      count(F.achievedRate),
      '',
      `PostgreSQL → SQLite: p50 ${millis(l.p50)}, p95 ${millis(l.p95)}, p99 ${millis(l.p99)}, max ${millis(l.max)}; ` +
        `${count(F.seen)} of ${count(F.written - F.writeErrors)} rows seen in SQLite` +
        (F.writeErrors ? `, ${count(F.writeErrors)} write errors` : '') +
        `; rows/s = achieved writes/s (target ${count(report.options.latencyRate)}, single-row transactions on ${F.writerConnections} connections)`,
    ]);
    add(['  liteshift fallback', '', '', megabytes(F.peakRssBytes.fallbackDuringRun), `peak RSS during the writes (lifetime peak ${megabytes(F.peakRssBytes.fallbackLifetime)})`]);
  }
  const G = r['fallback-overhead'];
  if (G?.error) add(['fallback: capture overhead', '—', '—', '—', `FAILED: ${G.error}`]);
  if (G?.without) {
    add(['fallback: app writes, no capture', seconds(G.without.elapsedMs), count(G.without.rate), '', `single-row insert transactions into a tasks-like PostgreSQL table, synchronous_commit ${G.synchronousCommit}`]);
    add([
      'fallback: app writes, capture on',
      seconds(G.with.elapsedMs),
      count(G.with.rate),
      '',
      `same, with the fallback's capture triggers (${G.with.changelogRows === G.with.writes + G.with.warmupWrites ? 'one changelog row per write' : `${count(G.with.changelogRows)} changelog rows`}); ${ratio(G.ratio)} of the rate without`,
    ]);
  }
  return renderTable(['what', 'wall', 'CPU', 'PG CPU', 'Kafka CPU', 'CPU µs/row', 'rows/s', 'peak RSS', 'notes'], rows);
}

// ───────────────────────────── main ─────────────────────────────

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-').replace(/Z$/, 'Z');
  const uniq = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
  const resultsDir = join(ROOT, 'bench', 'results');
  const logDir = join(resultsDir, 'logs', stamp);
  mkdirSync(logDir, { recursive: true });
  const tmpDir = mkdtempSync(join(tmpdir(), 'liteshift-bench-'));
  onCleanup(() => rmSync(tmpDir, { recursive: true, force: true }));

  if (!existsSync(join(ROOT, 'cli', 'dist', 'main.js')) || !existsSync(join(ROOT, 'shared', 'dist', 'index.js'))) {
    throw new Error('liteshift is not built: run `npx tsc -b` (npm run bench does) first');
  }
  const shared = await import('@liteshift/shared');
  const cacheDir = shared.defaultCacheDir();
  const s = opts.sections;
  const adminUrl = process.env.LITESHIFT_BENCH_DATABASE_URL || DEFAULT_ADMIN_URL;

  const report = {
    startedAt: started.toISOString(),
    runId: uniq,
    note: opts.repeat > 1
      ? `liteshift, pgloader and raw figures are medians of ${opts.repeat} runs (each run in runs); no pass/fail thresholds`
      : 'each figure is measured once in this run; no repetitions, no pass/fail thresholds',
    options: { ...opts, sections: [...s] },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryBytes: totalmem(),
      node: process.version,
      loadAverageAtStart: loadavg().map((x) => Number(x.toFixed(2))),
      peakRssMethod: haveGnuTime ? "/usr/bin/time -f '%M %e %U %S'" : '/proc/<pid>/status VmHWM, polled every 50 ms',
    },
    postgres: { admin: describeUrl(adminUrl) },
    results: {},
    runs: {},
    ratios: {},
    errors: [],
  };

  // PostgreSQL first: nothing runs without it.
  const dbs = new Databases(adminUrl);
  await dbs.connect();
  onCleanup(() => dbs.close());
  onCleanup(() => dbs.dropAll());
  report.postgres.version = dbs.serverVersion;
  say(`· PostgreSQL ${dbs.serverVersion} at ${describeUrl(adminUrl)}`);

  const needBig = s.has('liteshift') || s.has('pgloader') || s.has('raw');
  const needLive = LIVE_SECTIONS.some((name) => s.has(name));
  let dataset;
  let liveDataset;
  if (needBig) {
    dataset = ensureDataset(shared, cacheDir, opts.tasks);
    report.dataset = dataset;
    say(`· dataset: ${describeDataset(dataset)}`);
  }
  if (needLive) {
    liveDataset = opts.liveTasks === opts.tasks && dataset ? dataset : ensureDataset(shared, cacheDir, opts.liveTasks);
    report.liveDataset = liveDataset;
    say(`· live dataset: ${describeDataset(liveDataset)}`);
  }
  checkInterrupted();

  const blobs = s.has('blobs') ? ensureBlobDataset(cacheDir, opts.blobRows, say) : undefined;
  if (blobs) {
    report.blobDataset = blobs;
    say(`· blobs dataset: ${basename(blobs.path)} (${megabytes(blobs.sizeBytes)})`);
  }
  const kafka = await kafkaBrokers(cacheDir, logDir, uniq, s.has('liteshift') || s.has('blobs') || s.has('latency') || s.has('fallback-latency'));
  if (kafka) {
    report.kafka = { brokers: kafka.brokers, source: kafka.source };
    say(`· Kafka at ${kafka.brokers} (${kafka.source})`);
  }
  const ctx = { dataset, dbs, uniq, brokers: kafka?.brokers, logDir, tmpDir };

  const section = async (name, fn, repeat = 1) => {
    if (!s.has(name)) return;
    checkInterrupted();
    try {
      const runs = [];
      for (let i = 0; i < repeat; i++) {
        if (repeat > 1) say(`· ${name}: run ${i + 1} of ${repeat}`);
        // Fresh topics, databases and log files for each run: nothing of one run is reused.
        runs.push(await fn(repeat > 1 ? { ...ctx, uniq: `${uniq}r${i + 1}`, logDir: runLogDir(logDir, i + 1) } : ctx));
        checkInterrupted();
      }
      report.results[name] = repeat > 1 ? medianOf(runs) : runs[0];
      if (repeat > 1) report.runs[name] = runs;
    } catch (error) {
      if (interrupted) throw error;
      const message = error.message.split('\n')[0];
      say(`bench: ${name} failed: ${error.message}`);
      report.results[name] = { error: message };
      report.errors.push({ section: name, message: error.message });
    }
  };

  await section('liteshift', runLiteshift, opts.repeat);
  await section('blobs', (c) => runBlobs(c, { blobs, cli: CLI, cwd: ROOT, say }));
  // The live figures while Kafka is up; then Kafka stops, so that pgloader and the raw
  // pipe do not share the machine with an idle broker.
  await section('latency', () =>
    measureLatency({
      dbFile: liveDataset.path, tmpDir, brokers: kafka.brokers, dbs, uniq, logDir,
      rate: opts.latencyRate, durationMs: opts.latencySeconds * 1000, cliArgs: CLI, cwd: ROOT,
      say: (l) => say(l.startsWith('  ') ? l : `  ${l}`),
    }),
  );
  if (s.has('latency')) say('· live: change latency done');
  await section('overhead', async () => {
    say(`· live: capture overhead (${opts.overheadSeconds} s of writes per mode, the modes in turns of 250 ms)`);
    return measureCaptureOverhead({ dbFile: liveDataset.path, tmpDir, durationMs: opts.overheadSeconds * 1000, shared });
  });
  await section('fallback-latency', () => {
    say('· fallback: change latency, PostgreSQL → SQLite');
    return measureFallbackLatency({
      dbFile: liveDataset.path, tmpDir, brokers: kafka.brokers, dbs, uniq, logDir, shared,
      rate: opts.latencyRate, durationMs: opts.latencySeconds * 1000, cliArgs: CLI, cwd: ROOT, say,
    });
  });
  if (s.has('fallback-latency')) say('· fallback: change latency done');
  await section('fallback-overhead', () => {
    say(`· fallback: capture overhead on PostgreSQL (${opts.overheadSeconds} s of writes per mode, the modes in turns of 250 ms)`);
    return measureFallbackOverhead({ dbs, uniq, durationMs: opts.overheadSeconds * 1000, shared });
  });
  if (kafka?.started) await kafka.stop();
  await section('pgloader', runPgloader, opts.repeat);
  await section('raw', runRaw, opts.repeat);

  // Ratios from whatever was measured.
  const L = report.results.liteshift;
  const P = report.results.pgloader;
  const R = report.results.raw;
  if (L?.migrate && P?.workaround?.ok) report.ratios.liteshiftVsPgloader = L.migrate.wallMs / P.workaround.wallMs;
  if (L?.migrate?.snapshotRowsPerSec && R?.total) report.ratios.snapshotVsRaw = L.migrate.snapshotRowsPerSec / R.total.rowsPerSec;
  const liteshiftRowsPerCpuS = L?.migrate ? rowsPerCpuSecond(L.migrate, L.migrate.rows) : undefined;
  if (liteshiftRowsPerCpuS !== undefined && P?.workaround?.ok) {
    report.ratios.rowsPerCpuSecondVsPgloader = liteshiftRowsPerCpuS / rowsPerCpuSecond(P.workaround, dataset.totalRows);
  }
  if (liteshiftRowsPerCpuS !== undefined && R?.total) report.ratios.rowsPerCpuSecondVsRaw = liteshiftRowsPerCpuS / rowsPerCpuSecond(R.total, R.total.rows);
  if (L?.verify && L?.migrate) {
    report.ratios.verifyVsMigrate = L.verify.wallMs / L.migrate.wallMs;
    report.ratios.verifyPhaseVsMigrate = (L.migrate.phasesMs?.verify ?? NaN) / L.migrate.wallMs;
  }
  if (report.results.overhead?.ratio !== undefined) report.ratios.captureOnVsOff = report.results.overhead.ratio;
  if (report.results.overhead?.unique) report.ratios.captureWithReplaceGuardOnVsOff = report.results.overhead.unique.ratio;
  if (report.results['fallback-overhead']?.ratio !== undefined) report.ratios.fallbackCaptureOnVsOff = report.results['fallback-overhead'].ratio;

  const lines = [];
  if (dataset) lines.push(`dataset: ${describeDataset(dataset)}`);
  if (liveDataset) {
    lines.push(
      `live dataset: ${describeDataset(liveDataset)}; latency run ${opts.latencySeconds} s at ${count(opts.latencyRate)} writes/s, ` +
        `overhead runs ${opts.overheadSeconds} s each (the fallback's alike)`,
    );
  }
  lines.push(...buildTable(report));
  lines.push(
    `${opts.repeat > 1 ? `liteshift, pgloader and raw figures: the median of ${opts.repeat} runs each` : 'each figure measured once in this run'} (no thresholds). ${report.machine.cpus} CPUs (${report.machine.cpuModel?.trim()}), ` +
      `${megabytes(report.machine.memoryBytes)} RAM, Node ${process.version}, PostgreSQL ${dbs.serverVersion}` +
      (kafka ? `, Kafka ${kafka.brokers} (${kafka.started ? 'liteshift stack, started by the bench' : kafka.source})` : '') +
      `. peak RSS: ${report.machine.peakRssMethod}.`,
  );
  report.machine.loadAverageAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
  lines.push(
    `load average (1 min) ${report.machine.loadAverageAtStart[0]} at start, ${report.machine.loadAverageAtEnd[0]} at end ` +
      '(other work on this machine shows up in the figures).',
  );
  report.table = lines;
  report.finishedAt = new Date().toISOString();

  mkdirSync(resultsDir, { recursive: true });
  const json = `${JSON.stringify(report, (k, v) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n`;
  writeFileSync(join(resultsDir, 'latest.json'), json);
  writeFileSync(join(resultsDir, `bench-${stamp}.json`), json);
  process.stdout.write(`\n${lines.join('\n')}\n`);
  say(`\nresults: bench/results/latest.json, bench/results/bench-${stamp}.json; logs: bench/results/logs/${stamp}/`);
  return report.errors.length === 0 ? 0 : 1;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  if (!interrupted) process.stderr.write(`bench: ${error.message}\n`);
  exitCode = interrupted ? 130 : 1;
} finally {
  if (!interrupted) await cleanupAll();
}
if (!interrupted) process.exit(exitCode);
