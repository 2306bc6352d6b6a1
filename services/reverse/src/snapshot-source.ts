import {
  CHUNK_BYTES,
  Rejection,
  qualified,
  quoteIdent,
  rowBytes,
  toPgText,
  toSqliteValue,
  type Logger,
  type PgClient,
  type SqlValue,
} from '@liteshift/shared';
import type { EventDispatcher } from '@liteshift/extractor';
import type { ExportTable } from './export-model.js';

/** A value SQLite cannot hold as its column declares: the row is not sent, and the export stops before writing. */
export interface RefusedValue {
  table: string;
  key: string;
  column: string;
  value: string;
  reason: string;
}

const EXAMPLES = 10;

export class RefusedValues {
  count = 0;
  readonly examples: RefusedValue[] = [];

  add(value: RefusedValue): void {
    this.count++;
    if (this.examples.length < EXAMPLES) this.examples.push(value);
  }
}

/** Raw text output for every type: the conversion back to SQLite reads PostgreSQL's own spelling. */
export const RAW_TEXT = { getTypeParser: () => (value: string) => value };

/** A PostgreSQL row in its text forms as the values SQLite stores, or null when one does not fit (told to `refused`). */
export function sqliteRow(t: ExportTable, values: readonly (string | null)[], keyIndexes: readonly number[], refused: RefusedValues): SqlValue[] | null {
  const row = new Array<SqlValue>(values.length);
  let ok = true;
  for (let i = 0; i < values.length; i++) {
    const value = toSqliteValue(t.table.columns[i]!, values[i] ?? null);
    if (value instanceof Rejection) {
      ok = false;
      const key = keyIndexes.map((k) => values[k] ?? 'NULL').join(', ');
      refused.add({ table: t.table.name, key, column: t.table.columns[i]!.name, value: String(values[i]), reason: value.reason });
    } else {
      row[i] = value;
    }
  }
  return ok ? row : null;
}
/** Rows of the first fetch of a table, before its rows' size is known. */
const FIRST_FETCH = 64;
const CURSOR = 'liteshift_export';

/**
 * The PostgreSQL snapshot source of the way back: every table read in one REPEATABLE READ
 * transaction (one consistent snapshot, as pg_dump takes), row by row through a cursor in
 * chunks of bounded size, each row converted to the values SQLite should store and sent
 * through the dispatcher as a snapshot read (op 'r') on `<prefix>.reverse.<table>`. Keys
 * the target file holds that the snapshot does not are sent as deletes, so that the file
 * converges on the snapshot whatever it held before.
 */
export class PostgresSnapshotSource {
  private watermark = 0n;

  constructor(
    private readonly client: PgClient,
    private readonly schema: string,
    private readonly dispatcher: EventDispatcher,
    private readonly chunkRows: number,
    private readonly log: Logger,
  ) {}

  /** Opens the snapshot; returns its watermark (the oldest transaction still running then), carried by every event. */
  async begin(): Promise<bigint> {
    await this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await this.client.query("SET LOCAL bytea_output = 'hex'");
    const row = (await this.client.query<{ xmin: string }>('SELECT txid_snapshot_xmin(txid_current_snapshot())::text AS xmin')).rows[0]!;
    this.watermark = BigInt(row.xmin);
    return this.watermark;
  }

  async end(): Promise<void> {
    await this.client.query('COMMIT');
  }

  /** Sends every row of a table; returns how many were sent. Values SQLite cannot hold go to `refused`. */
  async readTable(t: ExportTable, refused: RefusedValues): Promise<number> {
    const { table } = t;
    const columns = t.pgColumns.map((c) => quoteIdent(c.name)).join(', ');
    const keyIndexes = table.key.map((k) => table.columns.findIndex((c) => c.name === k));
    await this.client.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR SELECT ${columns} FROM ${qualified(this.schema, t.pgTable)}`);
    let sent = 0;
    let fetch = Math.min(FIRST_FETCH, this.chunkRows);
    try {
      for (;;) {
        const asked = fetch;
        const result = await this.client.query({ text: `FETCH FORWARD ${asked} FROM ${CURSOR}`, rowMode: 'array', types: RAW_TEXT });
        const raw = result.rows as (string | null)[][];
        if (raw.length === 0) break;
        const rows: SqlValue[][] = [];
        let bytes = 0;
        for (const values of raw) {
          const row = sqliteRow(t, values, keyIndexes, refused);
          if (!row) continue;
          rows.push(row);
          bytes += rowBytes(row);
        }
        if (rows.length) await this.dispatcher.dispatchSnapshot(table.name, rows, keyIndexes, this.watermark);
        sent += rows.length;
        // As many rows as make a chunk of about CHUNK_BYTES, as the extractor reads SQLite.
        fetch = Math.max(1, Math.min(this.chunkRows, Math.floor(CHUNK_BYTES / Math.max(1, bytes / raw.length))));
        if (raw.length < asked) break;
      }
    } finally {
      await this.client.query(`CLOSE ${CURSOR}`).catch(() => undefined);
    }
    this.log.debug({ table: table.name, rows: sent }, 'snapshot of table sent');
    return sent;
  }

  /**
   * Of these keys, as the target file holds them, those the snapshot has no row for are
   * sent as deletes. Each key is looked up by the PostgreSQL value the loader made of it;
   * one the loader could not have taken is not on PostgreSQL either.
   */
  async deleteMissing(t: ExportTable, keys: readonly SqlValue[][]): Promise<number> {
    if (keys.length === 0) return 0;
    const { table } = t;
    const keyColumns = table.key.map((k) => table.columns.findIndex((c) => c.name === k));
    const texts = keyColumns.map(() => [] as (string | null)[]);
    const absent: SqlValue[][] = [];
    const asked: SqlValue[][] = [];
    for (const key of keys) {
      const converted = keyColumns.map((at, i) => toPgText(table.columns[at]!.kind, key[i] ?? null, table.columns[at]!));
      if (converted.some((v) => v instanceof Rejection)) {
        absent.push(key);
        continue;
      }
      converted.forEach((v, i) => texts[i]!.push(v as string | null));
      asked.push(key);
    }
    if (asked.length) {
      const names = keyColumns.map((_, i) => `k${i}`);
      const match = keyColumns.map((at, i) => `p.${quoteIdent(t.pgColumns[at]!.name)} = u.k${i}::${t.pgColumns[at]!.type}`).join(' AND ');
      const result = await this.client.query<{ i: string }>(
        `SELECT u.i FROM unnest(${names.map((_, i) => `$${i + 1}::text[]`).join(', ')}) WITH ORDINALITY AS u(${names.join(', ')}, i) ` +
          `WHERE NOT EXISTS (SELECT 1 FROM ${qualified(this.schema, t.pgTable)} p WHERE ${match})`,
        texts,
      );
      for (const row of result.rows) absent.push(asked[Number(row.i) - 1]!);
    }
    if (absent.length) await this.dispatcher.dispatch(table.name, absent.map((key) => ({ op: 'd' as const, key, row: null, seq: this.watermark })));
    return absent.length;
  }
}
