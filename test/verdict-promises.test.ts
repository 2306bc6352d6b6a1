import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, migrateArgs, runCli } from './helpers/cli.js';
import { compareAllRows, expectNoDifferences } from './helpers/compare.js';
import { withClient } from './helpers/postgres.js';
import { MigrationTargets } from './helpers/targets.js';
import { rewriteSchemaText } from './helpers/sqlite-schema.js';

/**
 * What READY promises: every table and column SQLite holds is in PostgreSQL, except what
 * the user left out by name, which the verdict lists. An Anki-like collection: a WITHOUT
 * ROWID table keyed by a collation only the application registers (`unicase`), beside
 * tables liteshift leaves out by design (a view, a full-text index and its shadow tables).
 */
describe('the verdict: nothing missing unless left out by name', () => {
  const brokers = inject('kafkaBrokers');
  const targets = new MigrationTargets(inject('adminDatabaseUrl'), brokers);
  let dir: string;
  let path: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-verdict-'));
    path = join(dir, 'collection.anki2');
    const db = new Database(path);
    // Written under NOCASE, whose order BINARY's differs from ('B' < 'a' < 'b' in BINARY), then renamed as the application's own.
    db.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, mid INTEGER NOT NULL, flds TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '');
      CREATE TABLE tags (tag TEXT NOT NULL COLLATE NOCASE PRIMARY KEY, usn INTEGER NOT NULL, collapsed BOOLEAN NOT NULL DEFAULT 0) WITHOUT ROWID;
      CREATE TABLE notetypes (id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE, config BLOB NOT NULL);
      CREATE UNIQUE INDEX idx_notetypes_name ON notetypes (name);
      CREATE TABLE graves (oid INTEGER NOT NULL, type INTEGER NOT NULL, usn INTEGER NOT NULL, PRIMARY KEY (oid, type)) WITHOUT ROWID;
      CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);
      CREATE VIEW recent AS SELECT id FROM notes WHERE id > 100;
      CREATE VIRTUAL TABLE search USING fts5(flds);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1500)
      INSERT INTO notes SELECT i, 1 + i % 3, 'front ' || i || char(31) || 'back', CASE WHEN i % 2 THEN ' Verb ' ELSE ' noun ' END FROM c;
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 700)
      INSERT INTO tags SELECT CASE i % 4 WHEN 0 THEN 'Tag' WHEN 1 THEN 'tag' WHEN 2 THEN 'ÉTÉ' ELSE 'été' END || '::' || i, i, i % 2 FROM c;
      INSERT INTO notetypes VALUES (1, 'Basic', x'0a01'), (2, 'Cloze', x'0a02'), (3, 'basic (reversed)', x'0a03');
      INSERT INTO graves VALUES (7, 0, -1), (8, 1, -1);
      INSERT INTO audit (what) VALUES ('opened'), ('synced');
      INSERT INTO search (flds) SELECT flds FROM notes WHERE id <= 50;`);
    db.close();
    rewriteSchemaText(path, 'COLLATE NOCASE', 'COLLATE unicase', ['tags', 'notetypes']);
  });

  afterAll(async () => {
    await targets.dropAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const target = (label: string) => targets.create(label);

  it('migrates the table keyed by the collation only the application has, every row, and says it was read from a copy', async () => {
    const { url, prefix } = await target('verdict-unicase');
    const run = await runCli(migrateArgs({ sqlitePath: path, databaseUrl: url, brokers, prefix }), {}, 170_000);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/verdict: READY \(5 tables/);
    expect(run.stdout).toMatch(/tags: its WITHOUT ROWID key compares with collation unicase, which only the application registers: read from a private copy/);
    // Views, the full-text index and its shadow tables stay out by design, and do not keep the verdict from READY.
    expect(run.stdout).not.toMatch(/search_(data|idx|content|docsize|config): in SQLite, not in PostgreSQL/);
    await withClient(url, async (pg) => {
      const { rows } = await pg.query<{ n: number; first: string; last: string }>(
        `SELECT count(*)::int AS n, min(tag COLLATE "C") AS first, max(tag COLLATE "C") AS last FROM tags`,
      );
      expect(rows[0]).toEqual({ n: 700, first: 'Tag::100', last: 'été::99' });
    });
    expectNoDifferences(await compareAllRows(path, url), 'anki-like collection');
  }, 180_000);

  it('a table SQLite cannot read even from a copy is NOT READY, named with why and the way out; --exclude-table makes it READY', async () => {
    const odd = join(dir, 'odd.anki2');
    const w = new Database(odd);
    // Its copy cannot be filled: the stored column is computed by the application's own function.
    w.function('app_fold', { deterministic: true }, (s: unknown) => String(s).toLowerCase());
    w.exec(`CREATE TABLE fields (name TEXT NOT NULL COLLATE NOCASE PRIMARY KEY, folded TEXT GENERATED ALWAYS AS (app_fold(name)) STORED, ord INTEGER) WITHOUT ROWID;
      CREATE TABLE notes (id INTEGER PRIMARY KEY, flds TEXT);
      INSERT INTO fields (name, ord) VALUES ('Front', 0), ('Back', 1);
      INSERT INTO notes (flds) VALUES ('a'), ('b');`);
    w.close();
    rewriteSchemaText(odd, 'COLLATE NOCASE', 'COLLATE unicase', ['fields']);

    const { url, prefix } = await target('verdict-unreadable');
    const run = await runCli(migrateArgs({ sqlitePath: odd, databaseUrl: url, brokers, prefix }), {}, 170_000);
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.stdout).toMatch(/verdict: NOT READY\n {2}- fields: in SQLite, not in PostgreSQL \(its WITHOUT ROWID key compares with collation unicase, .*\); leave it out on purpose with --exclude-table fields/);
    expect(run.stderr).toMatch(/no readable copy of this table/);

    const left = await runCli(migrateArgs({ sqlitePath: odd, databaseUrl: url, brokers, prefix }, '--exclude-table', 'fields'), {}, 170_000);
    expect(left.code, describeRun(left)).toBe(0);
    expect(left.stdout).toMatch(/verdict: READY \(1 tables[^\n]*\n {2}left out on purpose: table\(s\) fields \(--exclude-table\)/);
  }, 180_000);

  it('--exclude-table leaves a table out on purpose, and the verdict lists it', async () => {
    const { url, prefix } = await target('verdict-exclude');
    const run = await runCli(migrateArgs({ sqlitePath: path, databaseUrl: url, brokers, prefix }, '--exclude-table', 'audit', '--json'), {}, 170_000);
    expect(run.code, describeRun(run)).toBe(0);
    const result = JSON.parse(run.stdout) as { verdict: string; report: { excluded?: { tables: string[] } } };
    expect(result.verdict).toBe('READY');
    expect(result.report.excluded).toEqual({ tables: ['audit'], columns: [] });
    await withClient(url, async (pg) => {
      expect((await pg.query(`SELECT to_regclass('public.audit') AS t`)).rows[0].t).toBeNull();
    });
    const verify = await runCli(['verify', '--sqlite-path', path, '--postgres-url', url, '--exclude-table', 'audit']);
    expect(verify.code, describeRun(verify)).toBe(0);
    expect(verify.stdout).toContain('left out on purpose: table(s) audit (--exclude-table)');
    // Without the same exclusion, the table is missing: NOT READY.
    const strict = await runCli(['verify', '--sqlite-path', path, '--postgres-url', url]);
    expect(strict.code, describeRun(strict)).toBe(1);
    expect(strict.stdout).toMatch(/verdict: NOT READY\n {2}- audit: missing in PostgreSQL/);
  }, 180_000);

  it('a column in SQLite and not in PostgreSQL is NOT READY, whichever side changed; --exclude-column lists it instead', async () => {
    const { url, prefix } = await target('verdict-columns');
    const copy = join(dir, 'columns.anki2');
    rmSync(copy, { force: true });
    const source = new Database(path, { readonly: true });
    await source.backup(copy);
    source.close();
    const migrated = await runCli(migrateArgs({ sqlitePath: copy, databaseUrl: url, brokers, prefix }), {}, 170_000);
    expect(migrated.code, describeRun(migrated)).toBe(0);

    // The application adds a column after the migration (no capture running): the loader never saw it.
    const app = new Database(copy);
    app.exec("ALTER TABLE notes ADD COLUMN sfld TEXT; UPDATE notes SET sfld = 'sort ' || id WHERE id % 10 = 0");
    app.close();
    const added = await runCli(['verify', '--sqlite-path', copy, '--postgres-url', url]);
    expect(added.code, describeRun(added)).toBe(1);
    expect(added.stdout).toMatch(/verdict: NOT READY[\s\S]*notes: column\(s\) sfld in SQLite, not in PostgreSQL .*--exclude-column notes\.sfld/);
    expect(added.stdout).toMatch(/^notes .* DIFFERS$/m);

    const excluded = await runCli(['verify', '--sqlite-path', copy, '--postgres-url', url, '--exclude-column', 'notes.sfld']);
    expect(excluded.code, describeRun(excluded)).toBe(0);
    expect(excluded.stdout).toContain('left out on purpose: column(s) notes.sfld (--exclude-column)');

    // A column dropped in PostgreSQL: the rows are still compared on the others, and the verdict says which is missing.
    await withClient(url, (pg) => pg.query('ALTER TABLE graves DROP COLUMN usn'));
    const dropped = await runCli(['verify', '--sqlite-path', copy, '--postgres-url', url, '--exclude-column', 'notes.sfld', '--json']);
    expect(dropped.code, describeRun(dropped)).toBe(1);
    const report = JSON.parse(dropped.stdout) as { reasons: string[]; tables: { table: string; missingColumns?: string[]; content?: { changed: number } }[] };
    expect(report.reasons).toEqual([expect.stringMatching(/^graves: column\(s\) usn in SQLite, not in PostgreSQL/)]);
    expect(report.tables.find((t) => t.table === 'graves')).toMatchObject({ missingColumns: ['usn'], content: { changed: 0 } });
  }, 240_000);
});
