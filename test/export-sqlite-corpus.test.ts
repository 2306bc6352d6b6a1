import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeRun, runCli } from './helpers/cli.js';
import { corpusDir, corpusExists, corpusFiles, corpusSkipReason } from './helpers/corpus.js';
import { MigratedSqlite } from './helpers/migrated-sqlite.js';
import { storedRows } from './helpers/stored-rows.js';

/*
 * The way back on real databases (Chinook, Northwind, sakila): migrated, then exported
 * back with nothing changed on PostgreSQL. Into the original file nothing is written; into
 * a new file every row is what the original holds, value and storage class alike (dates in
 * their own spelling, blobs as blobs, numbers as the integers or reals they were).
 */

if (!corpusExists) console.warn(`[export-sqlite-corpus] skipped: ${corpusSkipReason}`);

interface ExportJson {
  verdict: string;
  export: { applied: { messages: number; upserted: number; deleted: number; unchanged: number } };
}

describe.skipIf(!corpusExists)(`export-sqlite on the real SQLite corpus (${corpusDir})`, () => {
  const migrated: MigratedSqlite[] = [];
  afterAll(async () => {
    for (const m of migrated) await m.destroy();
  });

  for (const file of corpusFiles) {
    it(`${file}: back into the original file, nothing written; into a new file, every row as the original holds it; READY both`, async () => {
      const m = new MigratedSqlite(`back-${file.replace(/\W+/g, '-')}`);
      migrated.push(m);
      await m.createFrom(join(corpusDir, file));
      const before = storedRows(m.sqlitePath);

      const same = await runCli(m.exportArgs(m.sqlitePath, '--json'), {}, 300_000);
      expect(same.code, describeRun(same)).toBe(0);
      const result = JSON.parse(same.stdout) as ExportJson;
      expect(result.verdict).toBe('READY');
      expect(result.export.applied).toMatchObject({ upserted: 0, deleted: 0 });
      expect(storedRows(m.sqlitePath)).toEqual(before);

      const fresh = join(m.dir, 'fresh.db');
      const copy = await runCli(m.exportArgs(fresh, '--json'), {}, 300_000);
      expect(copy.code, describeRun(copy)).toBe(0);
      expect((JSON.parse(copy.stdout) as ExportJson).verdict).toBe('READY');
      const after = storedRows(fresh);
      for (const [table, rows] of before) expect(after.get(table), table).toEqual(rows);
    }, 400_000);
  }
});
