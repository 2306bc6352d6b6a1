import { LiteshiftError, errorMessage, isSqliteBusy, quoteIdent, rowidName, sqliteWriteExpr, type ColumnModel, type SqlValue, type SqliteDatabase, type TableModel } from '@liteshift/shared';
import type { Statement } from 'better-sqlite3';

/** One change to write: the last event of its key in a batch; a null row deletes. */
export interface RowChange {
  key: SqlValue[];
  row: SqlValue[] | null;
}

export interface WriteStats {
  upserted: number;
  deleted: number;
  /** Rows that already held exactly these values: not written again. */
  unchanged: number;
}

/**
 * Writes change events into one SQLite table, idempotently: an upsert updates the row of
 * its key where a value differs, or inserts it; a delete deletes by key. Applying the same
 * events twice changes nothing the second time.
 *
 * A row can collide on a UNIQUE constraint other than the key with a row that is stale
 * (the value moved from one row to another on PostgreSQL): OR REPLACE deletes the stale
 * one, whose own later event writes it back as it now is. Deletes by REPLACE fire no
 * trigger and no foreign-key action (the applier's connection has foreign keys off).
 */
export class SqliteTableWriter {
  private readonly update: Statement | null;
  private readonly insert: Statement;
  private readonly remove: Statement;
  /** Where each written column's value is in the event's row. */
  private readonly from: number[];
  private readonly params: Record<string, SqlValue> = {};

  /**
   * `writerColumns` are the columns of the events' writer schema, in its order; those the
   * SQLite table has are written (a column the file lacks was added before, or is reported).
   */
  constructor(
    db: SqliteDatabase,
    readonly table: TableModel,
    writerColumns: readonly ColumnModel[],
  ) {
    const t = quoteIdent(table.name);
    const keyNames = table.keyIsRowid ? [rowidName(table) ?? 'rowid'] : table.key.map(quoteIdent);
    // Keys match exactly: under NOCASE, the delete of 'abc' must not take the row 'ABC'
    // written by another event. The plain comparison keeps the key's index usable.
    const keyMatch = keyNames
      .map((k, i) => {
        const kind = table.keyIsRowid ? 'integer' : table.columns.find((c) => c.name === table.key[i])?.kind;
        return kind === 'text' ? `${k} = $k${i} AND ${k} COLLATE BINARY = $k${i}` : `${k} = $k${i}`;
      })
      .join(' AND ');
    const written = writerColumns.flatMap((column, index) => {
      const target = table.columns.find((c) => c.name === column.name);
      return target && !target.synthetic ? [{ column: target, index }] : [];
    });
    this.from = written.map((w) => w.index);
    const value = (i: number) => sqliteWriteExpr(written[i]!.column).replace('?', `$v${i}`);
    const settable = written.map((w, i) => ({ ...w, i })).filter((w) => !table.key.includes(w.column.name));
    this.update = settable.length
      ? db.prepare(
          `UPDATE OR REPLACE ${t} SET ${settable.map((w) => `${quoteIdent(w.column.name)} = ${value(w.i)}`).join(', ')} WHERE ${keyMatch} AND (` +
            // BINARY: a NOCASE column must still take a change of case.
            `${settable.map((w) => `${quoteIdent(w.column.name)} COLLATE BINARY IS NOT ${value(w.i)}`).join(' OR ')})`,
        )
      : null;
    const columns = [...written.map((w) => quoteIdent(w.column.name)), ...(table.keyIsRowid ? [keyNames[0]!] : [])];
    const values = [...written.map((_, i) => value(i)), ...(table.keyIsRowid ? ['$k0'] : [])];
    this.insert = db.prepare(`INSERT OR REPLACE INTO ${t} (${columns.join(', ')}) SELECT ${values.join(', ')} WHERE NOT EXISTS (SELECT 1 FROM ${t} WHERE ${keyMatch})`);
    this.remove = db.prepare(`DELETE FROM ${t} WHERE ${keyMatch}`);
  }

  /** Call inside the applier's write transaction. */
  apply(changes: readonly RowChange[]): WriteStats {
    const stats: WriteStats = { upserted: 0, deleted: 0, unchanged: 0 };
    const params = this.params;
    for (const change of changes) {
      change.key.forEach((v, i) => (params[`k${i}`] = v));
      try {
        if (change.row === null) {
          stats.deleted += this.remove.run(params).changes;
          continue;
        }
        this.from.forEach((at, i) => (params[`v${i}`] = change.row![at] ?? null));
        if (this.update && this.update.run(params).changes > 0) stats.upserted++;
        else if (this.insert.run(params).changes > 0) stats.upserted++;
        else stats.unchanged++;
      } catch (error) {
        if (isSqliteBusy(error)) throw error;
        throw new LiteshiftError('SQLITE_WRITE_FAILED', `cannot write ${this.table.name} key (${change.key.map(shown).join(', ')}) into SQLite: ${errorMessage(error)}`, {
          hint: 'the SQLite table refuses a row PostgreSQL holds (a NOT NULL, CHECK or UNIQUE constraint, or a collation only the application registers): change the row on PostgreSQL or the constraint in SQLite, then run the command again; what was applied stays applied',
          cause: error,
        });
      }
    }
    return stats;
  }
}

function shown(value: SqlValue): string {
  if (value instanceof Uint8Array) return `x'${Buffer.from(value).toString('hex')}'`;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
