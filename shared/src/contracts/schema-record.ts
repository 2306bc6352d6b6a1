import type { TableModel } from '../schema/model.js';
import { trustedTableModel } from '../schema/trusted-model.js';
import { tableSchemas, type AvroSchema } from '../avro/change-event.js';
import { tableTopic } from '../kafka/topics.js';

/**
 * A writer schema as published on the schema topic (`<prefix>._schemas`, compacted, keyed
 * by fingerprint), with the table model it was derived from: the extractor publishes
 * them, the loader and repair read them. A record of another version is not ours to read.
 */
export const SCHEMA_RECORD_VERSION = 1;

export interface SchemaRecord {
  version: typeof SCHEMA_RECORD_VERSION;
  fingerprint: string;
  topic: string;
  table: TableModel;
  avro: { key: AvroSchema; value: AvroSchema };
  publishedAt: string;
}

export function schemaRecord(table: TableModel, topic: string): SchemaRecord {
  const schemas = tableSchemas(table);
  return {
    version: SCHEMA_RECORD_VERSION,
    fingerprint: schemas.fingerprint,
    topic,
    table,
    avro: { key: schemas.key, value: schemas.value },
    publishedAt: new Date().toISOString(),
  };
}

/** A record as read: usable, or why not (and its table, when it names one). */
export type SchemaRecordReading = { record: SchemaRecord } | { invalid: string; table?: string };

/**
 * The one reader of schema records: null for a tombstone or a record of another version.
 * Its table model is data from a topic, checked and its SQL made again before anything
 * builds DDL from it (schema/trusted-model.ts); it must be the schema its fingerprint names,
 * on the topic its table's name gives.
 */
export function readSchemaRecord(value: Buffer | null, prefix: string): SchemaRecordReading | null {
  if (!value) return null;
  let raw: Partial<SchemaRecord>;
  try {
    raw = JSON.parse(value.toString()) as Partial<SchemaRecord>;
  } catch {
    return { invalid: 'not JSON' };
  }
  if (raw === null || typeof raw !== 'object') return { invalid: 'not a JSON object' };
  if (raw.version !== SCHEMA_RECORD_VERSION) return null;
  const named = typeof raw.table?.name === 'string' ? { table: raw.table.name } : {};
  try {
    const table = trustedTableModel(raw.table);
    const schemas = tableSchemas(table);
    if (raw.fingerprint !== schemas.fingerprint) return { invalid: `fingerprint ${String(raw.fingerprint)} is not that of its schema (${schemas.fingerprint})`, ...named };
    if (raw.topic !== tableTopic(prefix, table.name)) return { invalid: `topic ${String(raw.topic)} is not table ${table.name}'s topic`, ...named };
    return { record: { version: SCHEMA_RECORD_VERSION, fingerprint: schemas.fingerprint, topic: raw.topic, table, avro: { key: schemas.key, value: schemas.value }, publishedAt: String(raw.publishedAt) } };
  } catch (error) {
    return { invalid: (error as Error).message, ...named };
  }
}

/** Of several writer schemas, the newest per table: it defines the target table. */
export function newestPerTable(records: Iterable<SchemaRecord>): Map<string, SchemaRecord> {
  const newest = new Map<string, SchemaRecord>();
  for (const record of records) {
    const current = newest.get(record.table.name);
    if (!current || current.publishedAt < record.publishedAt) newest.set(record.table.name, record);
  }
  return newest;
}
