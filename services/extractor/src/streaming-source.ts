import {
  CHUNK_BYTES,
  keyWidth,
  pruneChangelog,
  readChanges,
  rowBytes,
  schemaVersion,
  writeExtractorPosition,
  type ChangeRow,
  type Logger,
  type ReadableCopy,
  type SqlValue,
  type SqliteDatabase,
  type TableModel,
} from '@liteshift/shared';
import type { DispatchedRow, EventDispatcher } from './dispatcher.js';
import { currentRowLookup, rowsWithKeyLookup } from './reemit.js';

/**
 * The streaming source (DESIGN contract 4): reads the changelog after its position, and
 * for every changed key re-reads the *current* row (or emits a delete when it is gone),
 * so the last event of every key always carries its latest state, whatever the timing.
 * The position moves, and the changelog is pruned, only once Kafka has acknowledged.
 */
export class StreamingSource {
  private readonly lookups = new Map<string, (key: readonly SqlValue[]) => SqlValue[] | undefined>();
  private readonly nullKeyLookups = new Map<string, (key: readonly SqlValue[]) => SqlValue[][]>();
  private readonly tables = new Map<string, TableModel>();
  private width = 1;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly dispatcher: EventDispatcher,
    private readonly log: Logger,
    public position: bigint,
    /** Where tables SQLite cannot read here are read (readFromCopy): made again before their rows are re-read. */
    private readonly copy: ReadableCopy | null = null,
  ) {}

  setTables(tables: readonly TableModel[]): void {
    this.tables.clear();
    this.lookups.clear();
    this.nullKeyLookups.clear();
    for (const table of tables) this.tables.set(table.name, table);
    this.width = keyWidth(tables);
  }

  /**
   * Dispatches up to `limit` changelog entries; returns how many it consumed, or
   * 'schema-changed' when the schema moved from `schemaAt` while they were read: rows read
   * by then may lack a column just added, so the position stays and they are read again
   * once the new schema is applied (what was sent meanwhile is sent again, in order).
   */
  async pollOnce(limit: number, schemaAt: number): Promise<number | 'schema-changed'> {
    const changes = readChanges(this.db, this.position, limit, this.width);
    if (changes.length === 0) return 0;
    const lastSeq = changes[changes.length - 1]!.seq;
    const perTable = new Map<string, Map<string, ChangeRow>>();
    for (const change of changes) {
      const table = this.tables.get(change.table);
      if (!table) continue; // a table dropped or not (yet) captured: nothing to re-read
      const key = change.key.slice(0, table.key.length);
      let latest = perTable.get(change.table);
      if (!latest) perTable.set(change.table, (latest = new Map()));
      // Only the last entry of a key matters: the row is re-read as it is now.
      const id = JSON.stringify(key, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
      latest.delete(id);
      latest.set(id, { ...change, key });
    }
    // The changes are committed, so a copy made now holds them (or later states of the rows).
    if ([...perTable.keys()].some((name) => this.tables.get(name)?.readFromCopy)) await this.copy?.refresh();
    let events = 0;
    const perTableEvents: Record<string, number> = {};
    for (const [name, latest] of perTable) {
      const table = this.tables.get(name)!;
      let rows: DispatchedRow[] = [];
      let bytes = 0;
      const send = async (): Promise<void> => {
        await this.dispatcher.dispatch(name, rows);
        events += rows.length;
        perTableEvents[name] = (perTableEvents[name] ?? 0) + rows.length;
        rows = [];
        bytes = 0;
      };
      for (const change of latest.values()) {
        if (change.key.includes(null)) {
          for (const row of this.rowsWithNullKey(table, change.key)) {
            rows.push({ op: change.op === 'c' ? 'c' : 'u', key: table.key.map((k) => row[table.columns.findIndex((c) => c.name === k)]!), row, seq: change.seq });
          }
          continue;
        }
        const row = this.currentRow(table, change.key);
        rows.push(row ? { op: change.op === 'c' ? 'c' : 'u', key: change.key, row, seq: change.seq } : { op: 'd', key: change.key, row: null, seq: change.seq });
        // Rows of large blobs go a few at a time, as in the snapshot.
        if (row && (bytes += rowBytes(row)) >= CHUNK_BYTES) await send();
      }
      if (rows.length > 0) await send();
    }
    await this.dispatcher.flush();
    if (schemaVersion(this.db) !== schemaAt) return 'schema-changed';
    this.position = lastSeq;
    this.db.transaction(() => {
      writeExtractorPosition(this.db, lastSeq);
      pruneChangelog(this.db, lastSeq);
    }).immediate();
    this.log.info({ changes: changes.length, events, tables: perTableEvents, from: changes[0]!.seq.toString(), position: lastSeq.toString() }, 'changes streamed');
    return changes.length;
  }

  private currentRow(table: TableModel, key: readonly SqlValue[]): SqlValue[] | undefined {
    let lookup = this.lookups.get(table.name);
    if (!lookup) this.lookups.set(table.name, (lookup = currentRowLookup(this.db, table)));
    return lookup(key);
  }

  /** The rows a key holding NULL names now (none left: nothing to send, such a key was never applied). */
  private rowsWithNullKey(table: TableModel, key: readonly SqlValue[]): SqlValue[][] {
    let lookup = this.nullKeyLookups.get(table.name);
    if (!lookup) this.nullKeyLookups.set(table.name, (lookup = rowsWithKeyLookup(this.db, table)));
    return lookup(key);
  }
}
