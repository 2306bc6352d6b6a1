import { quoteIdent } from '../schema/identifiers.js';
import { rowidName, sqliteReadExpr, sqliteTableRef, type TableModel } from '../schema/model.js';
import type { SqlValue } from '../avro/binary.js';
import type { SqliteDatabase } from './open.js';

/**
 * Reads a table in key order, in chunks of bounded size, each in its own short read
 * transaction: a long-held read would pin SQLite's WAL and stall the application's
 * checkpoints. Rowid tables page by rowid (fast, and immune to NULLs that SQLite allows in
 * a declared key); WITHOUT ROWID tables page by their primary key.
 */
export class TableReader {
  private readonly sql: string;
  private readonly firstSql: string;
  private readonly columnCount: number;
  /** Where the paging cursor is in a row read: the rowid's column, or extra columns after the table's. */
  private readonly cursorIndexes: number[];
  /** The key's columns in a row. */
  readonly keyIndexes: number[];

  /** True when chunks come in the order of the table's key (rowid-keyed tables, WITHOUT ROWID tables). */
  readonly inKeyOrder: boolean;

  constructor(
    private readonly db: SqliteDatabase,
    readonly table: TableModel,
  ) {
    const rowid = table.withoutRowid ? null : rowidName(table);
    const cursor = rowid ? [rowid] : table.key.map(quoteIdent);
    const alias = table.columns.find((c) => c.identity || c.synthetic === 'rowid');
    this.inKeyOrder = rowid === null || (table.key.length === 1 && alias?.name === table.key[0]);
    const select = table.columns.map((c) => sqliteReadExpr(c, rowid ?? 'rowid'));
    const from = `FROM ${sqliteTableRef(table)}`;
    const order = `ORDER BY ${cursor.join(', ')}`;
    // A rowid alias (or the synthetic rowid column) is the cursor already: read it once.
    const cursorColumn = rowid && alias ? table.columns.indexOf(alias) : -1;
    const list = (cursorColumn >= 0 ? select : [...select, ...cursor]).join(', ');
    const params = cursor.map(() => '?').join(', ');
    const after = cursor.length === 1 ? `${cursor[0]} > ?` : `(${cursor.join(', ')}) > (${params})`;
    this.firstSql = `SELECT ${list} ${from} ${order} LIMIT ?`;
    this.sql = `SELECT ${list} ${from} WHERE ${after} ${order} LIMIT ?`;
    this.columnCount = table.columns.length;
    this.keyIndexes = table.key.map((k) => table.columns.findIndex((c) => c.name === k));
    this.cursorIndexes = cursorColumn >= 0 ? [cursorColumn] : cursor.map((_, i) => this.columnCount + i);
  }

  /**
   * Rows as arrays in model column order (the key's values are at keyIndexes), at most
   * `chunkRows` and about `chunkBytes` a chunk: rows of large blobs come a few at a time.
   */
  *chunks(chunkRows: number, chunkBytes = CHUNK_BYTES): Generator<SqlValue[][]> {
    const first = this.db.prepare(this.firstSql).raw(true);
    const next = this.db.prepare(this.sql).raw(true);
    let cursor: SqlValue[] | null = null;
    for (;;) {
      const rows: SqlValue[][] = [];
      let bytes = 0;
      // Leaving the loop early resets the statement: the read ends with the chunk.
      for (const row of (cursor === null ? first.iterate(chunkRows) : next.iterate(...cursor, chunkRows)) as IterableIterator<SqlValue[]>) {
        rows.push(row);
        bytes += rowBytes(row);
        if (bytes >= chunkBytes) break;
      }
      if (rows.length === 0) return;
      const last = rows[rows.length - 1]!;
      cursor = this.cursorIndexes.map((i) => last[i]!);
      if (last.length > this.columnCount) for (let i = 0; i < rows.length; i++) rows[i]!.length = this.columnCount;
      const more = rows.length === chunkRows || bytes >= chunkBytes;
      yield rows;
      if (!more) return;
    }
  }
}

/**
 * What a chunk of rows may hold in values, roughly: far above a chunk of ordinary rows
 * (5,000 Todo tasks are ~0.75 MB), so only rows of large text or blobs make chunks shorter.
 */
export const CHUNK_BYTES = 8 * 1024 * 1024;

/** A row's size in memory, roughly: text in UTF-16 units, blobs in bytes, 8 for anything else. */
export function rowBytes(row: readonly SqlValue[]): number {
  let n = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    n += typeof v === 'string' || v instanceof Uint8Array ? v.length : 8;
  }
  return n;
}
