import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectSameRows } from './helpers/compare.js';
import { expectNoOffsetAppliedTwice, FaultPipeline, streamingEverywhere, until } from './helpers/fault-pipeline.js';
import { adminQuery, withClient } from './helpers/postgres.js';
import type { Service } from './helpers/services.js';

/*
 * Fault tests (DESIGN "How it is tested"): services are killed with SIGKILL where it hurts
 * most, restarted, and the target must still equal the source row by row; the loaders'
 * own accounts of what they applied must show no offset applied twice.
 */

const BIG = { users: 1000, tasks: 20000, recurringPatterns: 1000 };

/** Log lines of a service whose message is `msg`. */
function logged(service: Service, msg: string): Record<string, unknown>[] {
  return service.logLines().filter((l) => l.msg === msg);
}

describe('the extractor SIGKILLed mid-snapshot and mid-stream, then restarted', () => {
  const p = new FaultPipeline('fault-extract', {
    brokers: inject('kafkaBrokers'),
    adminUrl: inject('adminDatabaseUrl'),
    counts: BIG,
    env: { LITESHIFT_CHUNK_ROWS: '250' },
  });
  let extract: Service;

  beforeAll(() => p.create());
  afterAll(() => p.destroy());

  it('mid-snapshot: the restart resumes at the same watermark, skips the tables already sent; zero differences', async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(200, 51);
    await writer.waitForAccepted(50);
    const first = p.startExtract({ LOG_LEVEL: 'debug' });
    p.startLoad();
    // Killed once the first table is in Kafka whole and the second is partly sent.
    const chunksOf = (table: string) => logged(first, 'snapshot chunk sent').filter((l) => l.table === table).length;
    await until('the extractor mid-way through the snapshot', () => logged(first, 'snapshot of table read').length >= 1 && chunksOf('tasks') >= 10, 60_000);
    first.kill();
    await first.whenExited();
    expect(logged(first, 'snapshot complete'), 'the snapshot finished before the kill').toEqual([]);
    const watermark = logged(first, 'snapshot starts at changelog watermark')[0]?.watermark;
    expect(watermark).toBeDefined();
    const progress = JSON.parse(String(p.sqliteState('snapshot_progress'))) as { watermark: string; done: Record<string, number> };
    expect(progress.watermark).toBe(watermark);
    expect(Object.keys(progress.done)).toEqual(['recurring_patterns']);

    // Deletes and updates while no extractor runs: rows the killed snapshot already sent change.
    await writer.waitForAccepted(writer.progress.accepted + 300);
    extract = p.startExtract({ LOG_LEVEL: 'debug' });
    await p.waitFor('every table streaming after the restart', streamingEverywhere);
    const resumed = logged(extract, 'resuming an interrupted snapshot at its watermark');
    expect(resumed.map((l) => [l.watermark, l.done])).toEqual([[watermark, ['recurring_patterns']]]);
    // recurring_patterns was not read again.
    expect(logged(extract, 'snapshot of table read').map((l) => l.table)).toEqual(['tasks', 'users']);
    // Each chunk's line says how many rows it sent: they add up to the table's.
    for (const read of logged(extract, 'snapshot of table read')) {
      const chunks = logged(extract, 'snapshot chunk sent').filter((l) => l.table === read.table);
      expect(chunks.reduce((n, l) => n + Number(l.rows), 0), String(read.table)).toBe(read.rows);
    }
    await writer.waitForAccepted(writer.progress.accepted + 300);
    const summary = await p.drain(writer);
    expect(summary.ops['delete task'] ?? 0).toBeGreaterThan(0);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expectNoOffsetAppliedTwice(p.services);
  }, 240_000);

  it('mid-stream: the restart resumes from the position Kafka acknowledged; zero differences', async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(300, 52);
    const streamed = () => logged(extract, 'changes streamed').length;
    const before = streamed();
    await until('the extractor streaming the writer\'s changes', () => streamed() >= before + 10, 60_000);
    extract.kill();
    await extract.whenExited();
    await writer.waitForAccepted(writer.progress.accepted + 300);
    const again = p.startExtract({ LOG_LEVEL: 'debug' });
    await until('the restarted extractor streaming', () => logged(again, 'changes streamed').length > 0, 60_000);
    expect(logged(again, 'resuming the change stream')).toHaveLength(1);
    expect(logged(again, 'snapshot starts at changelog watermark')).toEqual([]);
    await writer.waitForAccepted(writer.progress.accepted + 300);
    await p.drain(writer);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expectNoOffsetAppliedTwice(p.services);
    extract = again;
  }, 240_000);

  it('SQLITE_BUSY: the application holds the write lock longer than the busy timeout; the extractor waits, says so, and goes on', async () => {
    p.diagnoseOnFailure();
    const db = p.openWritable();
    try {
      db.prepare("UPDATE tasks SET title = title || ' (busy)' WHERE id % 9 = 0").run();
      // At once, before the extractor has recorded its new position: a transaction that
      // holds the lock for 7 s (the extractor's busy_timeout is 5 s).
      db.exec('BEGIN IMMEDIATE');
      const held = Date.now();
      while (Date.now() - held < 7_000) await new Promise((r) => setTimeout(r, 100));
      db.exec('COMMIT');
    } finally {
      db.close();
    }
    await p.waitFor('zero lag after the lock was released');
    expect(extract.running, extract.describe()).toBe(true);
    expect(logged(extract, 'SQLite is busy; retrying').length).toBeGreaterThan(0);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  }, 120_000);
});

describe('loaders SIGKILLed: mid-batch, and one of two sharing the partitions; PostgreSQL sessions terminated', () => {
  const p = new FaultPipeline('fault-load', {
    brokers: inject('kafkaBrokers'),
    adminUrl: inject('adminDatabaseUrl'),
    counts: BIG,
    // Partitions per topic are configurable; four make the split between loaders visible.
    env: { LITESHIFT_PARTITIONS: '4' },
  });
  let survivor: Service;

  beforeAll(() => p.create());
  afterAll(() => p.destroy());

  it('mid-batch: a loader killed with a transaction open; its successor applies the rest, nothing twice', async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(150, 61);
    await writer.waitForAccepted(50);
    p.startExtract();
    const first = p.startLoad();
    await until('the first loader applying the snapshot', () => logged(first, 'batch applied').length >= 2, 90_000);
    await until('a loader transaction open', async () => (await p.loaderTransactionsOpen()) > 0, 60_000, 5);
    first.kill();
    await first.whenExited();
    const applied = logged(first, 'batch applied').length;
    expect(applied).toBeGreaterThanOrEqual(2);

    survivor = p.startLoad();
    await writer.waitForAccepted(writer.progress.accepted + 200);
    await p.drain(writer);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expect(expectNoOffsetAppliedTwice(p.services)).toBeGreaterThan(applied);
  }, 240_000);

  it('two loaders split the partitions; one SIGKILLed, the other takes its partitions; nothing lost or doubled', async () => {
    p.diagnoseOnFailure();
    const tablePartitions = (l: Record<string, unknown>) => (l.partitions as string[]).filter((x) => !x.includes('._schemas:'));
    const second = p.startLoad();
    const writer = p.writer(200, 62);
    // Both hold a share of the 12 table partitions (3 tables × 4).
    await until(
      'the partitions split between the two loaders',
      () => {
        const a = logged(survivor, 'partitions assigned').at(-1);
        const b = logged(second, 'partitions assigned').at(-1);
        return !!a && !!b && tablePartitions(a).length > 0 && tablePartitions(b).length > 0 && tablePartitions(a).length + tablePartitions(b).length === 12;
      },
      60_000,
    );
    const split = logged(second, 'partitions assigned').length;
    await until('both loaders applying', () => logged(second, 'batch applied').length > 0, 60_000);
    const victim = survivor;
    victim.kill();
    await victim.whenExited();
    await writer.waitForAccepted(writer.progress.accepted + 300);
    await p.drain(writer);
    // The survivor was given every partition once the group noticed the loss.
    const last = logged(second, 'partitions assigned').at(-1)!;
    expect(logged(second, 'partitions assigned').length).toBeGreaterThan(split);
    expect(tablePartitions(last)).toHaveLength(12);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expectNoOffsetAppliedTwice(p.services);
    survivor = second;
  }, 240_000);

  it("PostgreSQL ends the loader's sessions again and again under a write load; it retries and converges", async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(300, 63);
    const name = new URL(p.databaseUrl).pathname.slice(1);
    let terminated = 0;
    const retried = (): number => logged(survivor, 'batch failed; retrying').length + logged(survivor, 'housekeeping failed; retrying').length;
    // A session ended while idle in the pool is replaced unnoticed: rounds go on until one
    // ended inside a batch (at least six, at most forty).
    for (let round = 0; round < 6 || (retried() === 0 && round < 40); round++) {
      await writer.waitForAccepted(writer.progress.accepted + 100);
      const r = await adminQuery<{ n: string }>(
        inject('adminDatabaseUrl'),
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name LIKE 'liteshift%' AND datname = $1",
        [name],
      );
      terminated += Number(r.rows[0]!.n);
    }
    expect(terminated).toBeGreaterThan(0);
    expect(survivor.running, survivor.describe()).toBe(true);
    await p.drain(writer);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expectNoOffsetAppliedTwice(p.services);
    // Still the same process, which said it was retrying.
    expect(survivor.running).toBe(true);
    expect(retried()).toBeGreaterThan(0);
    await withClient(p.databaseUrl, async (client) => {
      const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM liteshift.rejects');
      expect(r.rows[0]!.n).toBe('0');
    });
  }, 240_000);
});
