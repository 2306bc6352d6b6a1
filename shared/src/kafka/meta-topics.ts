import type { Admin, Kafka } from 'kafkajs';
import type { MessageProducer } from './producer.js';
import { parseSchemaRecord, type SchemaRecord } from '../contracts/schema-record.js';
import { readCompacted } from './topic-reader.js';
import { controlTopic, schemaTopic, type PartitionOffsets } from './topics.js';

export async function publishSchemas(producer: MessageProducer, prefix: string, records: readonly SchemaRecord[]): Promise<void> {
  await producer.send(
    schemaTopic(prefix),
    records.map((r) => ({ key: Buffer.from(r.fingerprint), value: Buffer.from(JSON.stringify(r)) })),
  );
}

export async function readSchemas(kafka: Kafka, admin: Admin, prefix: string): Promise<Map<string, SchemaRecord>> {
  const raw = await readCompacted(kafka, admin, schemaTopic(prefix));
  const out = new Map<string, SchemaRecord>();
  for (const [key, value] of raw) {
    const record = parseSchemaRecord(value);
    if (record) out.set(key, record);
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
