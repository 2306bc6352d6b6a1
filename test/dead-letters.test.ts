import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, runCli } from './helpers/cli.js';
import { compareAllRows, describeDifferences } from './helpers/compare.js';
import { FaultPipeline, streamingEverywhere } from './helpers/fault-pipeline.js';
import { caughtUp, liveStatus } from './helpers/services.js';
import { withClient } from './helpers/postgres.js';

/*
 * Bad data is reported, never dropped silently (DESIGN contract 6): a message nobody can
 * decode goes to <prefix>._dlq with the reason in its headers, a row PostgreSQL refuses
 * goes to liteshift.rejects with its key and reason. Neither stops the loader; both are
 * listed by `liteshift status` and make the verifier say NOT READY.
 */

interface DeadLetter {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

async function readDeadLetters(brokers: string, topic: string, atLeast: number): Promise<DeadLetter[]> {
  const kafka = new Kafka({ clientId: 'liteshift-test-dlq', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `liteshift-test-dlq-${randomBytes(4).toString('hex')}` });
  const out: DeadLetter[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${out.length} dead letter(s) on ${topic}, expected at least ${atLeast}`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
            out.push({ key: message.key?.toString('latin1') ?? null, value: message.value, headers });
            if (out.length >= atLeast) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Sends messages as a foreign producer would, each to the partition given; returns their offsets. */
async function sendRaw(brokers: string, topic: string, messages: readonly { partition: number; key: Buffer; value: Buffer }[]): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'liteshift-test-poison', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const offsets: string[] = [];
    for (const m of messages) {
      const [sent] = await producer.send({ topic, messages: [{ partition: m.partition, key: m.key, value: m.value }] });
      offsets.push(sent!.baseOffset!);
    }
    return offsets;
  } finally {
    await producer.disconnect();
  }
}

describe('a poison message on a table topic and a row PostgreSQL refuses', () => {
  const brokers = inject('kafkaBrokers');
  // By default a column holding text PostgreSQL cannot take widens to bytea; rejecting
  // keeps tasks.title text, so the loader refuses the NUL row.
  const p = new FaultPipeline('dead-letters', { brokers, adminUrl: inject('adminDatabaseUrl'), env: { LITESHIFT_ON_MISFIT: 'reject' } });
  /** Where the poison messages landed: "topic:partition:offset". */
  const poisoned = new Map<string, string>();
  const NUL_TASK = 7;

  beforeAll(async () => {
    await p.create();
    const db = new Database(p.sqlitePath);
    try {
      db.prepare("UPDATE tasks SET title = 'before' || char(0) || 'after' WHERE id = ?").run(NUL_TASK);
    } finally {
      db.close();
    }
  });
  afterAll(() => p.destroy());

  it('the loader dead-letters what it cannot decode, rejects what PostgreSQL refuses, and keeps applying', async () => {
    p.diagnoseOnFailure();
    const extract = p.startExtract();
    const load = p.startLoad();
    // Caught up: the loader has created the target tables and recorded their writer schemas.
    await p.waitFor('every table streaming, zero lag', (s) => streamingEverywhere(s) && caughtUp(s));

    // The writer schema the loader knows for tasks: a value framed with it but cut short cannot be decoded.
    const fingerprint = await withClient(p.databaseUrl, async (client) => {
      const r = await client.query<{ fingerprint: string }>("SELECT fingerprint FROM liteshift.tables WHERE table_name = 'tasks'");
      return r.rows[0]!.fingerprint;
    });
    const topic = `${p.prefix}.tasks`;
    const poison = [
      { partition: 0, key: Buffer.from('poison-1'), value: Buffer.from('not an Avro change event'), reason: 'value does not start with a liteshift writer-schema prefix' },
      { partition: 1, key: Buffer.from('poison-2'), value: Buffer.concat([Buffer.from([1]), randomBytes(8), Buffer.from('garbage')]), reason: 'unknown writer schema' },
      { partition: 2, key: Buffer.from([0x02]), value: Buffer.concat([Buffer.from([1]), Buffer.from(fingerprint, 'hex'), Buffer.from([0x99])]), reason: 'cannot decode' },
    ];
    const offsets = await sendRaw(brokers, topic, poison);
    poison.forEach((m, i) => poisoned.set(`${topic}:${m.partition}:${offsets[i]}`, m.reason));

    // Changes after the poison, on every partition: the loader must get past it.
    const db = p.openWritable();
    try {
      db.prepare("UPDATE tasks SET title = title || ' (after the poison)' WHERE id % 5 = 0").run();
      db.prepare("INSERT INTO tasks (user_id, title) VALUES ((SELECT min(id) FROM users), 'inserted after the poison')").run();
    } finally {
      db.close();
    }
    const status = await p.waitFor('zero lag past the poison');
    expect(load.running && extract.running).toBe(true);
    expect(status.deadLettered).toBe(3);
    expect(status.rejects).toBe(1);

    const letters = await readDeadLetters(brokers, `${p.prefix}._dlq`, 3);
    const landed = new Map(letters.map((l) => [`${l.headers['liteshift.dlq.topic']}:${l.headers['liteshift.dlq.partition']}:${l.headers['liteshift.dlq.offset']}`, l]));
    expect([...landed.keys()].sort()).toEqual([...poisoned.keys()].sort());
    for (const [where, reason] of poisoned) expect(landed.get(where)!.headers['liteshift.dlq.reason']).toContain(reason);
    expect(landed.get([...poisoned.keys()][0]!)!.value?.toString()).toBe('not an Avro change event');

    // Every row arrived but the one PostgreSQL refused, which is in liteshift.rejects with its key and reason.
    const tables = await compareAllRows(p.sqlitePath, p.databaseUrl, 'public', { onMisfit: 'reject' });
    const tasks = tables.find((t) => t.table === 'tasks')!;
    expect(describeDifferences(tables.filter((t) => t.table !== 'tasks'))).toBe('');
    expect([tasks.missing, tasks.extra, tasks.changed]).toEqual([1, 0, 0]);
    expect(tasks.differences.map((d) => [d.kind, d.key.map(String)])).toEqual([['missing', [String(NUL_TASK)]]]);
    await withClient(p.databaseUrl, async (client) => {
      const r = await client.query<{ table_name: string; key: unknown; column_name: string; value: string; reason: string }>(
        'SELECT table_name, key, column_name, value, reason FROM liteshift.rejects',
      );
      expect(r.rows).toHaveLength(1);
      // Text with a NUL byte is read as its bytes, and kept in the reject as hex.
      const value = `\\x${Buffer.from('before\0after').toString('hex')}`;
      expect(r.rows[0]).toMatchObject({ table_name: 'tasks', key: [String(NUL_TASK)], column_name: 'title', value });
      expect(r.rows[0]!.reason).toMatch(/NUL/);
    });
  }, 180_000);

  it('a loader restarted after them sends no dead letter again and records no reject twice', async () => {
    p.diagnoseOnFailure();
    const first = p.services.find((s) => s.label === 'load#1')!;
    expect((await first.stop('SIGTERM', 30_000)).code).toBe(0);
    p.startLoad();
    const db = p.openWritable();
    try {
      db.prepare("UPDATE users SET full_name = 'after the restart' WHERE id % 7 = 0").run();
    } finally {
      db.close();
    }
    const status = await p.waitFor('zero lag after the restart');
    expect(status.deadLettered).toBe(3);
    expect(status.rejects).toBe(1);
  }, 120_000);

  it('status lists both; the verifier says NOT READY for the rejected row and for the dead letters', async () => {
    p.diagnoseOnFailure();
    const status = await liveStatus(p.env);
    expect([status.rejects, status.deadLettered]).toEqual([1, 3]);
    const text = await runCli(['status'], p.env);
    expect(text.code, describeRun(text)).toBe(0);
    expect(text.stdout).toMatch(/rejected rows 1; dead letters 3/);

    const verify = await runCli(['verify', '--json'], p.env);
    expect(verify.code, describeRun(verify)).toBe(1);
    const report = JSON.parse(verify.stdout) as { verdict: string; reasons: string[] };
    expect(report.verdict).toBe('NOT READY');
    expect(report.reasons.some((r) => /tasks: 1 rejected row/.test(r)), report.reasons.join('\n')).toBe(true);
    expect(report.reasons.some((r) => r.includes(`${p.prefix}._dlq`)), report.reasons.join('\n')).toBe(true);
  }, 120_000);

  it('`liteshift dlq` lists the dead letters; --clear deletes what it listed, after which the fixed pipeline is READY', async () => {
    p.diagnoseOnFailure();
    const listed = await runCli(['dlq'], p.env);
    expect(listed.code, describeRun(listed)).toBe(0);
    expect(listed.stdout).toContain(`${p.prefix}._dlq: 3 dead letter(s):`);
    for (const [where, reason] of poisoned) {
      const [topic, partition, offset] = where.split(':');
      expect(listed.stdout).toContain(`${topic} partition ${partition} offset ${offset}: ${reason}`);
    }
    expect(listed.stdout).toContain('key "poison-1", value 24 bytes');
    expect(listed.stdout).toContain('key 0x02,');

    const some = await runCli(['dlq', '--json', '--limit', '2'], p.env);
    expect(some.code, describeRun(some)).toBe(0);
    const json = JSON.parse(some.stdout) as { total: number; letters: { from: { topic: string } | null; key: string | null }[]; cleared: number | null };
    expect([json.total, json.letters.length, json.cleared]).toEqual([3, 2, null]);
    expect(json.letters.every((l) => l.from?.topic === `${p.prefix}.tasks`)).toBe(true);

    // Dealt with: the NUL title is fixed at the source (it streams again) and its reject row removed.
    const db = p.openWritable();
    try {
      db.prepare("UPDATE tasks SET title = 'fixed' WHERE id = ?").run(NUL_TASK);
    } finally {
      db.close();
    }
    await p.waitFor('the fixed row applied');
    await withClient(p.databaseUrl, (client) => client.query('DELETE FROM liteshift.rejects'));

    const cleared = await runCli(['dlq', '--clear'], p.env);
    expect(cleared.code, describeRun(cleared)).toBe(0);
    expect(cleared.stdout).toContain('cleared 3 dead letter(s)');
    expect((await liveStatus(p.env)).deadLettered).toBe(0);

    // The topic stays: a letter arriving afterwards is counted and listed alone.
    await sendRaw(brokers, `${p.prefix}.users`, [{ partition: 0, key: Buffer.from('late'), value: Buffer.from('late poison') }]);
    const late = await p.waitFor('the late poison dead-lettered', (s) => caughtUp(s) && s.deadLettered === 1);
    expect(late.rejects).toBe(0);
    const again = await runCli(['dlq', '--json'], p.env);
    const letters = (JSON.parse(again.stdout) as { letters: { from: { topic: string } | null; key: string | null }[] }).letters;
    expect(letters.map((l) => [l.from?.topic, l.key])).toEqual([[`${p.prefix}.users`, Buffer.from('late').toString('hex')]]);
    expect((await runCli(['dlq', '--clear'], p.env)).stdout).toContain('cleared 1 dead letter(s)');

    const verify = await runCli(['verify', '--json'], p.env);
    const report = JSON.parse(verify.stdout) as { verdict: string; reasons: string[] };
    expect(report.reasons).toEqual([]);
    expect(verify.code, describeRun(verify)).toBe(0);
    expect(report.verdict).toBe('READY');
  }, 180_000);
});
