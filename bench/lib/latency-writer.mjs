// Worker thread: the "application" of the change-latency measurement. Inserts one row per
// write into bench_latency(id, t_ms) at a steady rate, each its own transaction, with
// t_ms = Date.now() taken just before the INSERT commits (autocommit). Runs on its own
// thread so that the PostgreSQL poller's event loop cannot delay it, nor it the poller.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { writesDue } from './util.mjs';

const { path, rate, durationMs } = workerData;
const db = new Database(path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
// The extractor reads (and prunes the changelog) concurrently: wait, don't fail.
db.pragma('busy_timeout = 5000');
const insert = db.prepare('INSERT INTO bench_latency (id, t_ms) VALUES (?, ?)');

const tick = new Int32Array(new SharedArrayBuffer(4));
let written = 0;
let errors = 0;
let firstError = null;
let maxBehind = 0;
const started = performance.now();
const wallStart = Date.now();
for (;;) {
  const elapsed = performance.now() - started;
  if (elapsed >= durationMs) break;
  const due = writesDue(elapsed, rate, durationMs);
  maxBehind = Math.max(maxBehind, due - written);
  while (written < due) {
    const id = written + 1;
    try {
      insert.run(id, Date.now());
      written++;
    } catch (error) {
      errors++;
      firstError ??= String(error.message);
      written++; // the id is skipped; the poller counts what arrived
    }
  }
  Atomics.wait(tick, 0, 0, 0.25);
}
const elapsedMs = performance.now() - started;
db.close();
parentPort.postMessage({ written, errors, firstError, elapsedMs, maxBehind, wallStart, wallEnd: Date.now() });
