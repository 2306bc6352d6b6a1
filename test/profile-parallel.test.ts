import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlite, profileTable, profileTableInParallel, registerProfileFunctions, rowidRanges, type ProfiledColumn, type SqliteDatabase } from '@liteshift/shared';

/**
 * The profile of a large table is cut into rowid ranges profiled on worker threads (the
 * workers run from the built files, which is why this is not a unit test). Whatever the
 * cut, the merged profile must be the one a single statement gives: misfits sitting in one
 * part only make that part take the detailed pass the others skipped.
 */
describe('profiling a large table on worker threads', () => {
  let dir: string;
  let db: SqliteDatabase;
  const columns: ProfiledColumn[] = [
    { name: 'id', declaredType: 'INTEGER' },
    { name: 'n', declaredType: 'INTEGER' },
    { name: 'd', declaredType: 'DATETIME' },
    { name: 's', declaredType: 'TEXT' },
    { name: 'b', declaredType: 'BOOLEAN' },
    { name: 'rowid', declaredType: 'TEXT' },
  ];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-profile-'));
    const path = join(dir, 'big.db');
    const build = new Database(path);
    // A column named rowid: the parts must page by another name for the rowid.
    build.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, d DATETIME, s TEXT, b BOOLEAN, rowid TEXT);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 400000)
      INSERT INTO t SELECT i,
        CASE i WHEN 5 THEN 'x' WHEN 7 THEN 1.5 WHEN 399999 THEN 9223372036854775807 ELSE i END,
        CASE i WHEN 10 THEN 1700000000 WHEN 11 THEN '2021-02-30' ELSE '2024-01-01 00:00:00' END,
        CASE WHEN i % 1000 = 0 THEN CAST('caf' || char(233) AS BLOB) ELSE 'plain' END,
        CASE WHEN i = 300000 THEN 2 ELSE i % 2 END,
        'r' || i
      FROM c;
      CREATE TABLE wide (v TEXT);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 250000) INSERT INTO wide (rowid, v) SELECT i, 'v' || i FROM c;
      INSERT INTO wide (rowid, v) VALUES (-9223372036854775808, 'lowest'), (9223372036854775807, 'highest');`);
    build.close();
    db = openSqlite(path);
    registerProfileFunctions(db);
  });

  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cuts the table into rowid ranges that cover every row once', () => {
    const ranges = rowidRanges(db, 't', columns, 4)!;
    expect(ranges).toHaveLength(4);
    expect(ranges[0]!.rowid).toBe('_rowid_');
    expect(ranges[0]!.after).toBeNull();
    expect(ranges[3]!.upTo).toBeNull();
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.after).toBe(ranges[i - 1]!.upTo);
    expect(rowidRanges(db, 't', columns, 1)).toBeNull();
  });

  it.each([2, 4])('on %i threads gives exactly the single statement\'s profile', (threads) => {
    const one = profileTable(db, 't', columns);
    const parts = profileTableInParallel(db, 't', columns, threads);
    expect(Object.fromEntries(parts)).toStrictEqual(Object.fromEntries(one));
    // The case that needs the merge: misfits in some parts only.
    expect(one.get('n')).toMatchObject({ detailed: true, integers: 399998, texts: 1, reals: 1, maxInteger: '9223372036854775807' });
    expect(one.get('b')).toMatchObject({ detailed: true, booleanMisfits: 1 });
  });

  it('takes rowids at both ends of the 64-bit range', () => {
    const wide: ProfiledColumn[] = [{ name: 'v', declaredType: '' }, { name: 'liteshift_rowid', declaredType: 'INTEGER', expr: 'rowid' }];
    expect(rowidRanges(db, 'wide', wide, 2)).toHaveLength(2);
    const one = profileTable(db, 'wide', wide);
    expect(Object.fromEntries(profileTableInParallel(db, 'wide', wide, 2))).toStrictEqual(Object.fromEntries(one));
    expect(one.get('v')).toMatchObject({ rows: 250002, misfits: 0 });
  });
});
