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
/**
 * The way back (PostgreSQL → SQLite) has topics of its own under `<prefix>.reverse`: table
 * topics `<prefix>.reverse.<table>` and its own schema topic. Forward table topics never
 * contain a dot after the prefix, so the two never meet.
 */
export const reverseTopicPrefix = (prefix: string): string => `${prefix}.reverse`;

export interface TopicSpec {
  topic: string;
  partitions: number;
  compacted: boolean;
}

/**
 * How long a tombstone outlives compaction: a loader (or a replay) that reads a partition
 * later than this after a delete no longer sees it. Kafka's default is one day; a week
 * lets a loader stay down over a long weekend and still apply every delete.
 */
export const TOMBSTONE_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Table topics are compacted, never deleted by age: with a tombstone after every delete,
 * a replay from the beginning restores the latest state of every live key. The
 * dead-letter topic keeps every message until someone deals with it.
 */
export function topicConfig(spec: TopicSpec): { name: string; value: string }[] {
  const maxBytes = { name: 'max.message.bytes', value: String(16 * 1024 * 1024) };
  if (spec.compacted) {
    return [{ name: 'cleanup.policy', value: 'compact' }, { name: 'delete.retention.ms', value: String(TOMBSTONE_RETENTION_MS) }, maxBytes];
  }
  return [{ name: 'cleanup.policy', value: 'delete' }, { name: 'retention.ms', value: '-1' }, maxBytes];
}

/**
 * Creates the topics of `specs` that do not exist yet; returns those it created. The
 * extractor and the loader both create the topics they share, often at the same moment:
 * a topic the other created meanwhile, or one whose metadata the broker does not serve
 * yet, makes the attempt start over (kafkajs gives up on both).
 */
export function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  return retry(() => createMissing(admin, specs), {
    retries: 10,
    initialDelayMs: 100,
    maxDelayMs: 2_000,
    isRetriable: (e) => isRetriableKafkaError(e) || ((e as { errors?: unknown[] }).errors ?? []).some((inner) => isRetriableKafkaError(inner) || (inner as { type?: string }).type === 'TOPIC_ALREADY_EXISTS'),
  });
}

async function createMissing(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions,
      replicationFactor: -1,
      configEntries: topicConfig(s),
    })),
  });
  // createTopics(waitForLeaders) can return before every partition leader answers
  // (NOT_LEADER_OR_FOLLOWER): wait until each new topic's offsets can be read.
  for (const spec of missing) await endOffsets(admin, spec.topic);
  return missing.map((s) => s.topic);
}

/** kafkajs marks errors that another attempt can cure (leader moves, topics still being created). */
export const isRetriableKafkaError = (error: unknown): boolean => (error as { retriable?: boolean } | null)?.retriable === true;

const OUTAGE_ERRORS = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
]);

/**
 * A broker that is down or restarting, as a long-running service sees it: kafkajs gives
 * up after its own retries (KafkaJSNumberOfRetriesExceeded, marked not retriable), which
 * for a service only means "wait and try again".
 */
export function isKafkaOutage(error: unknown): boolean {
  for (let e = error as { name?: string; retriable?: boolean; code?: string; cause?: unknown } | null | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.retriable === true || (e.name !== undefined && OUTAGE_ERRORS.has(e.name))) return true;
    if (e.code === 'KAFKA_UNREACHABLE' || e.code === 'KAFKA_FAILED') return true;
    e = e.cause as typeof e;
  }
  return false;
}

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

/** Low watermarks (first offset still held) per partition. */
export async function startOffsets(admin: Admin, topic: string): Promise<PartitionOffsets> {
  return Object.fromEntries((await topicOffsets(admin, topic)).map((o) => [o.partition, o.low]));
}

/** Per partition, the first offset written at or after `at`; the end where nothing is that recent. */
export function offsetsAt(admin: Admin, topic: string, at: Date): Promise<PartitionOffsets> {
  return retry(
    async () => Object.fromEntries((await admin.fetchTopicOffsetsByTimestamp(topic, at.getTime())).map((o) => [o.partition, o.offset])),
    { retries: 10, initialDelayMs: 100, maxDelayMs: 2_000, isRetriable: isRetriableKafkaError },
  );
}
