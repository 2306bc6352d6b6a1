import { createHash } from 'node:crypto';
import type { ColumnModel, TableModel } from '../schema/model.js';
import { envelopeSchema } from '../contracts/change-event.js';
import { VALUE_UNION } from './binary.js';

/**
 * A table's change-event schemas: the row (and key) records of the envelope the contract
 * states (contracts/change-event.ts), derived from the table model. Every column is the
 * union of SQLite's storage classes, so a value reaches Kafka exactly as SQLite stored it
 * (an INTEGER column may hold text; longs stay 64-bit); converting it to the PostgreSQL
 * type is the loader's job, where a refused value becomes a reject.
 */


export type AvroSchema = Record<string, unknown>;

export interface TableSchemas {
  /** Avro field name per column, in column order (SQLite names need not be valid Avro names). */
  fieldNames: string[];
  keyFieldNames: string[];
  value: AvroSchema;
  key: AvroSchema;
  /** SHA-256 of both schemas, first 16 hex digits: names the writer schema in every message. */
  fingerprint: string;
}

export function avroFieldNames(names: readonly string[]): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    let base = name.replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z_]/.test(base)) base = `_${base}`;
    let candidate = base;
    for (let i = 2; used.has(candidate); i++) candidate = `${base}_${i}`;
    used.add(candidate);
    return candidate;
  });
}

function namespaceOf(table: string): string {
  const safe = avroFieldNames([table])[0]!;
  return `liteshift.tables.${safe}`;
}

/**
 * What the loader converts a column's values by: its kind, PostgreSQL type and epoch unit.
 * Part of the writer schema, so that a column planned anew (a restart profiling other
 * data, a table rebuilt with another type) names a new writer schema.
 */
export function columnTypeTag(column: ColumnModel): string {
  return [column.kind, column.pgType, ...(column.epoch ? [column.epoch] : [])].join(' ');
}

export function tableSchemas(table: TableModel): TableSchemas {
  const fieldNames = avroFieldNames(table.columns.map((c) => c.name));
  const keyFieldNames = table.key.map((k) => fieldNames[table.columns.findIndex((c) => c.name === k)]!);
  const column = (c: ColumnModel, field: string) => ({
    name: field,
    type: [...VALUE_UNION],
    default: null,
    'liteshift.column': c.name,
    'liteshift.type': columnTypeTag(c),
  });
  const rowFields = table.columns.map((c, i) => column(c, fieldNames[i]!));
  const namespace = namespaceOf(table.name);
  const row = { type: 'record', name: 'Row', fields: rowFields, ...(table.resyncEpoch ? { 'liteshift.resyncEpoch': table.resyncEpoch } : {}) };
  const value: AvroSchema = envelopeSchema(namespace, table.name, row);
  const key: AvroSchema = {
    type: 'record',
    name: 'Key',
    namespace,
    fields: table.key.map((k, i) => column(table.columns.find((c) => c.name === k)!, keyFieldNames[i]!)),
  };
  // Over the whole JSON, not Avro's canonical form: that form drops the original column
  // names, and two tables differing only in them must not share a writer schema.
  const fingerprint = createHash('sha256').update(JSON.stringify({ value, key })).digest('hex').slice(0, 16);
  return { fieldNames, keyFieldNames, value, key, fingerprint };
}
