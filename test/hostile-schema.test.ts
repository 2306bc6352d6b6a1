import Database from 'better-sqlite3';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ChangeEventCodec, readSchemas, schemaRecord, schemaTopic, tableSchemas, tableTopic, createKafka, connectAdmin, createLogger, type SchemaRecord, type SqlValue, type TableModel } from '@liteshift/shared';
import { describeRun, runCli } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { FaultPipeline, until } from './helpers/fault-pipeline.js';
import { withClient } from './helpers/postgres.js';

/*
 * The schema topic is data, not code: a record on it whose type, default, CHECK or
 * foreign-key action carries SQL is dead-lettered with the reason and nothing of it runs;
 * one record the loader cannot read stops neither the loader nor any other table.
 */

async function send(brokers: string, topic: string, messages: { key: Buffer; value: Buffer }[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'liteshift-test-hostile', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

describe('a hostile or malformed record on the schema topic', () => {
  const brokers = inject('kafkaBrokers');
  const p = new FaultPipeline('hostile-schema', { brokers, adminUrl: inject('adminDatabaseUrl'), counts: { users: 50, tasks: 500, recurringPatterns: 50 } });
  let users: SchemaRecord;

  beforeAll(async () => {
    await p.create();
    p.startExtract();
    p.startLoad();
    await p.waitFor('the snapshot applied');
    const log = createLogger({ service: 'test', level: 'silent', format: 'json' });
    const kafka = createKafka({ brokers: [brokers], clientId: 'liteshift-test-hostile', log });
    const admin = await connectAdmin(kafka, [brokers]);
    try {
      users = [...(await readSchemas(kafka, admin, p.prefix)).values()].find((r) => r.table.name === 'users')!;
    } finally {
      await admin.disconnect();
    }
    await withClient(p.databaseUrl, (c) => c.query('CREATE TABLE x (id int)'));
  });
  afterAll(() => p.destroy());

  it('is dead-lettered with its reason, nothing of it runs, and every table keeps applying', async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(50, 7);
    // Newer than users' own record, with a column to add: the loader used to run `ALTER TABLE … ADD COLUMN "evil" <type>` as written.
    const evil = { name: 'evil', declaredType: 'INTEGER', notNull: false, sqliteDefault: null, kind: 'integer', pgType: 'int; DROP TABLE x; --', pgDefault: null, identity: false, reason: '' };
    const hostile = { ...users, fingerprint: 'ffffffffffffffff', publishedAt: new Date().toISOString(), table: { ...users.table, columns: [...users.table.columns, evil] } };
    await send(brokers, schemaTopic(p.prefix), [
      { key: Buffer.from('ffffffffffffffff'), value: Buffer.from(JSON.stringify(hostile)) },
      { key: Buffer.from('malformed'), value: Buffer.from('{"version": 1, "table": ') },
    ]);
    await until('two dead letters', async () => {
      const run = await runCli(['dlq', '--json'], p.env, 60_000);
      return run.code === 0 && (JSON.parse(run.stdout) as { total: number }).total >= 2;
    }, 60_000);
    const listed = JSON.parse((await runCli(['dlq', '--json'], p.env, 60_000)).stdout) as { letters: { reason: string }[] };
    expect(listed.letters.map((l) => l.reason).sort()).toEqual([
      'invalid writer schema: column users.evil: "int; DROP TABLE x; --" is not a type liteshift makes for integer values',
      'invalid writer schema: not JSON',
    ]);
    await p.drain(writer);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expect(await withClient(p.databaseUrl, async (c) => (await c.query("SELECT to_regclass('public.x') IS NOT NULL AS present")).rows[0].present)).toBe(true);
    expect(p.load!.running, p.load!.describe()).toBe(true);
    const verify = await runCli(['verify', '--json', '--kafka-brokers', brokers], p.env, 120_000);
    expect(verify.code, describeRun(verify)).toBe(1);
    expect((JSON.parse(verify.stdout) as { reasons: string[] }).reasons.join('\n')).toMatch(/dead-letter/);
  });

  it('data written with a writer schema whose record is invalid waits, unapplied, until a valid record replaces it', async () => {
    p.diagnoseOnFailure();
    // A new writer schema of users (a column added), its record first published corrupt.
    const grown: TableModel = { ...users.table, columns: [...users.table.columns, { ...users.table.columns.find((c) => c.kind === 'text')!, name: 'nickname', notNull: false, sqliteDefault: null, pgDefault: null }] };
    const valid = schemaRecord(grown, tableTopic(p.prefix, 'users'));
    const corrupt = { ...valid, table: { ...grown, foreignKeys: [{ columns: ['id'], refTable: 'users', refColumns: ['id'], onUpdate: 'NO ACTION', onDelete: 'CASCADE; DROP TABLE x', deferrable: false }] } };
    await send(brokers, schemaTopic(p.prefix), [{ key: Buffer.from(valid.fingerprint), value: Buffer.from(JSON.stringify(corrupt)) }]);
    // A change of user 1 in that schema, as SQLite holds the row.
    const db = new Database(p.sqlitePath, { readonly: true });
    const row = db.prepare(`SELECT ${users.table.columns.map((c) => `"${c.name}"`).join(', ')} FROM users WHERE id = 1`).raw(true).safeIntegers(true).get() as SqlValue[];
    db.close();
    const codec = new ChangeEventCodec(tableSchemas(grown));
    await send(brokers, tableTopic(p.prefix, 'users'), [{ key: codec.encodeKey([1n]), value: codec.encodeValue({ op: 'u', table: 'users', after: [...row, 'nick'], seq: 0n, snapshot: false, tsMs: Date.now() }) }]);
    await until('users waiting', () => p.load!.logLines().some((l) => String(l.msg).startsWith('table waiting') && l.table === 'users'), 60_000);
    const nickname = () => withClient(p.databaseUrl, async (c) => (await c.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'nickname'")).rows[0].n as number);
    expect(await nickname()).toBe(0);

    await send(brokers, schemaTopic(p.prefix), [{ key: Buffer.from(valid.fingerprint), value: Buffer.from(JSON.stringify(valid)) }]);
    await until('users applying again', () => p.load!.logLines().some((l) => String(l.msg).startsWith('table applying again') && l.table === 'users'), 60_000);
    await until('the waiting change applied', async () => (await nickname()) === 1 && (await withClient(p.databaseUrl, async (c) => (await c.query('SELECT nickname FROM users WHERE id = 1')).rows[0]?.nickname)) === 'nick', 60_000);
    expect(p.load!.running, p.load!.describe()).toBe(true);
    expect(await withClient(p.databaseUrl, async (c) => (await c.query("SELECT to_regclass('public.x') IS NOT NULL AS present")).rows[0].present)).toBe(true);
  });
});
