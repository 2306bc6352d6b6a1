/**
 * The `blobs` section: an application that keeps attachments in SQLite. One table of
 * `rows` rows with a 2 MB blob each; liteshift migrate (→ READY), then extract and load
 * alone (their peak RSS must stay near the 8 MB chunks they hold, not the table), then
 * pgloader as is on the same file.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { countRows } from './pg.mjs';
import { figuresOf, runMeasured, which } from './proc.mjs';
import { firstMatch } from './util.mjs';

const BLOB_BYTES = 2 * 1024 * 1024;

/** The cached blob database: `rows` rows of 2 MB of random bytes (random: nothing compresses them). */
export function ensureBlobDataset(cacheDir, rows, say) {
  const dir = join(cacheDir, 'bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `blobs-${rows}x2MB.db`);
  if (!existsSync(path)) {
    say(`· building ${path} (${rows} rows of 2 MB)`);
    const building = `${path}.building-${process.pid}`;
    try {
      const db = new Database(building);
      db.exec('CREATE TABLE attachments (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data BLOB NOT NULL)');
      const insert = db.prepare('INSERT INTO attachments (id, name, data) VALUES (?, ?, ?)');
      db.transaction(() => {
        for (let id = 1; id <= rows; id++) insert.run(id, `attachment-${id}.bin`, randomBytes(BLOB_BYTES));
      })();
      db.close();
      renameSync(building, path);
    } finally {
      for (const suffix of ['', '-wal', '-shm']) rmSync(building + suffix, { force: true });
    }
  }
  return { path, rows, sizeBytes: statSync(path).size };
}

/** Runs the section; `ctx` as the other sections get it, `cli` the node + liteshift command. */
export async function runBlobs(ctx, { blobs, cli, cwd, say }) {
  const { dbs, uniq, brokers, logDir, tmpDir } = ctx;
  const out = { rows: blobs.rows, sizeBytes: blobs.sizeBytes };
  const measure = async (name, cmd, args, url) => {
    const logFile = join(logDir, `blobs-${name}.log`);
    const r = await runMeasured(cmd, args, { cwd: name === 'pgloader' ? tmpDir : cwd, logFile, tmpDir });
    const rowsInTarget = url ? await countRows(url, 'attachments').catch(() => null) : undefined;
    const error = firstMatch(readFileSync(logFile, 'utf8'), / (ERROR|FATAL) |^liteshift: |^Heap exhausted/m);
    return {
      ...figuresOf(r, { kafka: name !== 'pgloader' }),
      mbPerSec: blobs.sizeBytes / 1024 / 1024 / (r.wallMs / 1000),
      ...(rowsInTarget !== undefined ? { rowsInTarget } : {}),
      ...(error ? { firstError: error.replace(/^\S+\s+(?=\S+ (ERROR|FATAL))/, '').slice(0, 200) } : {}),
    };
  };
  const fresh = async (what, fn) => {
    const name = `lsbench_${uniq}_blobs_${what}`;
    const url = await dbs.create(name);
    try {
      return await fn(url);
    } finally {
      await dbs.drop(name).catch(() => undefined);
    }
  };

  say('· blobs: liteshift migrate');
  out.migrate = await fresh('migrate', (url) =>
    measure('migrate', cli[0], [cli[1], 'migrate', '--sqlite-path', blobs.path, '--postgres-url', url, '--kafka-brokers', brokers, '--topic-prefix', `bench${uniq}blob`, '--log-format', 'json'], url),
  );
  say('· blobs: liteshift extract, then load (alone)');
  const prefix = `bench${uniq}blobsvc`;
  out.extract = await measure('extract', cli[0], [cli[1], 'extract', '--sqlite-path', blobs.path, '--kafka-brokers', brokers, '--topic-prefix', prefix, '--log-format', 'json']);
  out.load = await fresh('load', (url) => measure('load', cli[0], [cli[1], 'load', '--postgres-url', url, '--kafka-brokers', brokers, '--topic-prefix', prefix, '--log-format', 'json'], url));
  const pgloader = which('pgloader');
  if (pgloader) {
    say('· blobs: pgloader (as is)');
    out.pgloader = await fresh('pgloader', (url) => measure('pgloader', pgloader, [`sqlite://${blobs.path}`, url.replace(/^postgres(ql)?:\/\//, 'postgresql://')], url));
  }
  return out;
}
