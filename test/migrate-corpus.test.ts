import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, runCli } from './helpers/cli.js';
import { corpusDir, corpusExists, corpusFiles, corpusSkipReason } from './helpers/corpus.js';
import { compareAllRows, expectNoDifferences } from './helpers/compare.js';
import { deleteTopicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { createTestDatabase, withClient, type TestDatabase } from './helpers/postgres.js';

if (!corpusExists) console.warn(`[migrate-corpus] skipped: ${corpusSkipReason}`);

describe.skipIf(!corpusExists)(`migrate the real SQLite corpus (${corpusDir})`, () => {
  const brokers = inject('kafkaBrokers');
  const adminUrl = inject('adminDatabaseUrl');
  let workDir: string;
  const databases: TestDatabase[] = [];
  const prefixes: string[] = [];

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'liteshift-corpus-'));
  });

  afterAll(async () => {
    for (const db of databases) await db.drop();
    for (const prefix of prefixes) await deleteTopicsWithPrefix(brokers, prefix);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('holds SQLite files to migrate', () => {
    expect(corpusFiles.length, `no SQLite file in ${corpusDir}`).toBeGreaterThan(0);
  });

  for (const file of corpusFiles) {
    it(`${file}: migrate exits 0, READY, and every row and column is equal`, async () => {
      // SQLite may write -wal/-shm beside a file it opens, and the corpus must stay byte-identical.
      const copy = join(workDir, file);
      copyFileSync(join(corpusDir, file), copy);
      const target = await createTestDatabase(adminUrl, file);
      databases.push(target);
      const prefix = uniquePrefix(file);
      prefixes.push(prefix);

      const run = await runCli([
        'migrate',
        '--sqlite-path', copy,
        '--postgres-url', target.url,
        '--kafka-brokers', brokers,
        '--topic-prefix', prefix,
      ]);
      expect(run.code, describeRun(run)).toBe(0);
      expect(run.stdout).toContain('READY');
      expect(run.stdout).not.toContain('NOT READY');

      // Rows PostgreSQL refused must each be explained (table, key, reason); a READY
      // verdict means there are none.
      const rejects = await withClient(target.url, async (client) => {
        const present = await client.query<{ t: string | null }>("SELECT to_regclass('liteshift.rejects') AS t");
        if (present.rows[0]?.t == null) return [];
        const rows = await client.query<{ table_name: string | null; key: string | null; reason: string | null }>(
          'SELECT table_name, key::text AS key, reason FROM liteshift.rejects',
        );
        return rows.rows;
      });
      for (const r of rejects) {
        expect(r.table_name, JSON.stringify(r)).toBeTruthy();
        expect(r.key, JSON.stringify(r)).toBeTruthy();
        expect(r.reason, JSON.stringify(r)).toBeTruthy();
      }
      expect(rejects, 'READY was printed although rows were rejected').toEqual([]);

      const tables = await compareAllRows(copy, target.url);
      expectNoDifferences(tables, file);
      const rows = tables.reduce((n, t) => n + t.sqliteCount, 0);
      expect(rows, 'the corpus databases are not empty').toBeGreaterThan(0);
    }, 180_000);
  }
});
