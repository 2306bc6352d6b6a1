import type { TableModel } from '../schema/model.js';
import { tableSchemas, type AvroSchema } from '../avro/change-event.js';

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

/** The one reader of schema records: null for a tombstone or a record of another version. */
export function parseSchemaRecord(value: Buffer | null): SchemaRecord | null {
  if (!value) return null;
  const record = JSON.parse(value.toString()) as SchemaRecord;
  return record.version === SCHEMA_RECORD_VERSION ? record : null;
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
