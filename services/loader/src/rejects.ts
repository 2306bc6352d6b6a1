import { META_TABLES, type SqlValue } from '@liteshift/shared';
import type pg from 'pg';

/**
 * Rows PostgreSQL could not take (DESIGN contract 6): each goes to liteshift.rejects with
 * its table, key, column, value and reason, in the same transaction as the batch, and the
 * pipeline keeps moving. The verifier counts them; a later event of the same key that
 * applies resolves them.
 */
export interface RejectRow {
  table: string;
  key: SqlValue[];
  column: string | null;
  value: string | null;
  reason: string;
  offset: string;
  /** PostgreSQL's SQLSTATE when PostgreSQL refused the row; none when liteshift's own conversion did. */
  sqlstate?: string;
  /** What applying the row again takes, when its reason may pass later (parked-rejects.ts). */
  retry?: RetryPayload;
}

/** The row in PostgreSQL's text forms, by SQLite column name, or the key of a delete. */
export type RetryPayload = { columns: string[]; values: (string | null)[] } | { delete: (string | null)[] };

/**
 * Refusals that may pass later: a parent on another topic not applied yet (23503), a
 * unique value another row still holds while it moves between rows (23505), an
 * exclusion likewise (23P01).
 */
export const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set(['23503', '23505', '23P01']);

/**
 * Whether PostgreSQL refused the data rather than failed: data exceptions (class 22),
 * integrity violations (class 23) and a value too large for an index (54000). Any other
 * failure (connection, timeout, a missing table) stops the batch as before.
 */
export function refusedData(error: unknown): error is pg.DatabaseError {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23') || code === '54000');
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

/** A key as liteshift.rejects stores it (and finds it again). */
export function keyJson(key: readonly SqlValue[]): string {
  return JSON.stringify(jsonSafe(key));
}

export function shown(value: SqlValue): string | null {
  if (value === null) return null;
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex').slice(0, 2000)}`;
  return printable(String(value).slice(0, 2000));
}

export async function insertRejects(client: pg.ClientBase, rejects: readonly RejectRow[], topic: string, partition: number): Promise<void> {
  if (rejects.length === 0) return;
  await client.query(
    `INSERT INTO ${META_TABLES.rejects} (table_name, key, column_name, value, reason, topic, partition, "offset", sqlstate, retry, retry_after)
     SELECT t, k::jsonb, c, v, r, $6, $7, o::bigint, s, y::jsonb, CASE WHEN y IS NULL THEN NULL ELSE now() + interval '1 second' END
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $8::text[], $9::text[], $10::text[]) AS u(t, k, c, v, r, o, s, y)`,
    [
      rejects.map((r) => r.table),
      rejects.map((r) => keyJson(r.key)),
      rejects.map((r) => r.column),
      rejects.map((r) => r.value),
      rejects.map((r) => printable(r.reason)),
      topic,
      partition,
      rejects.map((r) => r.offset),
      rejects.map((r) => r.sqlstate ?? null),
      rejects.map((r) => (r.retry ? JSON.stringify(r.retry) : null)),
    ],
  );
}

/**
 * The rejects of these keys are over: each key's newer event has just applied, or been
 * refused again (its new reject replaces the old one). Asked first whether the table has
 * any, so that a clean load pays one index probe per batch and never decodes a key.
 */
export async function resolveRejects(client: pg.ClientBase, table: string, keys: () => readonly (readonly SqlValue[])[]): Promise<number> {
  const any = await client.query(`SELECT 1 FROM ${META_TABLES.rejects} WHERE table_name = $1 LIMIT 1`, [table]);
  if (any.rowCount === 0) return 0;
  // Asked only now: most keys of a batch are still encoded, and decoding them costs.
  const resolved = await client.query(`DELETE FROM ${META_TABLES.rejects} WHERE table_name = $1 AND key = ANY($2::jsonb[])`, [table, keys().map(keyJson)]);
  return resolved.rowCount ?? 0;
}
