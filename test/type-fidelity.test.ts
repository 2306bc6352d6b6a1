import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ReadableCopy,
  Rejection,
  mappingOptions,
  openSqlite,
  parseCasts,
  quoteIdent,
  readSchema,
  sqliteReadExpr,
  toPgText,
  rowidName,
  type MappingOptions,
  type SqlValue,
  type TableModel,
} from '@liteshift/shared';
import { describeRun, repoRoot, runCli } from './helpers/cli.js';
import { compareAllRows, describeDifferences, expectNoDifferences } from './helpers/compare.js';
import { deleteTopicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { createTestDatabase, withClient, type TestDatabase } from './helpers/postgres.js';
import { BULK_ROWS, FOREIGN_COLLATION, writeFidelityDatabase } from './helpers/fidelity-db.js';

/**
 * Type fidelity end to end (`liteshift migrate` through the real broker and PostgreSQL):
 * a generated database holding every case migrates with every row equal on both sides,
 * and with --on-misfit reject, --cast and --fold-identifiers each refused row is in
 * liteshift.rejects with its reason while every other row is equal.
 */
describe('type fidelity', () => {
  const brokers = inject('kafkaBrokers');
  const adminUrl = inject('adminDatabaseUrl');
  let workDir: string;
  let path: string;
  const databases: TestDatabase[] = [];
  const prefixes: string[] = [];

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'liteshift-fidelity-'));
    path = join(workDir, 'fidelity.db');
    writeFidelityDatabase(path);
  });

  afterAll(async () => {
    for (const db of databases) await db.drop();
    for (const prefix of prefixes) await deleteTopicsWithPrefix(brokers, prefix);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  async function migrate(label: string, extra: string[] = []): Promise<{ run: Awaited<ReturnType<typeof runCli>>; target: TestDatabase }> {
    const target = await createTestDatabase(adminUrl, label);
    databases.push(target);
    const prefix = uniquePrefix(label);
    prefixes.push(prefix);
    const run = await runCli(
      ['migrate', '--sqlite-path', path, '--postgres-url', target.url, '--kafka-brokers', brokers, '--topic-prefix', prefix, '--chunk-rows', '500', ...extra],
      {},
      170_000,
    );
    return { run, target };
  }

  it('plan prints the mapping of every column with its reason, and every notice', async () => {
    const run = await runCli(['plan', '--sqlite-path', path]);
    expect(run.code, describeRun(run)).toBe(0);
    const out = run.stdout;
    const lines = [
      /--   epoch_ms: DATETIME → timestamptz {2}\(declared DATETIME, integers are Unix epochs in milliseconds \(1969-12-31 to 2023-11-14\), read as UTC: timestamptz, the clock without an offset read as UTC \(--timestamps naive keeps timestamp\)\)/,
      /--   epoch_s: DATETIME → timestamptz {2}\(declared DATETIME, integers are Unix epochs in seconds/,
      /--   iso: DATETIME → timestamptz /,
      /--   isotz: TIMESTAMP → timestamptz {2}\(declared TIMESTAMP, every text value carries a time zone\)/,
      /--   ymd: DATE → bigint {2}\(declared DATE but holds 3 integers that read as YYYYMMDD/,
      /--   bad: DATETIME → text {2}\(declared DATETIME but holds 2 text values that are not ISO-8601 timestamps, stores 3 text \+ 1 NULL/,
      /--   bad: TEXT → bytea {2}\(declared TEXT but holds 3 text values with a NUL byte or bytes that are not UTF-8/,
      /--   num: INTEGER → text {2}\(declared INTEGER but holds 2 text value\(s\), stores \d+ integer \+ 2 text/,
      /--   anything: \(none\) → bytea {2}\(no declared type, stores \d+ integer \+ \d+ real \+ \d+ text \+ \d+ blob/,
      /--   mixbig: \(none\) → numeric {2}\(no declared type, .*integers beyond 2\^53/,
      /--   btf: BOOLEAN → boolean/,
      /--   tiny: TINYINT UNSIGNED → bigint/,
      /--   shape: POINT → bytea/,
      /--   yr: YEAR → bigint/,
      /--   memo: LONGVARCHAR → text/,
      /--   id: INTEGER → bigint {2}\(declared INTEGER, every value is an integer\)/,
    ];
    for (const line of lines) expect(out).toMatch(line);
    // Every notice of the model, skipped objects included, is printed.
    const db = openSqlite(path, { readonly: true });
    // As the plan reads it: the table SQLite cannot read here from its readable copy.
    const copy = await ReadableCopy.attach(db);
    try {
      const model = readSchema(db);
      expect(model.notices.length).toBeGreaterThan(20);
      for (const n of model.notices) expect(out).toContain(`[${n.level}] ${[n.table, n.column].filter(Boolean).join('.')}: ${n.message}`);
      for (const name of ['parent_names', 'child_touch', 'docs', 'docs_content', 'boxes', 'boxes_node']) {
        expect(model.skipped.map((s) => s.name)).toContain(name);
      }
      expect(model.tables.find((t) => t.name === 'tags')?.readFromCopy).toBe(true);
    } finally {
      copy?.close();
      db.close();
    }
  });

  it('migrate (values that do not fit widen the column): READY, no reject, every row and column equal', async () => {
    // The generated column only the application can compute is left out on purpose, and said so.
    const { run, target } = await migrate('fidelity-widen', ['--exclude-column', 'gen.v']);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/Verified:\s+READY/);
    expect(run.stdout).toContain('left out on purpose: column(s) gen.v (--exclude-column)');
    // The warnings of the plan reach the migration's summary too.
    expect(run.stdout).toContain(`collation ${FOREIGN_COLLATION} is the application's own`);
    expect(run.stdout).toMatch(/tags: its WITHOUT ROWID key compares with collation myapp_nocase, which only the application registers: read from a private copy/);

    const tables = await compareAllRows(path, target.url);
    expectNoDifferences(tables, 'fidelity (widen)');
    expect(tables.find((t) => t.table === 'mixed')?.sqliteCount).toBe(BULK_ROWS + 6);

    await withClient(target.url, async (pg) => {
      expect((await pg.query('SELECT count(*)::int AS n FROM liteshift.rejects')).rows[0].n).toBe(0);
      const one = async (sql: string): Promise<Record<string, unknown>> => (await pg.query(sql)).rows[0] as Record<string, unknown>;
      // Integers at both ends of int64, and beyond 2^53 beside reals, exactly.
      expect(await one(`SELECT big::text, mixbig::text FROM numbers WHERE id = 9223372036854775807`)).toEqual({ big: '9223372036854775807', mixbig: '9007199254740993' });
      expect(await one(`SELECT big::text FROM numbers WHERE id = -9223372036854775808`)).toEqual({ big: '-9223372036854775808' });
      // Epochs as UTC timestamps; whole-day epochs as dates.
      expect(await one(`SELECT (epoch_s AT TIME ZONE 'UTC')::text AS epoch_s, (epoch_ms AT TIME ZONE 'UTC')::text AS epoch_ms, day::text, isotz::text FROM times WHERE id = 1`)).toEqual({
        epoch_s: '2023-11-14 22:13:20',
        epoch_ms: '2023-11-14 22:13:20.123',
        day: '2024-01-01',
        isotz: '2024-01-31 23:59:59+00',
      });
      expect(await one(`SELECT (epoch_ms AT TIME ZONE 'UTC')::text AS epoch_ms FROM times WHERE id = 3`)).toEqual({ epoch_ms: '1969-12-31 23:59:59.999' });
      // Bytes survive: not UTF-8, NUL, and '' beside NULL.
      expect(await one(`SELECT encode(bad, 'hex') AS bad, encode(nul, 'hex') AS nul FROM texts WHERE id = 1`)).toEqual({ bad: '61ff62', nul: '610062' });
      expect(await one(`SELECT empty IS NULL AS isnull, octet_length(empty) AS len FROM mixed WHERE id = 1000`)).toEqual({ isnull: false, len: 0 });
      expect(await one(`SELECT empty IS NULL AS isnull FROM mixed WHERE id = 1001`)).toEqual({ isnull: true });
      expect(await one(`SELECT "Mixed Case" AS v FROM "select" WHERE "from" = 3`)).toEqual({ v: '' });
      expect(await one(`SELECT btf, bword FROM flags WHERE id = 2`)).toEqual({ btf: false, bword: false });
      // Names as SQLite has them: reserved words, spaces, quotes, case.
      const columns = await pg.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'select' ORDER BY ordinal_position`,
      );
      expect(columns.rows.map((r) => r.column_name)).toEqual(['from', 'Mixed Case', 'quote"d', 'space col', 'order']);
      expect((await pg.query(`SELECT to_regclass('public."Weird ""Table"" Name"') IS NOT NULL AS ok`)).rows[0].ok).toBe(true);
      // Defaults translated: a double-quoted literal, the UTC clock.
      const defaults = await pg.query<{ column_name: string; column_default: string | null }>(
        `SELECT column_name, column_default FROM information_schema.columns WHERE (table_name, column_name) IN (('select', 'order'), ('times', 'created'), ('times', 'stamp'))`,
      );
      const byColumn = new Map(defaults.rows.map((r) => [r.column_name, r.column_default]));
      expect(byColumn.get('order')).toBe(`'it''s quoted'::text`);
      // datetime('now') in a timestamptz column is the clock itself.
      expect(byColumn.get('created')).toBe('CURRENT_TIMESTAMP');
      expect(byColumn.get('stamp')).toMatch(/to_char/);
      // The table keyed by the application's collation arrived (from its readable copy); the generated column it computes was left out.
      expect((await pg.query(`SELECT tag, n FROM tags`)).rows).toEqual([{ tag: 'x', n: '1' }]);
      expect((await pg.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'gen' AND column_name = 'v'`)).rows[0].n).toBe(0);
      // INTEGER PRIMARY KEY DESC is no identity; an INTEGER PRIMARY KEY is.
      const identities = await pg.query<{ table_name: string; is_identity: string }>(
        `SELECT table_name, is_identity FROM information_schema.columns WHERE (table_name, column_name) IN (('desc_key', 'id'), ('parent', 'id'))`,
      );
      expect(Object.fromEntries(identities.rows.map((r) => [r.table_name, r.is_identity]))).toEqual({ desc_key: 'NO', parent: 'YES' });
      // Foreign keys: orphans leave theirs NOT VALID (reported, never fatal); circular and self references; DEFERRABLE per constraint.
      const fks = await pg.query<{ conname: string; convalidated: boolean; condeferrable: boolean; condeferred: boolean }>(
        `SELECT conname, convalidated, condeferrable, condeferred FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace ORDER BY conname`,
      );
      expect(fks.rows).toEqual([
        { conname: 'child_other_id_fkey', convalidated: false, condeferrable: false, condeferred: false },
        { conname: 'child_parent_id_fkey', convalidated: false, condeferrable: true, condeferred: true },
        { conname: 'staff_boss_id_fkey', convalidated: true, condeferrable: false, condeferred: false },
        { conname: 'staff_store_id_fkey', convalidated: false, condeferrable: false, condeferred: false },
        { conname: 'store_manager_id_fkey', convalidated: true, condeferrable: true, condeferred: true },
      ]);
      // The application's collation is not PostgreSQL's: the column has none.
      expect((await pg.query(`SELECT collation_name FROM information_schema.columns WHERE table_name = 'people' AND column_name = 'name'`)).rows[0].collation_name).toBeNull();
    });
  }, 180_000);

  it('migrate --on-misfit reject --cast … --fold-identifiers lower: every refused row is in liteshift.rejects with its reason, every other row equal', async () => {
    const casts = ['numbers.amount=numeric(5,2)', '"select"."Mixed Case"=varchar(5); texts.json_doc=json; times.epoch_s=timestamptz'];
    const { run, target } = await migrate('fidelity-reject', [
      '--exclude-column', 'gen.v',
      '--on-misfit', 'reject',
      '--cast', casts[0]!,
      '--cast', casts[1]!,
      '--fold-identifiers', 'lower',
    ]);
    // Rows were refused: not READY, and it says where.
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.stdout).toMatch(/rejected row\(s\) in liteshift\.rejects/);

    const mapping: MappingOptions = mappingOptions({ onMisfit: 'reject', cast: parseCasts(casts.join(';')), foldIdentifiers: 'lower' });
    const expected = expectedRejects(path, mapping);
    const total = [...expected.values()].reduce((n, keys) => n + keys.size, 0);
    expect(total, 'the generated database has rows to refuse').toBeGreaterThan(10);

    const rejects = await withClient(target.url, async (pg) =>
      (await pg.query<{ table_name: string; key: unknown[]; column_name: string | null; reason: string | null }>('SELECT table_name, key, column_name, reason FROM liteshift.rejects')).rows,
    );
    for (const r of rejects) {
      expect(r.reason, JSON.stringify(r)).toBeTruthy();
      expect(r.column_name, JSON.stringify(r)).toBeTruthy();
    }
    const found = new Map<string, Set<string>>();
    for (const r of rejects) {
      const keys = found.get(r.table_name) ?? new Set<string>();
      keys.add(JSON.stringify(r.key));
      found.set(r.table_name, keys);
    }
    expect(Object.fromEntries([...found].map(([t, k]) => [t, [...k].sort()]))).toEqual(Object.fromEntries([...expected].filter(([, k]) => k.size > 0).map(([t, k]) => [t, [...k].sort()])));
    // The reasons name what was wrong.
    const reasons = rejects.map((r) => `${r.table_name}.${r.column_name}: ${r.reason}`).join('\n');
    expect(reasons).toMatch(/texts\.nul: .*NUL byte/);
    expect(reasons).toMatch(/texts\.bad: .*not valid UTF-8/);
    expect(reasons).toMatch(/mixed\.num: "two" is not an integer/);
    expect(reasons).toMatch(/select\.Mixed Case: 9 characters do not fit varchar\(5\)/);
    expect(reasons).toMatch(/numbers\.amount: .*numeric\(5,2\)/);
    expect(reasons).toMatch(/times\.ymd: 20240131 is not an ISO-8601 date/);

    // Every row not refused is equal; the refused ones are exactly what is missing.
    const tables = await compareAllRows(path, target.url, 'public', mapping);
    for (const t of tables) {
      const refused = expected.get(t.table) ?? new Set<string>();
      expect(t.extra + t.changed, `${t.table}: ${describeDifferences([t])}`).toBe(0);
      expect(t.missing, `${t.table}: ${describeDifferences([t])}`).toBe(refused.size);
      expect(t.postgresCount).toBe(t.sqliteCount - refused.size);
    }

    await withClient(target.url, async (pg) => {
      // Folded names: no quotes needed.
      const names = await pg.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
      expect(names.rows.map((r) => r.table_name)).toContain('weird "table" name');
      expect(names.rows.every((r) => r.table_name === r.table_name.toLowerCase())).toBe(true);
      expect((await pg.query(`SELECT value, value2 FROM "weird ""table"" name" WHERE id = 1`)).rows[0]).toEqual({ value: 'tab\there\nnewline\\backslash', value2: 1e-300 });
      expect((await pg.query(`SELECT "mixed case" AS v FROM "select" WHERE "from" = 3`)).rows[0].v).toBe('');
      // The casts are the column types, and the declared types are kept where values were refused.
      const types = await pg.query<{ k: string; data_type: string }>(
        `SELECT table_name || '.' || column_name AS k, data_type FROM information_schema.columns
          WHERE (table_name, column_name) IN (('select', 'mixed case'), ('texts', 'json_doc'), ('times', 'epoch_s'), ('mixed', 'num'), ('texts', 'bad'), ('numbers', 'amount'))`,
      );
      expect(Object.fromEntries(types.rows.map((r) => [r.k, r.data_type]))).toEqual({
        'select.mixed case': 'character varying',
        'texts.json_doc': 'json',
        'times.epoch_s': 'timestamp with time zone',
        'mixed.num': 'bigint',
        'texts.bad': 'text',
        'numbers.amount': 'numeric',
      });
      expect((await pg.query(`SELECT epoch_s::text FROM times WHERE id = 4`)).rows[0].epoch_s).toBeNull();
    });
  }, 180_000);

  /** The corpus's CamelCase names (Chinook), folded: names change, values do not. */
  const corpusDir = resolve(repoRoot, process.env.LITESHIFT_CORPUS_DIR ?? '../shared/corpus');
  const chinook = join(corpusDir, 'Chinook_Sqlite.sqlite');
  it.skipIf(!existsSync(chinook))('Chinook (../shared/corpus) with --fold-identifiers lower: READY, every row equal', async () => {
    const copy = join(workDir, 'chinook.sqlite');
    copyFileSync(chinook, copy);
    const target = await createTestDatabase(adminUrl, 'chinook-fold');
    databases.push(target);
    const prefix = uniquePrefix('chinook-fold');
    prefixes.push(prefix);
    const run = await runCli(
      ['migrate', '--sqlite-path', copy, '--postgres-url', target.url, '--kafka-brokers', brokers, '--topic-prefix', prefix, '--fold-identifiers', 'lower'],
      {},
      170_000,
    );
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/Verified:\s+READY/);
    expectNoDifferences(await compareAllRows(copy, target.url, 'public', { foldIdentifiers: 'lower' }), 'Chinook, folded');
    await withClient(target.url, async (pg) => {
      const row = (await pg.query(`SELECT invoicelineid, unitprice::text FROM invoiceline ORDER BY invoicelineid LIMIT 1`)).rows[0];
      expect(row).toEqual({ invoicelineid: '1', unitprice: '0.99' });
      const fks = await pg.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND convalidated AND connamespace = 'public'::regnamespace`);
      expect(fks.rows[0].n).toBeGreaterThanOrEqual(10);
    });
  }, 180_000);
});

/**
 * The keys of the rows the loader must refuse, per table: every value read as the pipeline
 * reads it, through the loader's own mapping. Keys in liteshift.rejects' JSON form.
 */
function expectedRejects(sqlitePath: string, mapping: MappingOptions): Map<string, Set<string>> {
  const db = openSqlite(sqlitePath, { readonly: true });
  try {
    const model = readSchema(db, mapping);
    const out = new Map<string, Set<string>>();
    for (const table of model.tables) out.set(table.name, refusedKeys(db, table));
    return out;
  } finally {
    db.close();
  }
}

function refusedKeys(db: ReturnType<typeof openSqlite>, table: TableModel): Set<string> {
  const rowid = rowidName(table) ?? 'rowid';
  const rows = db.prepare(`SELECT ${table.columns.map((c) => sqliteReadExpr(c, rowid)).join(', ')} FROM main.${quoteIdent(table.name)}`).raw(true).all() as SqlValue[][];
  const keyIdx = table.key.map((k) => table.columns.findIndex((c) => c.name === k));
  const keys = new Set<string>();
  for (const row of rows) {
    const refused = table.columns.some((c, i) => {
      const v = row[i] ?? null;
      if (v === null) return c.notNull;
      return toPgText(c.kind, v, c) instanceof Rejection;
    });
    if (!refused) continue;
    keys.add(JSON.stringify(keyIdx.map((i) => jsonKey(row[i] ?? null))));
  }
  return keys;
}

function jsonKey(v: SqlValue): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`;
  return v;
}
