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
 * Writes change events into one SQLite table, idempotently: an upsert inserts the row of
 * its key, or updates it where a value differs (an unchanged row is not written again); a
 * delete deletes by key. Applying the same events twice changes nothing the second time.
 *
 * A row can collide on a UNIQUE constraint other than the key with a row that is stale
 * (the value moved from one row to another on PostgreSQL): that row is written with OR
 * REPLACE, which deletes the stale one, whose own later event writes it back as it now is.
 * Deletes by REPLACE fire no trigger and no foreign-key action (the applier's connection
 * has foreign keys off).
 */
export class SqliteTableWriter {
  private readonly upsert: Statement;
  private readonly replace: Statement;
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
    const textKey = (i: number) => !table.keyIsRowid && table.columns.find((c) => c.name === table.key[i])?.kind === 'text';
    const written = writerColumns.flatMap((column, index) => {
      const target = table.columns.find((c) => c.name === column.name);
      return target && !target.synthetic ? [{ name: quoteIdent(target.name), key: table.key.includes(target.name), column: target, index }] : [];
    });
    this.from = written.map((w) => w.index);
    const columns = [...written.map((w) => w.name), ...(table.keyIsRowid ? [keyNames[0]!] : [])];
    const values = [...written.map((w, i) => sqliteWriteExpr(w.column).replace('?', `$v${i}`)), ...(table.keyIsRowid ? ['$k0'] : [])];
    // A text key is set too: under NOCASE, 'ABC' meets the row 'abc' and must leave it 'ABC'.
    // BINARY: a NOCASE column must still take a change of case.
    const set = written.filter((w) => !w.key || textKey(table.key.indexOf(w.column.name)));
    const update = set.length
      ? `DO UPDATE SET ${set.map((w) => `${w.name} = excluded.${w.name}`).join(', ')} WHERE ${set.map((w) => `${t}.${w.name} COLLATE BINARY IS NOT excluded.${w.name}`).join(' OR ')}`
      : 'DO NOTHING';
    const insert = `INSERT INTO ${t} (${columns.join(', ')}) VALUES (${values.join(', ')})`;
    try {
      this.upsert = db.prepare(`${insert} ON CONFLICT (${keyNames.join(', ')}) ${update}`);
    } catch (error) {
      throw new LiteshiftError('SQLITE_WRITE_FAILED', `cannot write ${table.name} in the SQLite file by its key (${table.key.join(', ')}): ${errorMessage(error)}`, {
        hint: 'the table in the file is not the one liteshift migrated (no PRIMARY KEY or UNIQUE index on that key), or uses a collation only the application registers',
        cause: error,
      });
    }
    this.replace = db.prepare(`INSERT OR REPLACE INTO ${t} (${columns.join(', ')}) VALUES (${values.join(', ')})`);
    // Keys match exactly: under NOCASE, the delete of 'abc' must not take the row 'ABC'
    // another event wrote. The plain comparison keeps the key's index usable.
    const keyMatch = keyNames.map((k, i) => (textKey(i) ? `${k} = $k${i} AND ${k} COLLATE BINARY = $k${i}` : `${k} = $k${i}`)).join(' AND ');
    this.remove = db.prepare(`DELETE FROM ${t} WHERE ${keyMatch}`);
  }

  /** Call inside the applier's write transaction. */
  apply(changes: readonly RowChange[]): WriteStats {
    const stats: WriteStats = { upserted: 0, deleted: 0, unchanged: 0 };
    const params = this.params;
    for (const change of changes) {
      const key = change.key;
      for (let i = 0; i < key.length; i++) params[`k${i}`] = key[i]!;
      try {
        if (change.row === null) {
          stats.deleted += this.remove.run(params).changes;
          continue;
        }
        const row = change.row;
        for (let i = 0; i < this.from.length; i++) params[`v${i}`] = row[this.from[i]!] ?? null;
        if (this.write(params)) stats.upserted++;
        else stats.unchanged++;
      } catch (error) {
        if (isSqliteBusy(error)) throw error;
        throw new LiteshiftError('SQLITE_WRITE_FAILED', `cannot write ${this.table.name} key (${change.key.map(shown).join(', ')}) into SQLite: ${errorMessage(error)}`, {
          hint: 'the SQLite table refuses a row PostgreSQL holds (a NOT NULL or CHECK constraint, or a collation only the application registers): change the row on PostgreSQL or the constraint in SQLite, then run the command again; it resumes after the last batch written',
          cause: error,
        });
      }
    }
    return stats;
  }

  /** True when the row was written, false when it already held these values. */
  private write(params: Record<string, SqlValue>): boolean {
    try {
      return this.upsert.run(params).changes > 0;
    } catch (error) {
      if (!/^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test((error as { code?: string }).code ?? '')) throw error;
      this.replace.run(params);
      return true;
    }
  }
}

function shown(value: SqlValue): string {
  if (value instanceof Uint8Array) return `x'${Buffer.from(value).toString('hex')}'`;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
