import {
  CHANGELOG,
  CHUNK_BYTES,
  MessageProducer,
  keyColumns,
  quoteIdent,
  rowBytes,
  rowidName,
  sqliteCompareExpr,
  sqliteReadExpr,
  sqliteTableRef,
  type Logger,
  type SqlValue,
  type SqliteDatabase,
  type TableModel,
} from '@liteshift/shared';
import type { Statement } from 'better-sqlite3';
import { EventDispatcher, type DispatchedRow } from './dispatcher.js';

/** Reads one row by key as SQLite holds it now, in the table model's column order. */
export function currentRowLookup(db: SqliteDatabase, table: TableModel): (key: readonly SqlValue[]) => SqlValue[] | undefined {
  const rowid = rowidName(table) ?? 'rowid';
  // Read as the snapshot and the stream read it (shared/src/schema/model.ts).
  const select = table.columns.map((c) => sqliteReadExpr(c, rowid)).join(', ');
  const where = table.keyIsRowid ? `${rowid} = ?` : keyColumns(table).map((c) => `${sqliteCompareExpr(c)} = ?`).join(' AND ');
  const statement: Statement = db.prepare(`SELECT ${select} FROM ${sqliteTableRef(table)} WHERE ${where}`).raw(true);
  return (key) => statement.get(...key) as SqlValue[] | undefined;
}

/**
 * Every row whose key is `key` now, a NULL matching a NULL: a declared key may hold NULL
 * in several rows (keyMayHoldNull), and a change to one of them names no one row. The
 * stream sends each of them, for the loader to reject each on its own.
 */
export function rowsWithKeyLookup(db: SqliteDatabase, table: TableModel): (key: readonly SqlValue[]) => SqlValue[][] {
  const select = table.columns.map((c) => sqliteReadExpr(c, rowidName(table) ?? 'rowid')).join(', ');
  const where = keyColumns(table).map((c) => `${sqliteCompareExpr(c)} IS ?`).join(' AND ');
  const statement: Statement = db.prepare(`SELECT ${select} FROM main.${quoteIdent(table.name)} WHERE ${where}`).raw(true);
  return (key) => statement.all(...key) as SqlValue[][];
}

export interface ReemitResult {
  upserts: number;
  deletes: number;
}

/**
 * Sends rows again by key, as they are now in SQLite: the current row as an update, or a
 * delete (and its tombstone) when the key is gone. This is how `liteshift repair` hands
 * the loader the rows that differ in PostgreSQL. The table model given is the one the
 * loader applies with (its writer schema is already on the schema topic), so nothing is
 * published and the loader decodes every event. Without capture, nothing else writes
 * these keys to Kafka meanwhile; with capture, use `requestReemit` instead.
 */
export class RowReemitter {
  private readonly producer: MessageProducer;
  private readonly dispatcher: EventDispatcher;

  constructor(
    private readonly db: SqliteDatabase,
    options: { brokers: string[]; topicPrefix: string; log: Logger },
  ) {
    this.producer = new MessageProducer({ brokers: options.brokers, clientId: 'liteshift-repair', log: options.log });
    this.dispatcher = new EventDispatcher(this.producer, options.topicPrefix);
  }

  /** Sends the keys' current rows; returns once Kafka has acknowledged them. Returns the topic written. */
  async emit(table: TableModel, keys: readonly SqlValue[][], chunkRows = 5000): Promise<ReemitResult & { topic: string }> {
    const topic = this.dispatcher.register(table);
    const lookup = currentRowLookup(this.db, table);
    const result = { upserts: 0, deletes: 0, topic };
    let rows: DispatchedRow[] = [];
    let bytes = 0;
    for (const [i, key] of keys.entries()) {
      const row = lookup(key);
      if (row) result.upserts++;
      else result.deletes++;
      rows.push(row ? { op: 'u', key: [...key], row, seq: 0n } : { op: 'd', key: [...key], row: null, seq: 0n });
      if (row) bytes += rowBytes(row);
      if (rows.length >= chunkRows || bytes >= CHUNK_BYTES || i === keys.length - 1) {
        await this.dispatcher.dispatch(table.name, rows);
        rows = [];
        bytes = 0;
      }
    }
    await this.dispatcher.flush();
    return result;
  }

  async close(): Promise<void> {
    await this.dispatcher.flush().catch(() => undefined);
    await this.producer.close().catch(() => undefined);
  }
}

/**
 * The same request for a database under change capture: the keys are appended to the
 * changelog, as the capture triggers would, so that the running `extract --follow`
 * re-reads them in sequence with the application's own changes. Sending them from here
 * instead could let an older read of a row reach Kafka after a newer one. `db` must be
 * writable. Returns the changelog head once the keys are in.
 */
export function requestReemit(db: SqliteDatabase, table: TableModel, keys: readonly SqlValue[][]): bigint {
  const width = table.keyIsRowid ? 1 : table.key.length;
  // The changelog's key columns are k1…kN (shared/src/sqlite/capture.ts).
  const columns = Array.from({ length: width }, (_, i) => `k${i + 1}`);
  const insert = db.prepare(`INSERT INTO ${quoteIdent(CHANGELOG)} (tbl, op, ${columns.join(', ')}) VALUES (?, 'u', ${columns.map(() => '?').join(', ')})`);
  let head = 0n;
  db.transaction(() => {
    for (const key of keys) head = BigInt(insert.run(table.name, ...key.slice(0, width)).lastInsertRowid);
  }).immediate();
  return head;
}
