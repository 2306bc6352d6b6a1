import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type pg from 'pg';
import { TRANSIENT_SQLSTATES, shown, type RejectRow, type RetryPayload } from './rejects.js';
import { recordKeysSql } from './resync.js';
import {
  AvroCopyTranscoder,
  ByteBuffer,
  Rejection,
  copyRow,
  pgColumnName,
  pgColumnOf,
  pgTableName,
  qualified,
  quoteIdent,
  toPgText,
  type ColumnModel,
  type SqlValue,
  type TableModel,
} from '@liteshift/shared';

/** One decoded message, ready to apply: the last event of its key within a batch. */
export interface KeyedChange {
  /** Key values, in the table's key order. */
  key: SqlValue[];
  /** Row in the target model's column order; null means delete. */
  row: SqlValue[] | null;
  /** Target columns the event's writer schema has, when not all of them. */
  columns?: readonly number[];
  offset: string;
  /** An upsert in the target's own writer schema, still encoded: its row's columns start at `at` of `value`. */
  encoded?: { value: Buffer; at: number };
  /** The re-synchronisation epoch of the event's writer schema (0 before any); none for a tombstone. */
  epoch?: number;
}

export interface ApplyStats {
  upserted: number;
  deleted: number;
  rejected: number;
}

/** The statements for one set of columns: all of them, or the part an older writer schema knew. */
export interface ColumnSetSql {
  indexes: readonly number[];
  /** COPY … FROM STDIN into the target and into the staging table, without the format option. */
  copyDirect: string;
  copyStage: string;
  upsert: string;
}

/** A batch's COPY data for one column set: text lines (the general path's, and the transcoder's in text), binary (the transcoder's). */
interface CopyData {
  text: Buffer | null;
  binary: Buffer | null;
}

/**
 * The statements for the columns at `indexes` of `table` (all when undefined). Columns an
 * event's writer schema does not have (added in SQLite after it was written) are left out
 * of the insert and the update: PostgreSQL's default (SQLite's, translated) fills a new
 * row, and an existing row keeps what it has. A table of key columns only has nothing to update.
 */
export function columnSetSql(table: TableModel, target: string, stage: string, indexes: readonly number[] | undefined): ColumnSetSql {
  const chosen = indexes ?? table.columns.map((_, i) => i);
  const { names, conflict } = conflictClause(table, chosen);
  return {
    indexes: chosen,
    copyDirect: `COPY ${target} (${names}) FROM STDIN`,
    copyStage: `COPY pg_temp.${stage} (${names}) FROM STDIN`,
    upsert: `INSERT INTO ${target} (${names}) SELECT ${names} FROM pg_temp.${stage} ${conflict}`,
  };
}

/** The column list of the columns at `indexes`, and the ON CONFLICT clause that upserts them by the table's key. */
export function conflictClause(table: TableModel, indexes: readonly number[]): { names: string; conflict: string } {
  const names = indexes.map((i) => quoteIdent(pgColumnName(table.columns[i]!))).join(', ');
  const keySet = new Set(table.key);
  const updates = indexes
    .map((i) => table.columns[i]!)
    .filter((c) => !keySet.has(c.name))
    .map((c) => `${quoteIdent(pgColumnName(c))} = EXCLUDED.${quoteIdent(pgColumnName(c))}`);
  const conflict = `ON CONFLICT (${table.key.map((k) => quoteIdent(pgColumnOf(table, k))).join(', ')}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`;
  return { names, conflict };
}

/** Keys as rows: one text array per key column ($1, $2, …), each value cast to its column's type. */
export function keyRowsSql(table: TableModel): string {
  const keyColumns = table.key.map((k) => table.columns.find((c) => c.name === k)!);
  const unnestArgs = keyColumns.map((_, i) => `$${i + 1}::text[]`).join(', ');
  const aliases = keyColumns.map((_, i) => `k${i}`);
  const casts = keyColumns.map((c, i) => `${aliases[i]}::${c.pgType} AS ${quoteIdent(pgColumnName(c))}`).join(', ');
  return `SELECT ${casts} FROM unnest(${unnestArgs}) AS u(${aliases.join(', ')})`;
}

/** Deletes by key: the keys as keyRowsSql takes them. */
export function deleteByKeySql(table: TableModel, target: string): string {
  const match = table.key.map((k) => `t.${quoteIdent(pgColumnOf(table, k))} = d.${quoteIdent(pgColumnOf(table, k))}`).join(' AND ');
  return `DELETE FROM ${target} t USING (${keyRowsSql(table)}) d WHERE ${match}`;
}

/**
 * Applies one batch of one table to PostgreSQL inside the caller's transaction: upserts
 * through a COPY into a temporary staging table, deletes by key, and rows PostgreSQL
 * could not take into the caller's list of rejects.
 */
export class TableApplier {
  readonly target: string;
  private readonly stage: string;
  private readonly columns: ColumnModel[];
  private readonly keyNames: ReadonlySet<string>;
  private readonly deleteSql: string;
  private readonly stagedOn = new WeakSet<pg.ClientBase>();
  private readonly columnSets = new Map<string, ColumnSetSql>();
  private readonly transcoder: AvroCopyTranscoder;
  /**
   * While the target holds none of the batch's keys (a snapshot into a fresh table), rows
   * are COPied straight into it: half the work of staging + upsert. The first key
   * conflict turns this off for good and the batch is redone as an upsert.
   */
  private directCopy = true;
  /**
   * While the table's re-synchronisation epoch collects keys (resync.ts): the key of every
   * change of that epoch is recorded in the same transaction. Turned off once it is swept.
   */
  recordingKeys = false;
  private readonly recordKeysSql: string;

  /** `targetTypes`: the target table's column types (name → format_type()), for the transcoder to choose binary COPY. */
  constructor(
    readonly table: TableModel,
    readonly schema: string,
    fingerprint: string,
    targetTypes?: ReadonlyMap<string, string>,
  ) {
    this.target = qualified(schema, pgTableName(table));
    this.stage = quoteIdent(`liteshift_stage_${createHash('sha256').update(`${table.name}/${fingerprint}`).digest('hex').slice(0, 16)}`);
    this.columns = table.columns;
    this.keyNames = new Set(table.key);
    this.transcoder = new AvroCopyTranscoder(table.columns, targetTypes);
    this.deleteSql = deleteByKeySql(table, this.target);
    this.recordKeysSql = recordKeysSql(table, keyRowsSql(table));
  }

  private columnSet(indexes: readonly number[] | undefined): ColumnSetSql {
    const id = indexes ? indexes.join(',') : '*';
    let set = this.columnSets.get(id);
    if (!set) this.columnSets.set(id, (set = columnSetSql(this.table, this.target, this.stage, indexes)));
    return set;
  }

  /** Converts a row with the loader's mapping; the first refused column rejects the row. */
  convert(row: readonly SqlValue[], indexes: readonly number[]): (string | null)[] | { column: ColumnModel; value: SqlValue; reason: string } {
    const out: (string | null)[] = new Array(indexes.length);
    for (let j = 0; j < indexes.length; j++) {
      const column = this.columns[indexes[j]!]!;
      const value = row[indexes[j]!] ?? null;
      if (value === null && column.notNull) {
        const reason = this.keyNames.has(column.name)
          ? `NULL in primary key column ${column.name}: SQLite allows it there, PostgreSQL's key does not, and the table is keyed by it (it held no NULL when planned); migrate the table again with --force-recreate, which keys it by rowid`
          : `NULL in NOT NULL column ${column.name}`;
        return { column, value, reason };
      }
      const text = toPgText(column.kind, value, column);
      if (text instanceof Rejection) return { column, value, reason: text.reason };
      out[j] = text;
    }
    return out;
  }

  async apply(client: pg.ClientBase, changes: readonly KeyedChange[], rejects: RejectRow[]): Promise<ApplyStats> {
    const upserts = new Map<ColumnSetSql, ByteBuffer>();
    const copyOf = (set: ColumnSetSql): ByteBuffer => {
      let out = upserts.get(set);
      if (!out) upserts.set(set, (out = new ByteBuffer()));
      return out;
    };
    const transcoder = this.transcoder;
    const allColumns = this.columnSet(undefined);
    // Declared wider than its initial null: the closure below assigns it.
    let fast = null as ByteBuffer | null;
    const fastOut = (): ByteBuffer => {
      if (!transcoder.binary) return copyOf(allColumns);
      if (!fast) transcoder.begin((fast = new ByteBuffer()));
      return fast;
    };
    const deleteKeys: (string | null)[][] = this.table.key.map(() => []);
    const epochKeys: (string | null)[][] = this.table.key.map(() => []);
    const epoch = this.table.resyncEpoch ?? 0;
    let rejected = 0;
    let upserted = 0;
    for (const change of changes) {
      if (this.recordingKeys && change.epoch === epoch) {
        const keyText = this.keyText(change.key);
        if (!(keyText instanceof Rejection)) keyText.forEach((k, i) => epochKeys[i]!.push(k));
      }
      if (change.encoded && transcoder.append(change.encoded.value, change.encoded.at, fastOut())) {
        upserted++;
        continue;
      }
      if (change.row === null) {
        if (change.key.includes(null)) continue; // a key holding NULL was rejected, never applied
        const keyText = this.keyText(change.key);
        if (keyText instanceof Rejection) continue; // a key that never fit was never inserted
        keyText.forEach((k, i) => deleteKeys[i]!.push(k));
        continue;
      }
      const set = this.columnSet(change.columns);
      const converted = this.convert(change.row, set.indexes);
      if (Array.isArray(converted)) {
        copyOf(set).text(copyRow(converted));
        upserted++;
      } else {
        rejected++;
        rejects.push({
          table: this.table.name,
          key: change.key,
          column: converted.column.name,
          value: shown(converted.value),
          reason: converted.reason,
          offset: change.offset,
        });
      }
    }
    const data = new Map<ColumnSetSql, CopyData>();
    for (const [set, out] of upserts) if (out.length > 0) data.set(set, { text: out.bytes(), binary: null });
    if (fast) {
      transcoder.end(fast);
      data.set(allColumns, { text: data.get(allColumns)?.text ?? null, binary: fast.bytes() });
    }
    for (const [set, copy] of data) await this.upsert(client, set, copy, data.size > 1);
    const deleted = deleteKeys[0]!.length;
    if (deleted > 0) await client.query(this.deleteSql, deleteKeys);
    // After the writes to the target: the lock order of resync.ts.
    if (epochKeys[0]!.length > 0) await client.query(this.recordKeysSql, [...epochKeys, this.table.name, epoch]);
    return { upserted, deleted, rejected };
  }

  /** A savepoint rolled back in `client`'s transaction took the staging table made after it with it. */
  rolledBack(client: pg.ClientBase): void {
    this.stagedOn.delete(client);
  }

  /**
   * One change PostgreSQL refused, as a reject: the column and value when PostgreSQL names
   * them (a NOT NULL column; COPY's context, `column note: "…"`), its SQLSTATE and message,
   * and, when the reason may pass later, what applying it again takes.
   */
  refusal(change: KeyedChange, error: pg.DatabaseError): RejectRow {
    const context = /column ([^:]+?)(?:: "([\s\S]*)")?$/m.exec(error.where ?? '');
    const pgName = error.column ?? context?.[1];
    const index = pgName === undefined ? -1 : this.columns.findIndex((c) => pgColumnName(c) === pgName);
    const row = change.row;
    const detail = error.detail ? ` (${error.detail.slice(0, 500)})` : '';
    return {
      table: this.table.name,
      key: change.key,
      column: index >= 0 ? this.columns[index]!.name : (pgName ?? null),
      value: index >= 0 && row ? shown(row[index] ?? null) : (context?.[2]?.slice(0, 2000) ?? null),
      reason: `${error.message}${detail}`,
      offset: change.offset,
      sqlstate: error.code,
      ...(error.code && TRANSIENT_SQLSTATES.has(error.code) ? { retry: this.retryOf(change) } : {}),
    };
  }

  private retryOf(change: KeyedChange): RetryPayload | undefined {
    if (change.row === null) {
      const key = this.keyText(change.key);
      return key instanceof Rejection ? undefined : { delete: key };
    }
    const set = this.columnSet(change.columns);
    const values = this.convert(change.row, set.indexes);
    return Array.isArray(values) ? { columns: set.indexes.map((i) => this.columns[i]!.name), values } : undefined;
  }

  private keyText(key: readonly SqlValue[]): (string | null)[] | Rejection {
    const out: (string | null)[] = [];
    for (let i = 0; i < key.length; i++) {
      const column = this.columns.find((c) => c.name === this.table.key[i])!;
      const text = toPgText(column.kind, key[i] ?? null, column);
      if (text instanceof Rejection) return text;
      out.push(text);
    }
    return out;
  }

  private async upsert(client: pg.ClientBase, set: ColumnSetSql, data: CopyData, sharedStage: boolean): Promise<void> {
    if (this.directCopy) {
      await client.query('SAVEPOINT liteshift_direct_copy');
      try {
        await copyData(client, set.copyDirect, data);
        await client.query('RELEASE SAVEPOINT liteshift_direct_copy');
        return;
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT liteshift_direct_copy');
        if ((error as { code?: string }).code !== '23505') throw error;
        this.directCopy = false;
      }
    }
    if (!this.stagedOn.has(client)) {
      await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${this.stage} (LIKE ${this.target}) ON COMMIT DELETE ROWS`);
      this.stagedOn.add(client);
    }
    await copyData(client, set.copyStage, data);
    await client.query(set.upsert);
    // Several column sets in one transaction share the staging table.
    if (sharedStage) await client.query(`TRUNCATE pg_temp.${this.stage}`);
  }
}

async function copyData(client: pg.ClientBase, sql: string, data: CopyData): Promise<void> {
  if (data.text) await pipeline(Readable.from([data.text]), client.query(copyFrom(sql)));
  if (data.binary) await pipeline(Readable.from([data.binary]), client.query(copyFrom(`${sql} WITH (FORMAT binary)`)));
}
