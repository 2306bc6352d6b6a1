import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { LiteshiftError } from '../errors.js';
import { topicOffsets } from './topics.js';

/** A few records take milliseconds; this long means the broker is not answering. */
const READ_TIMEOUT_MS = 60_000;

/** Called per message in offset order within a partition; false stops the read. */
export type TopicVisitor = (partition: number, message: KafkaMessage) => boolean | void;

/**
 * Reads a topic from its first message up to the end it has when the read starts, and
 * returns that end per partition (empty when the topic does not exist). A throwaway
 * consumer group is used and deleted afterwards: kafkajs has no group-less consumer.
 */
export async function readTopicToEnd(kafka: Kafka, admin: Admin, topic: string, visit: TopicVisitor): Promise<Map<number, bigint>> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) return new Map();
  const offsets = await topicOffsets(admin, topic);
  const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  const remaining = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  if (remaining.size === 0) return ends;

  const groupId = `liteshift-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new LiteshiftError('KAFKA_UNREACHABLE', `reading ${topic} did not finish within ${READ_TIMEOUT_MS / 1000} s`, { retriable: true })),
        READ_TIMEOUT_MS,
      );
      let finished = false;
      const done = (): void => {
        finished = true;
        clearTimeout(timer);
        resolve();
      };
      const fail = (error: unknown): void => {
        clearTimeout(timer);
        reject(error);
      };
      // run() resolves once started; a consumer that dies later (the broker went away) only
      // says so by this event, and the read would otherwise wait forever.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) fail(payload.error);
      });
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const high = remaining.get(partition);
            if (finished || high === undefined || BigInt(message.offset) >= high) return;
            if (visit(partition, message) === false) return done();
            if (BigInt(message.offset) + 1n >= high) remaining.delete(partition);
            if (remaining.size === 0) done();
          },
        })
        .catch(fail);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return ends;
}

/** The latest value per key of a small compacted topic (schemas, control records), read to its current end. */
export async function readCompacted(kafka: Kafka, admin: Admin, topic: string): Promise<Map<string, Buffer | null>> {
  const latest = new Map<string, Buffer | null>();
  await readTopicToEnd(kafka, admin, topic, (_partition, message) => {
    if (message.key) latest.set(message.key.toString(), message.value);
  });
  return latest;
}
