import { META_TABLES, type SqlValue } from '@liteshift/shared';
import type pg from 'pg';

/**
 * Rows PostgreSQL could not take (DESIGN contract 6): each goes to liteshift.rejects with
 * its table, key, column, value and reason, in the same transaction as the batch, and the
 * pipeline keeps moving. The verifier counts them.
 */
export interface RejectRow {
  table: string;
  key: SqlValue[];
  column: string | null;
  value: string | null;
  reason: string;
  offset: string;
}

/** PostgreSQL text and jsonb cannot hold NUL, which is often the very reason for a reject. */
export function printable(text: string): string {
  return text.replace(/\u0000/g, '\\0');
}

function jsonSafe(values: readonly SqlValue[]): unknown[] {
  return values.map((v) =>
    typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? `\\x${Buffer.from(v).toString('hex')}` : typeof v === 'string' ? printable(v) : v,
  );
}

export function shown(value: SqlValue): string | null {
  if (value === null) return null;
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex').slice(0, 2000)}`;
  return printable(String(value).slice(0, 2000));
}

export async function insertRejects(client: pg.ClientBase, rejects: readonly RejectRow[], topic: string, partition: number): Promise<void> {
  if (rejects.length === 0) return;
  await client.query(
    `INSERT INTO ${META_TABLES.rejects} (table_name, key, column_name, value, reason, topic, partition, "offset")
     SELECT t, k::jsonb, c, v, r, $6, $7, o::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $8::text[]) AS u(t, k, c, v, r, o)`,
    [
      rejects.map((r) => r.table),
      rejects.map((r) => JSON.stringify(jsonSafe(r.key))),
      rejects.map((r) => r.column),
      rejects.map((r) => r.value),
      rejects.map((r) => printable(r.reason)),
      topic,
      partition,
      rejects.map((r) => r.offset),
    ],
  );
}
