import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { MessageProducer } from './producer.js';
import { readTopicToEnd } from './topic-reader.js';
import { deadLetterTopic, topicOffsets } from './topics.js';

/** Headers the loader puts on a dead letter: where the message was and why it could not be applied. */
export const DEAD_LETTER_HEADERS = {
  reason: 'liteshift.dlq.reason',
  topic: 'liteshift.dlq.topic',
  partition: 'liteshift.dlq.partition',
  offset: 'liteshift.dlq.offset',
} as const;

/** A message the loader could not decode, and why: it goes to the dead-letter topic unchanged. */
export interface UndecodedMessage {
  message: KafkaMessage;
  reason: string;
}

/** Sends messages of one table partition to the dead-letter topic, each with where it was and why. */
export async function sendDeadLetters(producer: MessageProducer, prefix: string, topic: string, partition: number, letters: readonly UndecodedMessage[]): Promise<void> {
  await producer.send(
    deadLetterTopic(prefix),
    letters.map(({ message, reason }) => ({
      key: message.key,
      value: message.value,
      headers: {
        [DEAD_LETTER_HEADERS.reason]: reason,
        [DEAD_LETTER_HEADERS.topic]: topic,
        [DEAD_LETTER_HEADERS.partition]: String(partition),
        [DEAD_LETTER_HEADERS.offset]: message.offset,
      },
    })),
  );
}

export interface DeadLetter {
  /** Where the loader found it; null when a header is missing (not written by liteshift). */
  from: { topic: string; partition: number; offset: string } | null;
  reason: string;
  /** The key as it was on its topic (the Avro-encoded primary key, or whatever a foreign producer wrote). */
  key: Buffer | null;
  valueBytes: number;
  /** When the loader dead-lettered it (the message timestamp), ISO-8601. */
  at: string;
  /** Its own place on the dead-letter topic. */
  partition: number;
  offset: string;
}

export interface DeadLetterListing {
  topic: string;
  /** Messages on the dead-letter topic now. */
  total: number;
  /** The first `limit` of them, oldest first. */
  letters: DeadLetter[];
  /** Per partition, the offset the listing counted up to: what `clearDeadLetters` removes. */
  ends: Map<number, bigint>;
}

/** Low and high watermarks of the dead-letter topic; none when it does not exist yet. */
async function watermarks(admin: Admin, topic: string): Promise<{ partition: number; low: string; high: string }[]> {
  return (await admin.listTopics()).includes(topic) ? topicOffsets(admin, topic) : [];
}

const held = (offsets: readonly { low: string; high: string }[]): number => offsets.reduce((n, o) => n + Number(BigInt(o.high) - BigInt(o.low)), 0);

/** Messages on the dead-letter topic (0 when it does not exist yet). */
export async function countDeadLetters(admin: Admin, prefix: string): Promise<number> {
  return held(await watermarks(admin, deadLetterTopic(prefix)));
}

/** The dead letters held now: all counted, at most `limit` read (a foreign producer may have sent millions). */
export async function listDeadLetters(kafka: Kafka, admin: Admin, prefix: string, limit: number): Promise<DeadLetterListing> {
  const topic = deadLetterTopic(prefix);
  const offsets = await watermarks(admin, topic);
  const total = held(offsets);
  const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  const letters: DeadLetter[] = [];
  if (total > 0 && limit > 0) {
    // Only what was counted: a letter arriving meanwhile is neither listed nor cleared.
    await readTopicToEnd(kafka, admin, topic, (partition, message) => {
      if (BigInt(message.offset) < ends.get(partition)!) letters.push(deadLetter(partition, message));
      return letters.length < limit;
    });
  }
  return { topic, total, letters, ends };
}

/**
 * Deletes the dead letters up to the listed ends (Kafka's DeleteRecords: the topic stays,
 * its start moves on), so `status` and `verify` stop counting them. A letter that arrived
 * after the listing is kept. Returns how many were deleted.
 */
export async function clearDeadLetters(admin: Admin, listing: DeadLetterListing): Promise<number> {
  if (listing.ends.size === 0) return 0;
  const before = await topicOffsets(admin, listing.topic);
  const partitions = before
    .filter((o) => (listing.ends.get(o.partition) ?? 0n) > BigInt(o.low))
    .map((o) => ({ partition: o.partition, offset: String(listing.ends.get(o.partition)) }));
  if (partitions.length === 0) return 0;
  await admin.deleteTopicRecords({ topic: listing.topic, partitions });
  return partitions.reduce((n, p) => n + Number(BigInt(p.offset) - BigInt(before.find((o) => o.partition === p.partition)!.low)), 0);
}

function deadLetter(partition: number, message: KafkaMessage): DeadLetter {
  const header = (name: string): string | undefined => {
    const value = message.headers?.[name];
    return value === undefined ? undefined : String(Array.isArray(value) ? value[0] : value);
  };
  const topic = header(DEAD_LETTER_HEADERS.topic);
  const from = header(DEAD_LETTER_HEADERS.partition);
  const offset = header(DEAD_LETTER_HEADERS.offset);
  return {
    from: topic !== undefined && from !== undefined && offset !== undefined ? { topic, partition: Number(from), offset } : null,
    reason: header(DEAD_LETTER_HEADERS.reason) ?? 'no reason given (not written by the liteshift loader)',
    key: message.key,
    valueBytes: message.value?.length ?? 0,
    at: new Date(Number(message.timestamp)).toISOString(),
    partition,
    offset: message.offset,
  };
}
