import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { columnTypes } from '@liteshift/shared';
import { describeRun, migrateArgs, runCli } from './helpers/cli.js';
import { withClient } from './helpers/postgres.js';
import { MigrationTargets } from './helpers/targets.js';

/**
 * DATETIME text without an offset is what ORMs write for UTC: it lands as timestamptz with
 * the same instant, on a server whose time zone is not UTC (the test database's own
 * setting; the shared server's is never changed). Both ways the loader writes rows: COPY's
 * binary format (every column's type has one) and its text format (a numeric column makes
 * the table take it), where PostgreSQL would otherwise read naive text in the session's zone.
 */
describe('timestamps: naive DATETIME text lands as timestamptz, read as UTC', () => {
  const brokers = inject('kafkaBrokers');
  const targets = new MigrationTargets(inject('adminDatabaseUrl'), brokers);
  let dir: string;
  let path: string;

  /** What SQLite holds, as UTC instants: the naive text read as UTC, the text with an offset as it says. */
  const ROWS: [number, string, number][] = [
    [1, '2026-01-02 03:04:05', Date.UTC(2026, 0, 2, 3, 4, 5)],
    [2, '2026-03-29 01:30:00.123456', Date.UTC(2026, 2, 29, 1, 30, 0, 123) + 0.456],
    [3, '2026-07-01T23:59:59Z', Date.UTC(2026, 6, 1, 23, 59, 59)],
    [4, '2026-07-01 12:00:00+05:30', Date.UTC(2026, 6, 1, 6, 30, 0)],
    [5, '1999-12-31 18:30:00', Date.UTC(1999, 11, 31, 18, 30, 0)],
  ];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-timestamps-'));
    path = join(dir, 'app.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE plain (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
      CREATE TABLE priced (id INTEGER PRIMARY KEY, at DATETIME, amount NUMERIC(10,2) NOT NULL);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)
      INSERT INTO plain SELECT 100 + i, datetime(1767225600 + i * 3600, 'unixepoch'), datetime(1767225600 + i * 60, 'unixepoch') FROM c;`);
    const plain = db.prepare("INSERT INTO plain (id, at, created) VALUES (?, ?, '2026-01-01 00:00:00')");
    const priced = db.prepare('INSERT INTO priced (id, at, amount) VALUES (?, ?, 9.99)');
    for (const [id, text] of ROWS) {
      plain.run(id, text);
      priced.run(id, text);
    }
    db.close();
  });

  afterAll(async () => {
    await targets.dropAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A database whose sessions default to India's time zone (+05:30, no daylight saving). */
  const kolkataTarget = (label: string) => targets.create(label, { timezone: 'Asia/Kolkata' });

  /** Each row's instant in ms since the epoch (with the microseconds as a fraction), read by a session in the database's own zone. */
  async function instants(url: string, table: string): Promise<Map<number, number>> {
    return withClient(url, async (pg) => {
      expect((await pg.query('SHOW timezone')).rows[0].TimeZone).toBe('Asia/Kolkata');
      const { rows } = await pg.query<{ id: number; ms: string }>(`SELECT id::int, (extract(epoch FROM at) * 1000)::text AS ms FROM ${table} WHERE id < 100`);
      return new Map(rows.map((r) => [r.id, Number(r.ms)]));
    });
  }

  it('plan says timestamptz and why', async () => {
    const run = await runCli(['plan', '--sqlite-path', path]);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/--timestamps utc/);
    expect(run.stdout).toMatch(/--   at: DATETIME → timestamptz {2}\(declared DATETIME.*: timestamptz, the clock without an offset read as UTC; 2 text values with an offset keep their instant \(--timestamps naive keeps timestamp\)\)/);
    expect(run.stdout).toMatch(/--   created: TIMESTAMP → timestamptz /);
  });

  it('lands as timestamptz with the same instant, through binary and text COPY alike, with the server in another zone', async () => {
    const { url, prefix } = await kolkataTarget('ts-utc');
    const run = await runCli(migrateArgs({ sqlitePath: path, databaseUrl: url, brokers, prefix }), {}, 170_000);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/verdict: READY/);
    await withClient(url, async (pg) => {
      expect(Object.fromEntries(await columnTypes(pg, 'plain'))).toMatchObject({ at: 'timestamp with time zone', created: 'timestamp with time zone' });
      expect(Object.fromEntries(await columnTypes(pg, 'priced'))).toMatchObject({ at: 'timestamp with time zone' });
      // The bulk rows (binary COPY, the fast shape): 2026-01-01 00:00:00 UTC + i hours.
      const bulk = await pg.query<{ ok: boolean }>(
        `SELECT bool_and(at = timestamptz '2026-01-01 00:00:00+00' + (id - 100) * interval '1 hour') AS ok FROM plain WHERE id > 100`,
      );
      expect(bulk.rows[0]!.ok).toBe(true);
    });
    for (const table of ['plain', 'priced']) {
      const got = await instants(url, table);
      for (const [id, text, ms] of ROWS) expect(got.get(id), `${table} ${id}: ${text}`).toBeCloseTo(ms, 2);
    }
  }, 180_000);

  it('--timestamps naive keeps timestamp, the text as it is', async () => {
    const { url, prefix } = await kolkataTarget('ts-naive');
    const run = await runCli(migrateArgs({ sqlitePath: path, databaseUrl: url, brokers, prefix }, '--timestamps', 'naive'), {}, 170_000);
    expect(run.code, describeRun(run)).toBe(0);
    await withClient(url, async (pg) => {
      // Text with and without an offset side by side cannot be one timestamp: the column keeps text.
      expect(Object.fromEntries(await columnTypes(pg, 'plain'))).toMatchObject({ at: 'text', created: 'timestamp without time zone' });
    });
  }, 180_000);

  it('migrate again onto a target an earlier run made with timestamp: kept so and said; --timestamps convert converts it, same instants', async () => {
    const { url, prefix } = await kolkataTarget('ts-adopt');
    const source = join(dir, 'naive-only.db');
    const db = new Database(source);
    db.exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, seen DATETIME, note TEXT);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 500)
      INSERT INTO events SELECT i, datetime(1767225600 + i * 61, 'unixepoch'), CASE WHEN i % 3 THEN datetime(1767225600 + i, 'unixepoch') END, 'n' || i FROM c;`);
    db.close();
    const first = await runCli(migrateArgs({ sqlitePath: source, databaseUrl: url, brokers, prefix }, '--timestamps', 'naive'), {}, 170_000);
    expect(first.code, describeRun(first)).toBe(0);

    // The application adds a DATETIME column meanwhile: it must not land as the table's only timestamptz.
    const app = new Database(source);
    app.exec("ALTER TABLE events ADD COLUMN due DATETIME; UPDATE events SET due = '2026-02-01 10:00:00' WHERE id <= 10");
    app.close();
    const again = await runCli(migrateArgs({ sqlitePath: source, databaseUrl: url, brokers, prefix }), {}, 170_000);
    expect(again.code, describeRun(again)).toBe(0);
    expect(again.stdout).toMatch(/verdict: READY/);
    expect(again.stderr).toMatch(/kept timestamp columns an earlier run made/);
    await withClient(url, async (pg) => {
      expect(Object.fromEntries(await columnTypes(pg, 'events'))).toMatchObject({
        at: 'timestamp without time zone',
        seen: 'timestamp without time zone',
        due: 'timestamp without time zone',
      });
    });

    const converted = await runCli(migrateArgs({ sqlitePath: source, databaseUrl: url, brokers, prefix }, '--timestamps', 'convert'), {}, 170_000);
    expect(converted.code, describeRun(converted)).toBe(0);
    expect(converted.stdout).toMatch(/verdict: READY/);
    expect(converted.stderr).toMatch(/converted timestamp columns an earlier run made to timestamptz/);
    await withClient(url, async (pg) => {
      expect(Object.fromEntries(await columnTypes(pg, 'events'))).toMatchObject({
        at: 'timestamp with time zone',
        seen: 'timestamp with time zone',
        due: 'timestamp with time zone',
      });
      const { rows } = await pg.query<{ ok: boolean; due: string }>(
        `SELECT bool_and(at = to_timestamp(1767225600 + id * 61)) AS ok, max(due)::text AS due FROM events`,
      );
      expect(rows[0]).toEqual({ ok: true, due: '2026-02-01 15:30:00+05:30' });
    });
  }, 400_000);
});
