import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { MessageProducer } from './producer.js';
import { readSchemaRecord, type SchemaRecord } from '../contracts/schema-record.js';
import { readCompacted, readTopicToEnd } from './topic-reader.js';
import { controlTopic, schemaTopic, type PartitionOffsets } from './topics.js';

export async function publishSchemas(producer: MessageProducer, prefix: string, records: readonly SchemaRecord[]): Promise<void> {
  await producer.send(
    schemaTopic(prefix),
    records.map((r) => ({ key: Buffer.from(r.fingerprint), value: Buffer.from(JSON.stringify(r)) })),
  );
}

/** A message of the schema topic that is no usable writer schema, and why (schema-record.ts). */
export interface InvalidSchemaMessage {
  partition: number;
  message: KafkaMessage;
  reason: string;
  /** The table it names, if it names one. */
  table?: string;
}

/** The writer schemas on the schema topic by fingerprint; each message that is none goes to `onInvalid`. */
export async function readSchemas(kafka: Kafka, admin: Admin, prefix: string, onInvalid?: (invalid: InvalidSchemaMessage) => void): Promise<Map<string, SchemaRecord>> {
  const latest = new Map<string, { partition: number; message: KafkaMessage }>();
  await readTopicToEnd(kafka, admin, schemaTopic(prefix), (partition, message) => {
    if (message.key) latest.set(message.key.toString(), { partition, message });
  });
  const out = new Map<string, SchemaRecord>();
  for (const [key, { partition, message }] of latest) {
    const reading = readSchemaRecord(message.value, prefix);
    if (reading === null) continue;
    if ('record' in reading) out.set(key, reading.record);
    else onInvalid?.({ partition, message, reason: reading.invalid, ...(reading.table !== undefined ? { table: reading.table } : {}) });
  }
  return out;
}

/**
 * The extractor's snapshot, as told to the loader: which tables, and the end offsets
 * that, once applied, mean every snapshot row is in PostgreSQL.
 */
export interface SnapshotMarker {
  snapshotId: string;
  watermark: string;
  startedAt: string;
  completedAt: string | null;
  tables: Record<string, { topic: string; rows: number }>;
  endOffsets: Record<string, PartitionOffsets>;
}

const SNAPSHOT_KEY = 'snapshot';
const HEARTBEAT_KEY = 'extractor-heartbeat';

/**
 * A following extractor says it is alive on the control topic every few seconds (as
 * Debezium's heartbeats do), without writing to the application's SQLite file: cutover
 * fences only while one is.
 */
export interface ExtractorHeartbeat {
  at: string;
  /** The changelog sequence Kafka had acknowledged then. */
  position: string;
}

export async function publishHeartbeat(producer: MessageProducer, prefix: string, heartbeat: ExtractorHeartbeat): Promise<void> {
  await producer.send(controlTopic(prefix), [{ key: Buffer.from(HEARTBEAT_KEY), value: Buffer.from(JSON.stringify(heartbeat)) }]);
}

export async function readHeartbeat(kafka: Kafka, admin: Admin, prefix: string): Promise<ExtractorHeartbeat | null> {
  const value = (await readCompacted(kafka, admin, controlTopic(prefix))).get(HEARTBEAT_KEY);
  return value ? (JSON.parse(value.toString()) as ExtractorHeartbeat) : null;
}

export async function publishSnapshotMarker(producer: MessageProducer, prefix: string, marker: SnapshotMarker): Promise<void> {
  await producer.send(controlTopic(prefix), [{ key: Buffer.from(SNAPSHOT_KEY), value: Buffer.from(JSON.stringify(marker)) }]);
}

export async function readSnapshotMarker(kafka: Kafka, admin: Admin, prefix: string): Promise<SnapshotMarker | null> {
  const raw = await readCompacted(kafka, admin, controlTopic(prefix));
  const value = raw.get(SNAPSHOT_KEY);
  return value ? (JSON.parse(value.toString()) as SnapshotMarker) : null;
}

/**
 * A table re-synchronised by the extractor (rebuilt by the application, or its types
 * planned anew): every row it holds was sent again under a writer schema of `epoch`, and
 * once the loader has applied `endOffsets` it deletes the rows that epoch did not send
 * (rows that vanished while the table had no capture trigger).
 */
export interface ResyncMarker {
  table: string;
  epoch: number;
  /** The changelog head before the table was read again. */
  watermark: string;
  rows: number;
  /** The table's topic → its end offsets once every row was acknowledged. */
  endOffsets: Record<string, PartitionOffsets>;
  completedAt: string;
}

const RESYNC_KEY_PREFIX = 'resync:';

export async function publishResyncMarker(producer: MessageProducer, prefix: string, marker: ResyncMarker): Promise<void> {
  await producer.send(controlTopic(prefix), [{ key: Buffer.from(`${RESYNC_KEY_PREFIX}${marker.table}`), value: Buffer.from(JSON.stringify(marker)) }]);
}

/** The latest re-synchronisation of each table, by table name. */
export async function readResyncMarkers(kafka: Kafka, admin: Admin, prefix: string): Promise<Map<string, ResyncMarker>> {
  const out = new Map<string, ResyncMarker>();
  for (const [key, value] of await readCompacted(kafka, admin, controlTopic(prefix))) {
    if (key.startsWith(RESYNC_KEY_PREFIX) && value) out.set(key.slice(RESYNC_KEY_PREFIX.length), JSON.parse(value.toString()) as ResyncMarker);
  }
  return out;
}
