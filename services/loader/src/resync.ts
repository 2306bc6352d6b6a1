/**
 * Re-synchronised tables, the loader's side. When the application rebuilds a table (CREATE
 * new, copy, DROP, RENAME: its capture triggers are dropped with it), the extractor puts
 * the triggers back and sends every row of the table again under a writer schema naming a
 * new epoch (TableModel.resyncEpoch), then the offsets that hold them all on the control
 * topic. Rows deleted while the table had no trigger were never announced: the loader
 * records the key of every change of the epoch it applies, and once those offsets are
 * applied it deletes the table's rows whose key it did not record (the sweep). Every
 * transaction here takes its locks in one order — the resyncs row, the target table, the
 * keys table — and an applied batch takes the target before the keys, so none can deadlock.
 */
import { createHash } from 'node:crypto';
import { META_SCHEMA, META_TABLES, pgColumnOf, pgTableName, qualified, quoteIdent, type ResyncMarker, type TableModel } from '@liteshift/shared';
import type pg from 'pg';
import type { AppliedOffsets } from './offsets.js';

/** The keys applied in a table's current epoch: a table of its key columns in the meta schema. */
export function resyncKeysTable(table: Pick<TableModel, 'name'>): string {
  return qualified(META_SCHEMA, `resync_keys_${createHash('sha256').update(table.name).digest('hex').slice(0, 16)}`);
}

function keyColumnList(table: TableModel): string {
  return table.key.map((k) => quoteIdent(pgColumnOf(table, k))).join(', ');
}

async function inTransaction<T>(client: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The resyncs row of a table, locked for this transaction (created at epoch 0 if missing). */
async function lockResync(client: pg.ClientBase, table: string): Promise<{ epoch: number; swept: boolean }> {
  await client.query(`INSERT INTO ${META_TABLES.resyncs} (table_name, epoch) VALUES ($1, 0) ON CONFLICT (table_name) DO NOTHING`, [table]);
  const r = await client.query<{ epoch: number; swept: boolean }>(`SELECT epoch, swept_at IS NOT NULL AS swept FROM ${META_TABLES.resyncs} WHERE table_name = $1 FOR UPDATE`, [table]);
  return r.rows[0]!;
}

/**
 * Begins the table's epoch (`table.resyncEpoch`) unless it has begun: an empty keys table.
 * Called when its writer schema is first met, which is before any row of the epoch is
 * decoded. Answers whether the epoch still collects keys (begun, not swept, not superseded).
 */
export async function beginResync(client: pg.ClientBase, schema: string, table: TableModel): Promise<boolean> {
  const epoch = table.resyncEpoch ?? 0;
  return inTransaction(client, async () => {
    const current = await lockResync(client, table.name);
    if (current.epoch >= epoch) return current.epoch === epoch && !current.swept;
    const target = qualified(schema, pgTableName(table));
    const keys = resyncKeysTable(table);
    await client.query(`LOCK TABLE ${target} IN EXCLUSIVE MODE`);
    await client.query(`DROP TABLE IF EXISTS ${keys}`);
    // The target's own key types, whatever they are (a column widened since, a table adopted).
    await client.query(`CREATE TABLE ${keys} AS SELECT ${keyColumnList(table)} FROM ${target} WITH NO DATA`);
    await client.query(`ALTER TABLE ${keys} ADD PRIMARY KEY (${keyColumnList(table)})`);
    await client.query(`UPDATE ${META_TABLES.resyncs} SET epoch = $2, started_at = now(), swept_at = NULL, deleted = NULL WHERE table_name = $1`, [table.name, epoch]);
    return true;
  });
}

/**
 * Records keys applied in the epoch: $1…$n the key columns as text arrays (keyRowsSql),
 * then the table name and the epoch. Nothing once the epoch is swept or superseded.
 */
export function recordKeysSql(table: TableModel, keyRows: string): string {
  const n = table.key.length;
  return (
    `INSERT INTO ${resyncKeysTable(table)} (${keyColumnList(table)}) SELECT * FROM (${keyRows}) d ` +
    `WHERE EXISTS (SELECT 1 FROM ${META_TABLES.resyncs} WHERE table_name = $${n + 1} AND epoch = $${n + 2} AND swept_at IS NULL) ON CONFLICT DO NOTHING`
  );
}

/**
 * Deletes the table's rows whose key the epoch did not apply; the caller has checked that
 * every offset of the epoch's rows is applied. Null when there was nothing to do (swept
 * already by another loader, or superseded by a newer epoch), else the rows deleted.
 */
export async function sweepResync(client: pg.ClientBase, schema: string, table: TableModel, epoch: number): Promise<number | null> {
  return inTransaction(client, async () => {
    const current = await lockResync(client, table.name);
    if (current.epoch !== epoch || current.swept) return null;
    const target = qualified(schema, pgTableName(table));
    const keys = resyncKeysTable(table);
    // No batch of the table applies meanwhile: a row it inserts is in both tables or in neither.
    await client.query(`LOCK TABLE ${target} IN EXCLUSIVE MODE`);
    const match = table.key.map((k) => `k.${quoteIdent(pgColumnOf(table, k))} = t.${quoteIdent(pgColumnOf(table, k))}`).join(' AND ');
    const deleted = (await client.query(`DELETE FROM ${target} t WHERE NOT EXISTS (SELECT 1 FROM ${keys} k WHERE ${match})`)).rowCount ?? 0;
    await client.query(`TRUNCATE ${keys}`);
    await client.query(`UPDATE ${META_TABLES.resyncs} SET swept_at = now(), deleted = $2 WHERE table_name = $1`, [table.name, deleted]);
    return deleted;
  });
}

/** The tables whose epoch still collects keys, swept each once every row of its epoch is applied (by any member of the group). */
export async function sweepApplied(o: {
  pending: readonly { table: TableModel; topic: string }[];
  markers: () => Promise<Map<string, ResyncMarker>>;
  offsets: AppliedOffsets;
  sweep: (table: TableModel, epoch: number) => Promise<number | null>;
  swept: (table: string, epoch: number, deleted: number | null) => void;
}): Promise<void> {
  if (o.pending.length === 0) return;
  const markers = await o.markers();
  await o.offsets.refresh();
  for (const { table, topic } of o.pending) {
    const marker = markers.get(table.name);
    if (!marker || marker.epoch !== table.resyncEpoch || marker.endOffsets[topic] === undefined || !o.offsets.reached(marker.endOffsets)) continue;
    o.swept(table.name, marker.epoch, await o.sweep(table, marker.epoch));
  }
}
