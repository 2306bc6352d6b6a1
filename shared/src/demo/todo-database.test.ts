import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTodoDatabase } from './todo-database.js';

const SMALL = { users: 200, tasks: 5000, recurringPatterns: 300 };

function open(path: string): Database.Database {
  return new Database(path, { readonly: true });
}

/** Every column of every row, in id order, so any changed value anywhere changes the digest. */
function checksum(path: string): string {
  const db = open(path);
  try {
    const hash = createHash('sha256');
    for (const table of ['users', 'recurring_patterns', 'tasks']) {
      for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY id`).raw().iterate()) hash.update(JSON.stringify(row));
    }
    return hash.digest('hex');
  } finally {
    db.close();
  }
}

describe('createTodoDatabase', () => {
  let dir: string;
  let path: string;
  const progress: [string, number, number][] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-todo-'));
    path = join(dir, 'todo.db');
    // Stale files from an earlier run must not leak into the new database.
    writeFileSync(path, 'not a database');
    writeFileSync(`${path}-wal`, 'garbage');
    const counts = createTodoDatabase(path, { ...SMALL, seed: 7, onProgress: (...args) => progress.push(args) });
    expect(counts).toEqual(SMALL);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the requested number of rows and reports progress', () => {
    const db = open(path);
    try {
      const count = (table: string): number => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      expect(count('users')).toBe(SMALL.users);
      expect(count('tasks')).toBe(SMALL.tasks);
      expect(count('recurring_patterns')).toBe(SMALL.recurringPatterns);
    } finally {
      db.close();
    }
    expect(progress).toContainEqual(['users', SMALL.users, SMALL.users]);
    expect(progress).toContainEqual(['recurring_patterns', SMALL.recurringPatterns, SMALL.recurringPatterns]);
    expect(progress).toContainEqual(['tasks', SMALL.tasks, SMALL.tasks]);
  });

  it('is in WAL mode, has the expected schema and only valid foreign keys', () => {
    const db = open(path);
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_key_check')).toEqual([]);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const indexes = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%' ORDER BY name")
        .pluck()
        .all();
      expect(indexes).toEqual(['ix_recurring_patterns_user_id', 'ix_tasks_due_date', 'ix_tasks_user_id']);
    } finally {
      db.close();
    }
  });

  it('keeps the data internally consistent', () => {
    const db = open(path);
    try {
      const scalar = (sql: string): unknown => db.prepare(sql).pluck().get();
      expect(scalar("SELECT count(*) FROM tasks WHERE completed = 1 AND (completed_at IS NULL OR status <> 'done')")).toBe(0);
      expect(scalar("SELECT count(*) FROM tasks WHERE completed = 0 AND (completed_at IS NOT NULL OR status = 'done')")).toBe(0);
      expect(scalar("SELECT count(*) FROM tasks WHERE typeof(completed) <> 'integer' OR typeof(priority) <> 'integer'")).toBe(0);
      expect(scalar("SELECT count(*) FROM users WHERE typeof(is_active) <> 'integer'")).toBe(0);
      expect(scalar("SELECT count(*) FROM users WHERE hashed_password NOT LIKE '$2b$12$%' OR length(hashed_password) <> 60")).toBe(0);
      expect(scalar("SELECT count(*) FROM tasks WHERE created_at NOT GLOB '202[345]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]'")).toBe(0);
      expect(scalar("SELECT count(*) FROM recurring_patterns WHERE start_date NOT GLOB '202[345]-[01][0-9]-[0-3][0-9]'")).toBe(0);
      expect(scalar('SELECT count(*) FROM tasks WHERE description IS NOT NULL AND length(description) NOT BETWEEN 40 AND 120')).toBe(0);
      expect(
        scalar('SELECT count(*) FROM tasks t JOIN recurring_patterns p ON p.id = t.recurring_pattern_id WHERE p.user_id <> t.user_id'),
      ).toBe(0);
      expect(scalar("SELECT count(*) FROM users WHERE full_name GLOB '*[^ -~]*'")).toBeGreaterThan(0);
      const nullShare = (sql: string): number => (scalar(sql) as number) / SMALL.tasks;
      expect(nullShare('SELECT count(*) FROM tasks WHERE due_date IS NULL')).toBeCloseTo(0.3, 1);
      expect(nullShare('SELECT count(*) FROM tasks WHERE description IS NULL')).toBeCloseTo(0.25, 1);
      expect(nullShare('SELECT count(*) FROM tasks WHERE recurring_pattern_id IS NULL')).toBeCloseTo(0.9, 1);
    } finally {
      db.close();
    }
  });

  it('includes descriptions with characters that naive escaping mangles', () => {
    const db = open(path);
    try {
      const containing = (ch: string): number =>
        db.prepare('SELECT count(*) FROM tasks WHERE instr(description, ?) > 0').pluck().get(ch) as number;
      expect(containing('\t')).toBeGreaterThan(0);
      expect(containing('\n')).toBeGreaterThan(0);
      expect(containing('\\')).toBeGreaterThan(0);
      expect(containing("'")).toBeGreaterThan(0);
      expect(containing('"')).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const same = join(dir, 'same.db');
    const other = join(dir, 'other.db');
    createTodoDatabase(same, { ...SMALL, seed: 7 });
    createTodoDatabase(other, { ...SMALL, seed: 8 });
    // Checked before any reader opens it: the main file alone must be the whole database.
    expect(existsSync(`${same}-wal`)).toBe(false);
    expect(checksum(same)).toBe(checksum(path));
    expect(checksum(other)).not.toBe(checksum(path));
  });

  it('rejects tasks without any user to own them', () => {
    expect(() => createTodoDatabase(join(dir, 'bad.db'), { users: 0, tasks: 1, recurringPatterns: 0 })).toThrow(RangeError);
  });
});
