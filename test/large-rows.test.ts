import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, migrateArgs, runCli } from './helpers/cli.js';
import { compareAllRows, describeDifferences } from './helpers/compare.js';
import { FaultPipeline, streamingEverywhere } from './helpers/fault-pipeline.js';
import { caughtUp } from './helpers/services.js';
import { deleteTopicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { createTestDatabase, withClient, type TestDatabase } from './helpers/postgres.js';

const MB = 1024 * 1024;
const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');

/*
 * Applications keep attachments in SQLite: rows of megabytes. Chunks, produce requests and
 * the stream are bounded by bytes as well as rows (5,000 rows of 2 MB once made a 10 GB
 * chunk and a produce request Kafka refused), and a row larger than a Kafka message may be
 * is refused with a line that says which topic and how to raise its limit.
 */
describe('rows of megabytes', () => {
  const brokers = inject('kafkaBrokers');
  const prefix = uniquePrefix('large');
  let dir: string;
  let target: TestDatabase;
  /** id → md5 of data and of body, as SQLite holds them. */
  const expected = new Map<number, [string | null, string | null]>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'liteshift-large-'));
    const db = new Database(join(dir, 'files.db'));
    db.exec('CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT NOT NULL, body TEXT, data BLOB)');
    const insert = db.prepare('INSERT INTO files (id, name, body, data) VALUES (?, ?, ?, ?)');
    for (let id = 1; id <= 48; id++) {
      const data = id % 4 === 0 ? null : randomBytes(id % 2 === 0 ? 2 * MB : 1.5 * MB);
      const body = id % 3 === 0 ? `${'é'.repeat(200 * 1024)} ${id}` : null;
      insert.run(id, `file ${id}`, body, data);
      expected.set(id, [data ? md5(data) : null, body === null ? null : md5(Buffer.from(body, 'utf8'))]);
    }
    db.close();
    const huge = new Database(join(dir, 'huge.db'));
    huge.exec('CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB)');
    huge.prepare('INSERT INTO files (id, data) VALUES (?, ?)').run(1, Buffer.alloc(17 * MB, 1));
    huge.close();
    target = await createTestDatabase(inject('adminDatabaseUrl'), 'large');
  });

  afterAll(async () => {
    await target?.drop();
    await deleteTopicsWithPrefix(brokers, prefix);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('migrates 48 rows of up to 2 MB (63 MB in all, more than a Kafka request of one partition may hold): READY, every byte equal', async () => {
    const run = await runCli(migrateArgs({ sqlitePath: join(dir, 'files.db'), databaseUrl: target.url, brokers, prefix }));
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout, describeRun(run)).toMatch(/verdict: READY/);
    await withClient(target.url, async (pg) => {
      const { rows } = await pg.query<{ id: string; data: string | null; body: string | null }>(
        'SELECT id, md5(data) AS data, md5(convert_to(body, \'UTF8\')) AS body FROM files ORDER BY id',
      );
      expect(rows.map((r) => [Number(r.id), [r.data, r.body]])).toEqual([...expected]);
    });
    // Both sides checksum blobs alike: every range agrees at once, none is bisected.
    const verify = await runCli(['verify', '--json', '--sqlite-path', join(dir, 'files.db'), '--postgres-url', target.url]);
    expect(verify.code, describeRun(verify)).toBe(0);
    const ranges = (JSON.parse(verify.stdout) as { tables: { content: { ranges: { checked: number; bisected: number } } }[] }).tables[0]!.content.ranges;
    expect(ranges.checked).toBeGreaterThan(1);
    expect(ranges.bisected).toBe(0);
  });

  it('a row larger than the topic accepts stops the extractor with one line naming the topic and the setting', async () => {
    const run = await runCli(['extract', '--sqlite-path', join(dir, 'huge.db'), '--kafka-brokers', brokers, '--topic-prefix', `${prefix}-huge`]);
    expect(run.code, describeRun(run)).toBe(2);
    const line = run.stderr.split('\n').find((l) => l.startsWith('liteshift: '));
    expect(line, describeRun(run)).toMatch(new RegExp(`Kafka refused a 17\\.0 MB message for topic ${prefix}-huge\\.files: .*max\\.message\\.bytes`));
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('rows of megabytes written while the pipeline streams', () => {
  const p = new FaultPipeline('large-live', { brokers: inject('kafkaBrokers'), adminUrl: inject('adminDatabaseUrl') });

  beforeAll(() => p.create());
  afterAll(() => p.destroy());

  it('40 descriptions of 1 MB, changed in one transaction, stream through and converge', async () => {
    p.diagnoseOnFailure();
    p.startExtract();
    p.startLoad();
    await p.waitFor('every table streaming, zero lag', (s) => streamingEverywhere(s) && caughtUp(s));
    const db = p.openWritable();
    try {
      const changed = db.prepare("UPDATE tasks SET description = replace(hex(zeroblob(524288)), '0', 'x') || id WHERE id <= 40").run();
      expect(changed.changes).toBe(40);
    } finally {
      db.close();
    }
    await p.waitFor('the large rows applied');
    expect(describeDifferences(await compareAllRows(p.sqlitePath, p.databaseUrl, 'public'))).toBe('');
  }, 180_000);
});
