import { quoteIdent } from '../schema/identifiers.js';
import { rowidName, sqliteReadExpr, type TableModel } from '../schema/model.js';
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
  private readonly keyIndexes: number[];

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
    const from = `FROM main.${quoteIdent(table.name)}`;
    const order = `ORDER BY ${cursor.join(', ')}`;
    const list = `${[...select, ...cursor].join(', ')}`;
    const params = cursor.map(() => '?').join(', ');
    const after = cursor.length === 1 ? `${cursor[0]} > ?` : `(${cursor.join(', ')}) > (${params})`;
    this.firstSql = `SELECT ${list} ${from} ${order} LIMIT ?`;
    this.sql = `SELECT ${list} ${from} WHERE ${after} ${order} LIMIT ?`;
    this.columnCount = table.columns.length;
    this.keyIndexes = table.key.map((k) => table.columns.findIndex((c) => c.name === k));
  }

  /** Rows as arrays in model column order, plus their key values. */
  *chunks(chunkRows: number): Generator<{ rows: SqlValue[][]; keys: SqlValue[][] }> {
    const first = this.db.prepare(this.firstSql).raw(true);
    const next = this.db.prepare(this.sql).raw(true);
    let cursor: SqlValue[] | null = null;
    for (;;) {
      const raw = (cursor === null ? first.all(chunkRows) : next.all(...cursor, chunkRows)) as SqlValue[][];
      if (raw.length === 0) return;
      const rows: SqlValue[][] = new Array(raw.length);
      const keys: SqlValue[][] = new Array(raw.length);
      for (let i = 0; i < raw.length; i++) {
        const r = raw[i]!;
        rows[i] = r.length === this.columnCount ? r : r.slice(0, this.columnCount);
        keys[i] = this.keyIndexes.map((k) => r[k]!);
      }
      cursor = raw[raw.length - 1]!.slice(this.columnCount);
      yield { rows, keys };
      if (raw.length < chunkRows) return;
    }
  }
}
