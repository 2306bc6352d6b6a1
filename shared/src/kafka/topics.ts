import { createHash } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { retry } from '../retry.js';

/** Topic of a table: `<prefix>.<table>`; names Kafka cannot carry get a hash suffix to stay distinct. */
export function tableTopic(prefix: string, table: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$/.test(table)) return `${prefix}.${table}`;
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 8);
  const safe = table.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^_+/, '').slice(0, 150);
  return `${prefix}.${safe}${safe ? '-' : ''}${hash}`;
}

export const schemaTopic = (prefix: string): string => `${prefix}._schemas`;
export const controlTopic = (prefix: string): string => `${prefix}._control`;
export const deadLetterTopic = (prefix: string): string => `${prefix}._dlq`;

export interface TopicSpec {
  topic: string;
  partitions: number;
  compacted: boolean;
}

/**
 * Table topics are compacted: with a tombstone after every delete, a replay from the
 * beginning restores the latest state of every live key.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions,
      replicationFactor: -1,
      configEntries: s.compacted
        ? [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'max.message.bytes', value: String(16 * 1024 * 1024) },
          ]
        : [{ name: 'max.message.bytes', value: String(16 * 1024 * 1024) }],
    })),
  });
  // createTopics(waitForLeaders) can return before every partition leader answers
  // (NOT_LEADER_OR_FOLLOWER): wait until each new topic's offsets can be read.
  for (const spec of missing) await endOffsets(admin, spec.topic);
  return missing.map((s) => s.topic);
}

/** kafkajs marks errors that another attempt can cure (leader moves, topics still being created). */
export const isRetriableKafkaError = (error: unknown): boolean => (error as { retriable?: boolean } | null)?.retriable === true;

export type PartitionOffsets = Record<number, string>;

/**
 * Low and high watermarks per partition, retried while a partition's leader is not yet
 * known (a topic just created, a broker restarting).
 */
export function topicOffsets(admin: Admin, topic: string): Promise<{ partition: number; low: string; high: string }[]> {
  return retry(() => admin.fetchTopicOffsets(topic), { retries: 10, initialDelayMs: 100, maxDelayMs: 2_000, isRetriable: isRetriableKafkaError });
}

/** High watermarks (next offset to be written) per partition. */
export async function endOffsets(admin: Admin, topic: string): Promise<PartitionOffsets> {
  return Object.fromEntries((await topicOffsets(admin, topic)).map((o) => [o.partition, o.high]));
}
