import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureMetaSchema, loaderGroup, META_TABLES, tableTopic } from '@liteshift/shared';
import { describeRun, runCli } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { FaultPipeline, until } from './helpers/fault-pipeline.js';
import { createTestDatabase, withClient } from './helpers/postgres.js';

/*
 * The loader's position is PostgreSQL's offset, never Kafka's (contract 5). When a group
 * joins, each partition is sought to PostgreSQL's offset; a batch fetched just before,
 * from the group's committed offset in Kafka, must then not be applied: applying it from
 * the later offset would store its end and make every message before it look applied.
 */

const TABLES = ['users', 'tasks', 'recurring_patterns'];

async function loaderSessionsWaitingOnALock(databaseUrl: string, adminUrl: string): Promise<number> {
  const name = new URL(databaseUrl).pathname.slice(1);
  return withClient(adminUrl, async (client) => {
    const r = await client.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'liteshift-loader' AND wait_event_type = 'Lock'",
      [name],
    );
    return Number(r.rows[0]!.n);
  });
}

describe('a seek to PostgreSQL offsets that lands while a batch fetched from the Kafka-committed offset waits for its lock', () => {
  const brokers = inject('kafkaBrokers');
  const adminUrl = inject('adminDatabaseUrl');
  const p = new FaultPipeline('seek-race', { brokers, adminUrl, counts: { users: 100, tasks: 1500, recurringPatterns: 100 } });

  beforeAll(async () => {
    await p.create();
    const extract = await runCli(['extract'], p.env, 120_000);
    expect(extract.code, describeRun(extract)).toBe(0);
  });
  afterAll(() => p.destroy());

  it('is discarded, and the partition applied from PostgreSQL offset: nothing skipped, round after round', async () => {
    p.diagnoseOnFailure();
    let discarded = 0;
    // The fetch and the seek race at every join: rounds until the seek has landed under a waiting batch.
    for (let round = 1; round <= 5 && discarded === 0; round++) {
      // An existing group whose offsets in Kafka sit mid-topic (it loaded an earlier target), and a new target.
      const kafka = new Kafka({ clientId: 'seek-race-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      try {
        for (const table of TABLES) {
          const topic = tableTopic(p.prefix, table);
          const offsets = await admin.fetchTopicOffsets(topic);
          await admin.setOffsets({ groupId: loaderGroup(p.prefix), topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: String(Math.floor(Number(o.high) / 2)) })) });
        }
      } finally {
        await admin.disconnect();
      }
      const target = await createTestDatabase(adminUrl, `seek-race-${round}`);
      const env = { ...p.env, DATABASE_URL: target.url };
      const holder = new pg.Client({ connectionString: target.url });
      await holder.connect();
      try {
        // Writes to the offsets wait (reads do not): the loader's first batch waits for its lock.
        await ensureMetaSchema(holder);
        await holder.query('BEGIN');
        await holder.query(`LOCK TABLE ${META_TABLES.offsets} IN EXCLUSIVE MODE`);
        const load = p.startLoad({ DATABASE_URL: target.url });
        await until('a batch waiting for its offset lock', async () => (await loaderSessionsWaitingOnALock(target.url, adminUrl)) > 0 || !load.running, 60_000);
        await until('the join seeking to PostgreSQL offsets', () => load.logLines().some((l) => l.msg === 'assigned partitions sought to the offsets stored in PostgreSQL') || !load.running, 30_000);
        await holder.query('COMMIT');
        await until('the loader caught up', async () => {
          const run = await runCli(['status', '--json'], env, 60_000);
          return run.code === 0 && (JSON.parse(run.stdout) as { loaderLag: number }).loaderLag === 0;
        }, 90_000);
        expect(load.running, load.describe()).toBe(true);
        await expectSameRows(p.sqlitePath, target.url);
        discarded += load.logLines().filter((l) => l.msg === 'batch discarded: a seek of its partition is pending').length;
        expect((await load.stop('SIGTERM')).code, load.describe()).toBe(0);
      } finally {
        await holder.end().catch(() => undefined);
        await target.drop();
      }
    }
    expect(discarded, 'no round had the seek land under a waiting batch').toBeGreaterThan(0);
  }, 600_000);

  it('replay beside two `load --follow`, ten times over: the target equals the source every time', async () => {
    p.diagnoseOnFailure();
    const target = await createTestDatabase(adminUrl, 'seek-race-replay');
    const env = { ...p.env, DATABASE_URL: target.url };
    try {
      const first = p.startLoad({ DATABASE_URL: target.url });
      const second = p.startLoad({ DATABASE_URL: target.url });
      await until('both loaders in the group', () => [first, second].every((l) => l.logLines().some((line) => line.msg === 'partitions assigned')), 60_000);
      await until('the snapshot applied', async () => {
        const run = await runCli(['status', '--json'], env, 60_000);
        return run.code === 0 && (JSON.parse(run.stdout) as { loaderLag: number }).loaderLag === 0;
      }, 90_000);
      for (let round = 1; round <= 10; round++) {
        await withClient(target.url, (c) => c.query("TRUNCATE tasks; UPDATE users SET username = username || '?' WHERE id % 2 = 0"));
        const started = Date.now();
        const replay = await runCli(['replay', '--from-beginning', '--tables', 'tasks,users'], env, 120_000);
        console.log(`round ${round}: replay ${Date.now() - started} ms`);
        expect(replay.code, `round ${round}\n${describeRun(replay)}`).toBe(0);
        await expectSameRows(p.sqlitePath, target.url);
        expect([first.running, second.running], `round ${round}\n${first.describe()}\n${second.describe()}`).toEqual([true, true]);
      }
    } finally {
      await target.drop();
    }
  }, 600_000);
});
