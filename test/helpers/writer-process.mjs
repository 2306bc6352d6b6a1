#!/usr/bin/env node
// The application, as far as the live-capture tests are concerned: a process that keeps
// writing small transactions to every table of the demo Todo database until SIGTERM.
//
//   node test/helpers/writer-process.mjs <sqlite-path> [--rate <writes/s>] [--seed <n>]
//
// Plain ESM JavaScript (no TypeScript runner is installed), spawned with `node`.
// Every transaction is one "write". A write SQLite takes counts as accepted; a write
// SQLite refuses (the cutover fence, SQLITE_BUSY, …) counts as refused and its message is
// kept. The data stays foreign-key consistent, so the target's foreign keys validate at
// cutover: foreign_keys is ON (better-sqlite3's default), every cascade is also done by
// hand (as an application on a connection with foreign_keys off would), and key changes
// defer the checks to the commit, moving the children in the same transaction.
//
// stdout, one JSON object a line:
//   {"type":"ready", …}                    once the database is open
//   {"type":"progress","accepted":n,…}     about every 250 ms
//   {"type":"summary", …}                  on SIGTERM/SIGINT, then exit 0
import Database from 'better-sqlite3';
import { mulberry32 } from '@liteshift/shared';

function parseArgs(argv) {
  const out = { path: null, rate: 100, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--rate') out.rate = Number(argv[++i]);
    else if (arg === '--seed') out.seed = Number(argv[++i]);
    else if (!out.path) out.path = arg;
    else throw new Error(`unexpected argument ${arg}`);
  }
  if (!out.path) throw new Error('usage: writer-process.mjs <sqlite-path> [--rate <writes/s>] [--seed <n>]');
  if (!(out.rate > 0)) throw new Error(`--rate must be > 0, got ${out.rate}`);
  if (!Number.isInteger(out.seed)) throw new Error(`--seed must be an integer, got ${out.seed}`);
  return out;
}

const options = parseArgs(process.argv.slice(2));

const random = mulberry32(options.seed * 7919 + 17);
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const chance = (p) => random() < p;
const pick = (items) => items[Math.floor(random() * items.length)];

// What naive escaping (COPY text, CSV, SQL literals, JSON) gets wrong, and non-ASCII text.
const TRICKY = [
  'tab\there', 'new\nline', 'carriage\r\nreturn', "it's quoted", 'say "hi"', 'back\\slash', '\\N', '\\x41',
  'comma, semicolon; pipe |', 'crème brûlée', 'Jürgen Weiß', '山田 太郎', 'Дмитрий', 'emoji 🚀✅', 'zero\u200bwidth',
  '  leading and trailing  ', '', 'NULL', "'; DROP TABLE tasks; --", 'ends with backslash\\',
];
const WORDS = ['buy', 'milk', 'call', 'mom', 'review', 'PR', 'deploy', 'v2', 'pay', 'rent', 'plan', 'trip', 'to', 'Kyoto', 'café'];
const text = (maxWords = 6) => {
  const parts = [];
  for (let n = int(1, maxWords); n > 0; n--) parts.push(chance(0.25) ? pick(TRICKY) : pick(WORDS));
  return parts.join(chance(0.2) ? '\t' : ' ');
};
const pad2 = (n) => String(n).padStart(2, '0');
const timestamp = () => `${int(2023, 2026)}-${pad2(int(1, 12))}-${pad2(int(1, 28))} ${pad2(int(0, 23))}:${pad2(int(0, 59))}:${pad2(int(0, 59))}`;
const date = () => `${int(2023, 2026)}-${pad2(int(1, 12))}-${pad2(int(1, 28))}`;
const FREQUENCIES = ['daily', 'weekly', 'monthly', 'yearly'];
const STATUSES = ['pending', 'in_progress', 'done'];

const db = new Database(options.path);
db.pragma('busy_timeout = 5000');
db.pragma('journal_mode = WAL');
db.pragma('foreign_keys = ON');

const summary = {
  type: 'summary',
  seed: options.seed,
  rate: options.rate,
  accepted: 0,
  refused: 0,
  /** Accepted writes per kind of operation. */
  ops: {},
  /** Distinct refusal messages with how often each came. */
  refusals: {},
  firstRefusal: null,
  lastRefusal: null,
  /** Ids the writer deleted (never reused: new ids always go above every id the table ever had). */
  deleted: { users: [], tasks: [], recurring_patterns: [] },
  /** Primary-key changes: UPDATE … SET id = <to> WHERE id = <from>. */
  pkChanges: [],
  /** Ids the writer inserted. */
  inserted: { users: [], tasks: [], recurring_patterns: [] },
  startedAt: new Date().toISOString(),
  stoppedAt: null,
};

let unique = 0;
const token = () => `w${options.seed}x${Date.now().toString(36)}x${(unique++).toString(36)}`;

const one = (sql, ...params) => db.prepare(sql).get(...params);
const all = (sql, ...params) => db.prepare(sql).all(...params);
const run = (sql, ...params) => db.prepare(sql).run(...params);

function randomId(table) {
  // A random existing row, cheap on a rowid table: the first id at or above a random point.
  const bounds = one(`SELECT min(id) AS lo, max(id) AS hi FROM ${table}`);
  if (bounds.lo === null) return null;
  const at = int(bounds.lo, bounds.hi);
  return one(`SELECT id FROM ${table} WHERE id >= ? ORDER BY id LIMIT 1`, at)?.id ?? bounds.lo;
}

/** An id above every id `table` ever had, reserved in sqlite_sequence so AUTOINCREMENT never hands it out again. */
function freshId(table) {
  const seq = one('SELECT seq FROM sqlite_sequence WHERE name = ?', table)?.seq ?? 0;
  const max = one(`SELECT max(id) AS m FROM ${table}`).m ?? 0;
  const id = Math.max(seq, max) + int(1, 25);
  run('UPDATE sqlite_sequence SET seq = ? WHERE name = ?', id, table);
  return id;
}

function insertUser() {
  const t = token();
  const info = run(
    `INSERT INTO users (email, username, hashed_password, full_name, is_active, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    `${t}@example.com`, `user_${t}`, `$2b$12$${t.padEnd(53, '.')}`, chance(0.2) ? null : text(3), chance(0.9) ? 1 : 0, timestamp(),
    chance(0.5) ? null : timestamp(),
  );
  summary.inserted.users.push(Number(info.lastInsertRowid));
}

function insertPattern() {
  const user = randomId('users');
  if (user === null) return insertUser();
  const frequency = pick(FREQUENCIES);
  const info = run(
    `INSERT INTO recurring_patterns (user_id, frequency, interval, days_of_week, day_of_month, start_date, end_date, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    user, frequency, int(1, 4), frequency === 'weekly' ? 'MO,WE' : null, frequency === 'monthly' ? int(1, 28) : null, date(),
    chance(0.6) ? null : date(), timestamp(),
  );
  summary.inserted.recurring_patterns.push(Number(info.lastInsertRowid));
}

function insertTask() {
  let user = randomId('users');
  if (user === null) return insertUser();
  let pattern = null;
  if (chance(0.2)) {
    const p = one('SELECT id, user_id FROM recurring_patterns WHERE id = ?', randomId('recurring_patterns') ?? -1);
    // A recurring task belongs to whoever owns its pattern.
    if (p) [pattern, user] = [p.id, p.user_id];
  }
  const done = chance(0.3);
  const info = run(
    `INSERT INTO tasks (user_id, recurring_pattern_id, title, description, status, priority, due_date, completed, completed_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    user, pattern, text(4), chance(0.3) ? null : text(12), done ? 'done' : pick(STATUSES.slice(0, 2)), int(1, 4),
    chance(0.3) ? null : timestamp(), done ? 1 : 0, done ? timestamp() : null, timestamp(), timestamp(),
  );
  summary.inserted.tasks.push(Number(info.lastInsertRowid));
}

// Updates of a few random columns each, NULLs and booleans included.
const TASK_COLUMNS = {
  title: () => text(4),
  description: () => (chance(0.3) ? null : text(15)),
  status: () => pick(STATUSES),
  priority: () => int(1, 4),
  due_date: () => (chance(0.4) ? null : timestamp()),
  completed: () => (chance(0.5) ? 1 : 0),
  completed_at: () => (chance(0.5) ? null : timestamp()),
  updated_at: () => timestamp(),
};
const USER_COLUMNS = {
  full_name: () => (chance(0.3) ? null : text(3)),
  is_active: () => (chance(0.5) ? 1 : 0),
  updated_at: () => (chance(0.3) ? null : timestamp()),
  hashed_password: () => `$2b$12$${token().padEnd(53, '/')}`,
  email: () => `${token()}@example.org`,
};
const PATTERN_COLUMNS = {
  frequency: () => pick(FREQUENCIES),
  interval: () => int(1, 6),
  days_of_week: () => (chance(0.5) ? null : 'TU,TH'),
  day_of_month: () => (chance(0.5) ? null : int(1, 28)),
  end_date: () => (chance(0.5) ? null : date()),
};

function updateRandomColumns(table, columns) {
  const id = randomId(table);
  if (id === null) return false;
  const names = Object.keys(columns).filter(() => chance(0.4));
  if (names.length === 0) names.push(pick(Object.keys(columns)));
  run(`UPDATE ${table} SET ${names.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`, ...names.map((c) => columns[c]()), id);
  return true;
}

/** A value moving from one row to another (transiently duplicate for a consumer applying in another order). */
function moveEmail() {
  const a = randomId('users');
  const b = randomId('users');
  if (a === null || b === null || a === b) return false;
  const old = one('SELECT email FROM users WHERE id = ?', a).email;
  run('UPDATE users SET email = ? WHERE id = ?', `${token()}@example.net`, a);
  run('UPDATE users SET email = ? WHERE id = ?', old, b);
  return true;
}

function deleteTask() {
  const id = randomId('tasks');
  if (id === null) return false;
  run('DELETE FROM tasks WHERE id = ?', id);
  summary.deleted.tasks.push(id);
  return true;
}

function deletePattern() {
  const id = randomId('recurring_patterns');
  if (id === null) return false;
  run('UPDATE tasks SET recurring_pattern_id = NULL WHERE recurring_pattern_id = ?', id); // ON DELETE SET NULL
  run('DELETE FROM recurring_patterns WHERE id = ?', id);
  summary.deleted.recurring_patterns.push(id);
  return true;
}

function deleteUser() {
  const id = randomId('users');
  if (id === null) return false;
  // ON DELETE CASCADE, by hand.
  const tasks = all('SELECT id FROM tasks WHERE user_id = ?', id).map((r) => r.id);
  const patterns = all('SELECT id FROM recurring_patterns WHERE user_id = ?', id).map((r) => r.id);
  run('DELETE FROM tasks WHERE user_id = ?', id);
  // Tasks of other users pointing at this user's patterns (cannot happen in this data, but stay consistent).
  run('UPDATE tasks SET recurring_pattern_id = NULL WHERE recurring_pattern_id IN (SELECT id FROM recurring_patterns WHERE user_id = ?)', id);
  run('DELETE FROM recurring_patterns WHERE user_id = ?', id);
  run('DELETE FROM users WHERE id = ?', id);
  summary.deleted.users.push(id);
  summary.deleted.tasks.push(...tasks);
  summary.deleted.recurring_patterns.push(...patterns);
  return true;
}

function changeTaskKey() {
  const from = randomId('tasks');
  if (from === null) return false;
  const to = freshId('tasks');
  run('UPDATE tasks SET id = ? WHERE id = ?', to, from);
  summary.pkChanges.push({ table: 'tasks', from, to });
  return true;
}

function changeUserKey() {
  const from = randomId('users');
  if (from === null) return false;
  const to = freshId('users');
  run('UPDATE users SET id = ? WHERE id = ?', to, from);
  // The children move along (ON UPDATE CASCADE, by hand), in the same transaction.
  run('UPDATE tasks SET user_id = ? WHERE user_id = ?', to, from);
  run('UPDATE recurring_patterns SET user_id = ? WHERE user_id = ?', to, from);
  summary.pkChanges.push({ table: 'users', from, to });
  return true;
}

function changePatternKey() {
  const from = randomId('recurring_patterns');
  if (from === null) return false;
  const to = freshId('recurring_patterns');
  run('UPDATE recurring_patterns SET id = ? WHERE id = ?', to, from);
  run('UPDATE tasks SET recurring_pattern_id = ? WHERE recurring_pattern_id = ?', to, from);
  summary.pkChanges.push({ table: 'recurring_patterns', from, to });
  return true;
}

/** [weight, name, operation]; deletes stay rarer than inserts so the tables do not shrink away. */
const OPERATIONS = [
  [14, 'insert task', insertTask],
  [4, 'insert user', insertUser],
  [3, 'insert pattern', insertPattern],
  [24, 'update task', () => updateRandomColumns('tasks', TASK_COLUMNS)],
  [8, 'update user', () => updateRandomColumns('users', USER_COLUMNS)],
  [5, 'update pattern', () => updateRandomColumns('recurring_patterns', PATTERN_COLUMNS)],
  [2, 'move email', moveEmail],
  [8, 'delete task', deleteTask],
  [2, 'delete pattern', deletePattern],
  [1, 'delete user', deleteUser],
  [4, 'change task key', changeTaskKey],
  [1, 'change user key', changeUserKey],
  [1, 'change pattern key', changePatternKey],
  [4, 'batch', () => {
    // A transaction touching all three tables at once.
    insertTask();
    updateRandomColumns('users', USER_COLUMNS);
    updateRandomColumns('recurring_patterns', PATTERN_COLUMNS);
    deleteTask();
  }],
];
const TOTAL_WEIGHT = OPERATIONS.reduce((n, [w]) => n + w, 0);

function chooseOperation() {
  let roll = random() * TOTAL_WEIGHT;
  for (const op of OPERATIONS) {
    roll -= op[0];
    if (roll < 0) return op;
  }
  return OPERATIONS[0];
}

function writeOnce() {
  const [, name, operation] = chooseOperation();
  // What this transaction recorded is kept only if it commits.
  const mark = {
    deleted: Object.fromEntries(Object.entries(summary.deleted).map(([k, v]) => [k, v.length])),
    inserted: Object.fromEntries(Object.entries(summary.inserted).map(([k, v]) => [k, v.length])),
    pkChanges: summary.pkChanges.length,
  };
  try {
    // IMMEDIATE: take the write lock up front, as busy_timeout can wait for it (a deferred
    // transaction upgrading from read to write gets SQLITE_BUSY at once).
    db.transaction(() => {
      // Checked at COMMIT: a key change moves the parent and its children in one transaction.
      db.pragma('defer_foreign_keys = ON');
      operation();
    }).immediate();
    summary.accepted++;
    summary.ops[name] = (summary.ops[name] ?? 0) + 1;
  } catch (error) {
    for (const [k, n] of Object.entries(mark.deleted)) summary.deleted[k].length = n;
    for (const [k, n] of Object.entries(mark.inserted)) summary.inserted[k].length = n;
    summary.pkChanges.length = mark.pkChanges;
    const message = error instanceof Error ? error.message : String(error);
    summary.refused++;
    summary.refusals[message] = (summary.refusals[message] ?? 0) + 1;
    summary.lastRefusal = { at: new Date().toISOString(), operation: name, message, code: error?.code ?? null };
    summary.firstRefusal ??= summary.lastRefusal;
  }
}

let stopping = false;
let lastProgress = 0;
const started = Date.now();
let done = 0;

function progress(force = false) {
  const now = Date.now();
  if (!force && now - lastProgress < 250) return;
  lastProgress = now;
  process.stdout.write(`${JSON.stringify({ type: 'progress', accepted: summary.accepted, refused: summary.refused, lastRefusal: summary.lastRefusal?.message ?? null })}\n`);
}

function stop() {
  if (stopping) return;
  stopping = true;
}

function finish() {
  summary.stoppedAt = new Date().toISOString();
  try {
    db.close();
  } catch {
    // the summary matters more
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`, () => process.exit(0));
}

function tick() {
  if (stopping) return finish();
  // Catch up with the schedule (rate × elapsed), a bounded burst at a time so signals get through.
  const due = Math.floor(((Date.now() - started) / 1000) * options.rate);
  for (let burst = 0; done < due && burst < 50; burst++, done++) writeOnce();
  progress();
  setTimeout(tick, Math.max(1, Math.min(20, Math.floor(1000 / options.rate))));
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`${JSON.stringify({ type: 'ready', path: options.path, rate: options.rate, seed: options.seed, pid: process.pid })}\n`);
tick();
