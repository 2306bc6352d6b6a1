/**
 * Rows parked in liteshift.rejects for a reason that may pass (rejects.ts
 * TRANSIENT_SQLSTATES: a parent on another topic not applied yet, a unique value still
 * held by another row) are applied again: by the following loader with a growing delay
 * (1, 2, 4 … 32 s, then left for cutover), and once more by cutover after its drain, when
 * every parent is in. Each retry holds its partition's offset lock, as the apply
 * transaction does: a newer event of the same key is either applied before (and the
 * reject is gone) or after (and wins).
 */
import { META_TABLES, errorMessage, lockOffset, pgTableName, qualified, type TableModel } from '@liteshift/shared';
import type pg from 'pg';
import { printable, refusedData, type RetryPayload } from './rejects.js';
import { conflictClause, deleteByKeySql } from './table-applier.js';

/** Retries a loader makes before a reject waits for cutover. */
const LOADER_RETRIES = 6;

export interface ParkedRetry {
  group: string;
  schema: string;
  tables: ReadonlyMap<string, TableModel>;
  /** Only those whose delay is over and whose retries are not spent (the loader); every one (cutover). */
  due: boolean;
}

interface Parked {
  id: string;
  table_name: string;
  topic: string | null;
  partition: number | null;
  retry: RetryPayload;
}

/** Applies again what is parked; returns how many applied and how many are still refused. */
export async function retryParked(client: pg.ClientBase, o: ParkedRetry): Promise<{ applied: number; refused: number }> {
  const parked = await client.query<Parked>(
    `SELECT id, table_name, topic, partition, retry FROM ${META_TABLES.rejects}
      WHERE retry IS NOT NULL ${o.due ? `AND attempts < ${LOADER_RETRIES} AND retry_after <= now()` : ''} ORDER BY id LIMIT 1000`,
  );
  let applied = 0;
  let refused = 0;
  for (const reject of parked.rows) {
    const table = o.tables.get(reject.table_name);
    if (!table) continue;
    await client.query('BEGIN');
    try {
      if (reject.topic !== null && reject.partition !== null) await lockOffset(client, o.group, reject.topic, reject.partition);
      const still = await client.query(`SELECT 1 FROM ${META_TABLES.rejects} WHERE id = $1 FOR UPDATE`, [reject.id]);
      if (still.rowCount === 1) {
        await client.query('SAVEPOINT liteshift_retry');
        try {
          await applyAgain(client, o.schema, table, reject.retry);
          await client.query(`DELETE FROM ${META_TABLES.rejects} WHERE id = $1`, [reject.id]);
          applied++;
        } catch (error) {
          await client.query('ROLLBACK TO SAVEPOINT liteshift_retry');
          if (!refusedData(error)) throw error;
          await client.query(
            `UPDATE ${META_TABLES.rejects} SET attempts = attempts + 1, retry_after = now() + make_interval(secs => 2 ^ (attempts + 1)), reason = $2, sqlstate = $3
              WHERE id = $1`,
            [reject.id, printable(errorMessage(error)), error.code],
          );
          refused++;
        }
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
  return { applied, refused };
}

async function applyAgain(client: pg.ClientBase, schema: string, table: TableModel, retry: RetryPayload): Promise<void> {
  const target = qualified(schema, pgTableName(table));
  if ('delete' in retry) {
    await client.query(deleteByKeySql(table, target), retry.delete.map((k) => [k]));
    return;
  }
  // Columns the table no longer has (dropped in SQLite since) are left out.
  const present = retry.columns.map((name, i) => ({ index: table.columns.findIndex((c) => c.name === name), value: retry.values[i] ?? null })).filter((c) => c.index >= 0);
  const indexes = present.map((c) => c.index);
  const { names, conflict } = conflictClause(table, indexes);
  // Untyped parameters: PostgreSQL reads each text form as its column's type.
  await client.query(`INSERT INTO ${target} (${names}) VALUES (${present.map((_, i) => `$${i + 1}`).join(', ')}) ${conflict}`, present.map((c) => c.value));
}
