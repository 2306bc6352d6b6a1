import { randomUUID } from 'node:crypto';
import {
  connectAdmin,
  createKafka,
  MessageProducer,
  endOffsets,
  ensureTopics,
  controlTopic,
  deadLetterTopic,
  publishSchemas,
  publishSnapshotMarker,
  schemaRecord,
  schemaTopic,
  tableTopic,
  TableReader,
  type Admin,
  type Logger,
  type SchemaModel,
  type SnapshotMarker,
  type SqlValue,
  type PartitionOffsets,
  type SqliteDatabase,
} from '@liteshift/shared';
import { EventDispatcher } from './dispatcher.js';

export interface ExtractorOptions {
  db: SqliteDatabase;
  model: SchemaModel;
  brokers: string[];
  topicPrefix: string;
  partitions: number;
  chunkRows: number;
  log: Logger;
  onProgress?: (table: string, done: number, total: number) => void;
}

export interface SnapshotResult {
  marker: SnapshotMarker;
  rowsPerTable: Record<string, number>;
}

/**
 * The snapshot source: creates the topics, publishes the writer schemas, streams every
 * table in key order, and finally publishes the snapshot marker with the end offsets
 * the loader must reach.
 */
export class Extractor {
  private readonly kafka;
  private admin: Admin | null = null;
  private producer: MessageProducer | null = null;
  private dispatcher: EventDispatcher | null = null;

  constructor(private readonly options: ExtractorOptions) {
    this.kafka = createKafka({ brokers: options.brokers, clientId: 'liteshift-extractor', log: options.log });
  }

  async connect(): Promise<void> {
    this.admin = await connectAdmin(this.kafka, this.options.brokers);
    this.producer = new MessageProducer({ brokers: this.options.brokers, clientId: 'liteshift-extractor', log: this.options.log });
    this.dispatcher = new EventDispatcher(this.producer, this.options.topicPrefix);
  }

  /** Creates the table topics and publishes the writer schemas; returns the table topics. */
  async prepareTopics(): Promise<string[]> {
    const { model, topicPrefix: prefix, partitions, log } = this.options;
    const admin = this.requireAdmin();
    const tableTopics = model.tables.map((t) => tableTopic(prefix, t.name));
    const created = await ensureTopics(admin, [
      { topic: schemaTopic(prefix), partitions: 1, compacted: true },
      { topic: controlTopic(prefix), partitions: 1, compacted: true },
      { topic: deadLetterTopic(prefix), partitions: 1, compacted: false },
      ...tableTopics.map((topic) => ({ topic, partitions, compacted: true })),
    ]);
    if (created.length > 0) log.info({ topics: created }, 'created topics');
    for (const table of model.tables) this.dispatcher!.register(table);
    await publishSchemas(this.producer!, prefix, model.tables.map((t, i) => schemaRecord(t, tableTopics[i]!)));
    return tableTopics;
  }

  async snapshot(): Promise<SnapshotResult> {
    const { db, model, chunkRows, log, onProgress, topicPrefix } = this.options;
    const dispatcher = this.dispatcher!;
    // No changelog yet: every row is read as of this snapshot, so its watermark is 0.
    const watermark = 0n;
    const marker: SnapshotMarker = {
      snapshotId: randomUUID(),
      watermark: watermark.toString(),
      startedAt: new Date().toISOString(),
      completedAt: null,
      tables: {},
      endOffsets: {},
    };
    const rowsPerTable: Record<string, number> = {};
    for (const table of model.tables) {
      const started = Date.now();
      const total = table.rowCount ?? 0;
      let done = 0;
      onProgress?.(table.name, 0, total);
      for (const chunk of new TableReader(db, table).chunks(chunkRows)) {
        const rows = chunk.rows.map((row, i) => ({ op: 'r' as const, key: chunk.keys[i]!, row, seq: watermark }));
        await dispatcher.dispatch(table.name, rows, true);
        done += rows.length;
        onProgress?.(table.name, done, Math.max(total, done));
        log.debug({ table: table.name, rows: done }, 'snapshot chunk sent');
      }
      rowsPerTable[table.name] = done;
      marker.tables[table.name] = { topic: dispatcher.topicOf(table.name), rows: done };
      log.info({ table: table.name, rows: done, ms: Date.now() - started }, 'snapshot of table read');
    }
    await dispatcher.flush();
    const admin = this.requireAdmin();
    for (const table of model.tables) {
      const topic = dispatcher.topicOf(table.name);
      marker.endOffsets[topic] = await endOffsets(admin, topic);
    }
    marker.completedAt = new Date().toISOString();
    await publishSnapshotMarker(this.producer!, topicPrefix, marker);
    log.info({ tables: model.tables.length, rows: Object.values(rowsPerTable).reduce((a, b) => a + b, 0) }, 'snapshot complete');
    return { marker, rowsPerTable };
  }

  /**
   * Deletes for keys found only in PostgreSQL (rows deleted from SQLite since an earlier
   * run): sent through Kafka like any change, so the topics agree with the target.
   */
  async emitDeletes(table: string, keys: readonly SqlValue[][]): Promise<void> {
    const dispatcher = this.dispatcher!;
    for (let i = 0; i < keys.length; i += this.options.chunkRows) {
      const rows = keys.slice(i, i + this.options.chunkRows).map((key) => ({ op: 'd' as const, key, row: null, seq: 0n }));
      await dispatcher.dispatch(table, rows, false);
    }
    await dispatcher.flush();
  }

  /** End offsets of the table topics, as the loader must reach them. */
  async tableEndOffsets(): Promise<Record<string, PartitionOffsets>> {
    const out: Record<string, PartitionOffsets> = {};
    for (const table of this.options.model.tables) {
      const topic = this.dispatcher!.topicOf(table.name);
      out[topic] = await endOffsets(this.requireAdmin(), topic);
    }
    return out;
  }

  private requireAdmin(): Admin {
    if (!this.admin) throw new Error('extractor is not connected');
    return this.admin;
  }

  async close(): Promise<void> {
    await this.dispatcher?.flush().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
