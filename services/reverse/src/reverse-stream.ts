/**
 * The reverse stream of the live fallback: contract 4 mirrored. The keys PostgreSQL's
 * capture triggers appended to liteshift.changelog (pg/fallback.ts) are taken a batch at
 * a time, oldest first; the current row of each key is read again and sent as a change
 * event on `<prefix>.reverse.<table>` (a key no longer there as a delete), and only once
 * Kafka has them are those changelog entries deleted, in the same transaction that took
 * them (FOR UPDATE: a second stream skips them). A crash sends a batch again, which
 * changes nothing: every event carries its row's whole state.
 */
import { META_TABLES, Rejection, quoteIdent, qualified, toSqliteValue, type PgClient, type SqlValue } from '@liteshift/shared';
import type { EventDispatcher, DispatchedRow } from '@liteshift/extractor';
import type { ExportTable } from './export-model.js';
import { RAW_TEXT, RefusedValues, sqliteRow } from './snapshot-source.js';

export interface StreamedBatch {
  /** Changelog entries taken (and deleted). */
  entries: number;
  /** Events sent: one per distinct key. */
  events: number;
  /** Rows SQLite cannot hold as their columns declare: not sent (rollback's verification names them). */
  refused: RefusedValues;
  /** When the oldest entry taken was captured: the fallback's latency is measured from there. */
  oldest: Date | null;
}

interface Entry {
  seq: string;
  table_name: string;
  key: unknown[];
  at: Date;
}

export class ReverseStream {
  constructor(
    private readonly client: PgClient,
    private readonly schema: string,
    private readonly dispatcher: EventDispatcher,
    private readonly tables: ReadonlyMap<string, ExportTable>,
  ) {}

  /** Sends what the changelog holds, up to `limit` entries; 0 entries when it is empty. */
  async pollOnce(limit: number): Promise<StreamedBatch> {
    const refused = new RefusedValues();
    await this.client.query('BEGIN');
    try {
      await this.client.query("SET LOCAL bytea_output = 'hex'");
      const entries = (
        await this.client.query<Entry>(`SELECT seq, table_name, key, at FROM ${META_TABLES.changelog} ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`, [limit])
      ).rows;
      let events = 0;
      const byTable = new Map<string, Map<string, { key: unknown[]; seq: bigint }>>();
      for (const e of entries) {
        const keys = byTable.get(e.table_name) ?? new Map<string, { key: unknown[]; seq: bigint }>();
        byTable.set(e.table_name, keys);
        const id = JSON.stringify(e.key);
        keys.delete(id);
        keys.set(id, { key: e.key, seq: BigInt(e.seq) });
      }
      for (const [name, keys] of byTable) {
        const t = this.tables.get(name);
        // A table that is no longer exported (dropped on PostgreSQL since): rollback reports it.
        if (t) events += await this.send(t, [...keys.values()], refused);
      }
      await this.dispatcher.flush();
      if (entries.length > 0) await this.client.query(`DELETE FROM ${META_TABLES.changelog} WHERE seq = ANY($1::bigint[])`, [entries.map((e) => e.seq)]);
      await this.client.query(`UPDATE ${META_TABLES.fallback} SET heartbeat_at = now()`);
      await this.client.query('COMMIT');
      return { entries: entries.length, events, refused, oldest: entries[0]?.at ?? null };
    } catch (error) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** The current rows of these keys, each sent as an upsert, or a delete where the row is gone. */
  private async send(t: ExportTable, keys: readonly { key: unknown[]; seq: bigint }[], refused: RefusedValues): Promise<number> {
    const { table } = t;
    const keyIndexes = table.key.map((k) => table.columns.findIndex((c) => c.name === k));
    const texts = keyIndexes.map((_, i) => keys.map(({ key }) => jsonText(key[i])));
    const names = keyIndexes.map((_, i) => `k${i}`);
    const match = keyIndexes.map((at, i) => `p.${quoteIdent(t.pgColumns[at]!.name)} = u.k${i}::${t.pgColumns[at]!.type}`).join(' AND ');
    const columns = t.pgColumns.map((c) => `p.${quoteIdent(c.name)}`).join(', ');
    const result = await this.client.query({
      text:
        `SELECT u.i, p.${quoteIdent(t.pgColumns[keyIndexes[0]!]!.name)} IS NOT NULL AS present, ${columns} ` +
        `FROM unnest(${names.map((_, i) => `$${i + 1}::text[]`).join(', ')}) WITH ORDINALITY AS u(${names.join(', ')}, i) ` +
        `LEFT JOIN ${qualified(this.schema, t.pgTable)} p ON ${match} ORDER BY u.i`,
      values: texts,
      rowMode: 'array',
      types: RAW_TEXT,
    });
    const changes: DispatchedRow[] = [];
    for (const raw of result.rows as (string | null)[][]) {
      const { key, seq } = keys[Number(raw[0]) - 1]!;
      if (raw[1] === 't') {
        const row = sqliteRow(t, raw.slice(2), keyIndexes, refused);
        if (row) changes.push({ op: 'u', key: keyIndexes.map((k) => row[k] ?? null), row, seq });
        continue;
      }
      const sqliteKey = keyIndexes.map((at, i) => toSqliteValue(table.columns[at]!, jsonText(key[i])));
      if (sqliteKey.some((v) => v instanceof Rejection)) continue;
      changes.push({ op: 'd', key: sqliteKey as SqlValue[], row: null, seq });
    }
    if (changes.length > 0) await this.dispatcher.dispatch(table.name, changes);
    return changes.length;
  }
}

/** A key value as the changelog holds it (to_jsonb of the column), in PostgreSQL's text form. */
function jsonText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
