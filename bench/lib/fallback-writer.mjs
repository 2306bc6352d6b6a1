// Worker thread: the "application" of the fallback-latency measurement, after the switch
// to PostgreSQL. Inserts tasks rows at a steady rate, each its own transaction
// (autocommit), and records per row its id (RETURNING) and the Date.now() taken just
// before the INSERT was sent. A single-row transaction takes a round trip and a WAL flush
// (about 0.7 ms on an idle machine, ten times that on a busy one), so the writes are
// spread over connections as an application's pool would: one more is opened, up to
// `maxConnections`, whenever a write is due and every connection is busy. Runs on its own
// thread so that the SQLite poller cannot delay it.
import { parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { writesDue } from './util.mjs';

const { url, rate, durationMs, users, maxConnections } = workerData;
const clients = [];
async function connect() {
  // Not liteshift…: the fallback's capture ignores liteshift's own sessions.
  const client = new pg.Client({ connectionString: url, application_name: 'bench-app' });
  clients.push(client);
  await client.connect();
  return client;
}
const insert = (i) => ({
  name: 'fallback-latency-insert',
  text: `INSERT INTO tasks (user_id, title, description, status, priority, completed, created_at, updated_at)
         VALUES ($1, $2, 'Written on PostgreSQL after the switch, one row per transaction.', 'pending', 2, false, now(), now()) RETURNING id`,
  values: [(i % users) + 1, `Fallback task ${i}`],
});

const free = [await connect()];
const inFlight = new Set();
const ids = [];
const sentAt = [];
let written = 0;
let errors = 0;
let firstError = null;
let maxBehind = 0;
const started = performance.now();
for (;;) {
  const elapsed = performance.now() - started;
  if (elapsed >= durationMs) break;
  const due = writesDue(elapsed, rate, durationMs);
  maxBehind = Math.max(maxBehind, due - written);
  if (written < due && free.length === 0 && clients.length < maxConnections) free.push(await connect());
  while (written < due && free.length > 0) {
    const client = free.pop();
    const t = Date.now();
    const write = client
      .query(insert(written))
      .then(
        (r) => {
          ids.push(Number(r.rows[0].id));
          sentAt.push(t);
        },
        (error) => {
          errors++;
          firstError ??= String(error.message);
        },
      )
      .finally(() => {
        inFlight.delete(write);
        free.push(client);
      });
    inFlight.add(write);
    written++;
  }
  await sleep(1);
}
await Promise.all(inFlight);
const elapsedMs = performance.now() - started;
await Promise.all(clients.map((c) => c.end()));
parentPort.postMessage({ written, errors, firstError, elapsedMs, maxBehind, connections: clients.length, ids, sentAt });
