import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { topicOffsets } from './topics.js';

/**
 * Reads a small compacted topic (schemas, control records) from the beginning to its
 * current end and returns the latest value per key. A throwaway consumer group is used
 * and deleted afterwards: kafkajs has no group-less consumer.
 */
export async function readCompacted(kafka: Kafka, admin: Admin, topic: string): Promise<Map<string, Buffer | null>> {
  const latest = new Map<string, Buffer | null>();
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) return latest;
  const offsets = await topicOffsets(admin, topic);
  const remaining = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  if (remaining.size === 0) return latest;

  const groupId = `liteshift-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            if (message.key) latest.set(message.key.toString(), message.value);
            const high = remaining.get(partition);
            if (high !== undefined && BigInt(message.offset) + 1n >= high) remaining.delete(partition);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return latest;
}
