import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, expectCleanFailure, runCli } from './helpers/cli.js';
import { compareAllRows, describeDifferences } from './helpers/compare.js';
import { expectNoOffsetAppliedTwice, until } from './helpers/fault-pipeline.js';
import { MigratedSqlite } from './helpers/migrated-sqlite.js';
import { withClient } from './helpers/postgres.js';
import { Service } from './helpers/services.js';

/*
 * export-sqlite when things go wrong: the SQLite applier SIGKILLed mid-way and restarted
 * (nothing lost, nothing applied twice), and bad input (PostgreSQL unreachable, a file
 * locked or not SQLite, a value SQLite cannot hold) refused with one line, exit 2.
 */

/** Position the applier holds in the file: messages applied, summed over every reverse topic-partition. */
function appliedInFile(path: string): number {
  if (!existsSync(path)) return 0;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const present = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = '_liteshift_reverse_offsets'").get();
    return present ? Number(db.prepare('SELECT coalesce(sum(next_offset), 0) FROM _liteshift_reverse_offsets').pluck().get()) : 0;
  } finally {
    db.close();
  }
}

function count(path: string, table: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Hash-free fingerprint of a file's rows: every table's rows as quote() gives them, in rowid order. */
function contents(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    return tables.map((t) => JSON.stringify(db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).raw(true).all(), (_k, v) => (typeof v === 'bigint' ? String(v) : v))).join('\n');
  } finally {
    db.close();
  }
}

describe('export-sqlite: the applier SIGKILLed mid-way, then restarted', () => {
  const demo = new MigratedSqlite('back_kill');

  beforeAll(
    () =>
      demo.create({ users: 2000, tasks: 120_000, recurringPatterns: 2000 }, (path) => {
        // A table without a primary key: keyed by rowid, where a blind insert would double rows.
        const db = new Database(path);
        db.exec('CREATE TABLE events (at TEXT, what TEXT)');
        db.prepare("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) INSERT INTO events SELECT datetime(1700000000 + i * 60, 'unixepoch'), 'event ' || i FROM n").run();
        db.close();
      }),
    400_000,
  );
  afterAll(() => demo.destroy());

  it('resumes at the position the file holds: every row once, READY', async () => {
    const back = join(demo.dir, 'back.db');
    const total = await withClient(demo.url, async (pg) => {
      const r = await pg.query<{ n: string }>('SELECT ((SELECT count(*) FROM users) + (SELECT count(*) FROM tasks) + (SELECT count(*) FROM recurring_patterns) + (SELECT count(*) FROM events))::text AS n');
      return Number(r.rows[0]!.n);
    });
    const env = { LOG_LEVEL: 'info' };
    const args = demo.exportArgs(back).slice(1);
    const first = new Service('export', ['export-sqlite', ...args], env);
    let lock: Database.Database | null = null;
    let killedAt = 0;
    try {
      await until('the applier a quarter of the way through the snapshot', () => first.running && appliedInFile(back) > total / 4, 240_000, 20);
      // Holding the write lock stops the applier between two batches, for as long as it takes to kill it.
      lock = new Database(back);
      lock.exec('BEGIN IMMEDIATE');
      killedAt = Number(lock.prepare('SELECT sum(next_offset) FROM _liteshift_reverse_offsets').pluck().get());
      first.kill();
      await first.whenExited();
    } finally {
      if (lock?.inTransaction) lock.exec('ROLLBACK');
      lock?.close();
      first.kill();
    }
    expect(killedAt, first.describe()).toBeGreaterThan(0);
    expect(killedAt, 'the applier finished before it was killed').toBeLessThan(total);
    expect(first.stdout).not.toMatch(/verdict/);
    expect(appliedInFile(back)).toBe(killedAt);

    const second = new Service('export-resume', ['apply-sqlite', '--json', '--sqlite-path', back, '--kafka-brokers', demo.brokers, '--topic-prefix', demo.prefix], env);
    expect(await second.whenExited(), second.describe()).toBe(0);
    const applied = (JSON.parse(second.stdout) as { applied: { messages: number; upserted: number } }).applied;
    // Exactly what the killed run had not committed: nothing applied twice, nothing skipped.
    expect(applied.messages).toBe(total - killedAt);
    expect(applied.upserted).toBe(total - killedAt);
    expect(appliedInFile(back)).toBe(total);
    expectNoOffsetAppliedTwice([first, second], ['export']);

    for (const table of ['users', 'tasks', 'recurring_patterns', 'events']) {
      const pgCount = await withClient(demo.url, async (pg) => Number((await pg.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]!.n));
      expect(count(back, table), table).toBe(pgCount);
    }
    expect(describeDifferences(await compareAllRows(back, demo.url))).toBe('');
    const verify = await runCli(['verify', '--sqlite-path', back, '--postgres-url', demo.url]);
    expect(verify.code, describeRun(verify)).toBe(0);
    expect(verify.stdout).toMatch(/verdict: READY/);
  }, 400_000);
});

describe('export-sqlite: bad input is refused with one line, exit 2, and the file is left as it was', () => {
  const demo = new MigratedSqlite('back_bad');
  let source: string;
  const exportArgs = (path: string) => demo.exportArgs(path);

  beforeAll(async () => {
    await demo.create({ users: 20, tasks: 200, recurringPatterns: 10 });
    source = demo.sqlitePath;
  }, 240_000);
  afterAll(() => demo.destroy());

  it('PostgreSQL unreachable: says where, never the password', async () => {
    const unreachable = exportArgs(source).map((arg) => (arg === demo.url ? 'postgres://app:Sup3rS3cret@127.0.0.1:1/app' : arg));
    const line = expectCleanFailure(await runCli(unreachable), ['Sup3rS3cret']);
    expect(line).toMatch(/cannot connect to PostgreSQL at 127\.0\.0\.1:1\/app/);
  });

  it('a file that is not SQLite', async () => {
    const notes = join(demo.dir, 'notes.txt');
    writeFileSync(notes, 'these are my notes, not a database\n');
    expect(expectCleanFailure(await runCli(exportArgs(notes)))).toMatch(/notes\.txt is not a SQLite database/);
  });

  it('a file another connection keeps locked: said after the busy timeout, nothing written', async () => {
    const before = contents(source);
    const holder = new Database(source);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const run = await runCli(exportArgs(source));
      expect(expectCleanFailure(run)).toMatch(/todo\.db is locked by another connection \(still busy after 5 s\)/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(contents(source)).toBe(before);
  });

  it('a file that still has liteshift\'s change capture: says how to remove it', async () => {
    const captured = join(demo.dir, 'captured.db');
    const db = new Database(captured);
    db.exec('CREATE TABLE _liteshift_changelog (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT, op TEXT, k1)');
    db.close();
    expect(expectCleanFailure(await runCli(exportArgs(captured)))).toMatch(/still has liteshift's change capture installed \(.*liteshift uninstall/);
  });

  it('rows PostgreSQL refused during the migration (liteshift.rejects) are in the file only: exporting would delete them, refused', async () => {
    const before = contents(source);
    await withClient(demo.url, (pg) => pg.query(`INSERT INTO liteshift.rejects (table_name, key, column_name, value, reason) VALUES ('tasks', '[13]', 'title', 'x', 'a test reject')`));
    try {
      expect(expectCleanFailure(await runCli(exportArgs(source)))).toMatch(/liteshift\.rejects holds rows PostgreSQL refused during the migration, which the file still has: tasks \(1\); exporting would delete them/);
      expect(contents(source)).toBe(before);
    } finally {
      await withClient(demo.url, (pg) => pg.query('DELETE FROM liteshift.rejects'));
    }
  });

  it('a value SQLite cannot hold as its column declares: reported with its key, nothing written', async () => {
    const before = contents(source);
    await withClient(demo.url, (pg) => pg.query("UPDATE tasks SET due_date = 'infinity' WHERE id = 42"));
    try {
      const line = expectCleanFailure(await runCli(exportArgs(source)));
      expect(line).toMatch(/1 value\(s\) on PostgreSQL cannot be written into SQLite as their columns declare; nothing was written to the file\. First: tasks key \(42\) due_date = infinity/);
      expect(contents(source)).toBe(before);
    } finally {
      await withClient(demo.url, (pg) => pg.query("UPDATE tasks SET due_date = '2025-01-01 09:00:00' WHERE id = 42"));
    }
  });
});
