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
  changelogHead,
  installCapture,
  readState,
  requireWal,
  writeState,
  readSchema,
  retry,
  sleep,
  type Admin,
  type Logger,
  type SchemaModel,
  type SnapshotMarker,
  type SqlValue,
  type PartitionOffsets,
  type TableModel,
  type SqliteDatabase,
} from '@liteshift/shared';
import { EventDispatcher } from './dispatcher.js';
import { POSITION_STATE, StreamingSource } from './streaming-source.js';
import { diffSchemas } from './schema-watch.js';

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

export interface FollowOptions {
  /** Wait between changelog polls when there is nothing new. */
  pollMs?: number;
  /** Changelog entries per poll. */
  batchChanges?: number;
}

const SNAPSHOT_STATE = 'snapshot';
const STATUS_STATE = 'status';

function readPosition(db: SqliteDatabase): bigint | null {
  if (readState(db, SNAPSHOT_STATE) === undefined) return null;
  const position = readState(db, POSITION_STATE);
  return typeof position === 'bigint' ? position : null;
}

/** Snapshot progress for `liteshift status`, written into the SQLite file at most once a second. */
function snapshotProgress(
  db: SqliteDatabase,
  watermark: bigint,
  tables: readonly TableModel[],
  next?: (table: string, done: number, total: number) => void,
): (table: string, done: number, total: number) => void {
  const progress: Record<string, { done: number; total: number }> = Object.fromEntries(tables.map((t) => [t.name, { done: 0, total: t.rowCount ?? 0 }]));
  let written = 0;
  const write = (): void => {
    try {
      setStatus(db, { phase: 'snapshot', watermark: watermark.toString(), tables: progress });
    } catch {
      // The application holds the write lock: progress is only informative, the next write will do.
    }
  };
  write();
  return (table, done, total) => {
    progress[table] = { done, total };
    next?.(table, done, total);
    if (Date.now() - written >= 1_000) {
      written = Date.now();
      write();
    }
  };
}

function setStatus(db: SqliteDatabase, status: Record<string, unknown>): void {
  writeState(db, STATUS_STATE, JSON.stringify({ ...status, updatedAt: new Date().toISOString() }));
}

const isBusy = (error: unknown): boolean => /SQLITE_BUSY|database is locked/i.test(String((error as { code?: string })?.code ?? error));

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

  /** The captured schema; grows while following (new tables, added columns). */
  model: SchemaModel;

  constructor(private readonly options: ExtractorOptions) {
    this.model = options.model;
    this.kafka = createKafka({ brokers: options.brokers, clientId: 'liteshift-extractor', log: options.log });
  }

  async connect(): Promise<void> {
    this.admin = await connectAdmin(this.kafka, this.options.brokers);
    this.producer = new MessageProducer({ brokers: this.options.brokers, clientId: 'liteshift-extractor', log: this.options.log });
    this.dispatcher = new EventDispatcher(this.producer, this.options.topicPrefix);
  }

  /** Creates the table topics and publishes the writer schemas; returns the table topics. */
  async prepareTopics(tables: readonly TableModel[] = this.model.tables): Promise<string[]> {
    const { topicPrefix: prefix, partitions, log } = this.options;
    const admin = this.requireAdmin();
    const tableTopics = tables.map((t) => tableTopic(prefix, t.name));
    const created = await ensureTopics(admin, [
      { topic: schemaTopic(prefix), partitions: 1, compacted: true },
      { topic: controlTopic(prefix), partitions: 1, compacted: true },
      { topic: deadLetterTopic(prefix), partitions: 1, compacted: false },
      ...tableTopics.map((topic) => ({ topic, partitions, compacted: true })),
    ]);
    if (created.length > 0) log.info({ topics: created }, 'created topics');
    for (const table of tables) this.dispatcher!.register(table);
    await publishSchemas(this.producer!, prefix, tables.map((t, i) => schemaRecord(t, tableTopics[i]!)));
    return tableTopics;
  }

  /**
   * Reads every table (or those given) into Kafka. `watermark` is the changelog head taken
   * before the first row is read: every later change streams after the snapshot (contract 4).
   * Without capture there is no changelog, and the watermark is 0.
   */
  async snapshot(
    watermark = 0n,
    tables: readonly TableModel[] = this.model.tables,
    onProgress = this.options.onProgress,
  ): Promise<SnapshotResult> {
    const { db, chunkRows, log, topicPrefix } = this.options;
    const dispatcher = this.dispatcher!;
    const marker: SnapshotMarker = {
      snapshotId: randomUUID(),
      watermark: watermark.toString(),
      startedAt: new Date().toISOString(),
      completedAt: null,
      tables: {},
      endOffsets: {},
    };
    const rowsPerTable: Record<string, number> = {};
    for (const table of tables) {
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
    for (const table of tables) {
      const topic = dispatcher.topicOf(table.name);
      marker.endOffsets[topic] = await endOffsets(admin, topic);
    }
    marker.completedAt = new Date().toISOString();
    await publishSnapshotMarker(this.producer!, topicPrefix, marker);
    log.info({ tables: tables.length, rows: Object.values(rowsPerTable).reduce((a, b) => a + b, 0) }, 'snapshot complete');
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
    for (const table of this.model.tables) {
      const topic = this.dispatcher!.topicOf(table.name);
      out[topic] = await endOffsets(this.requireAdmin(), topic);
    }
    return out;
  }

  /**
   * The long-running extractor: installs capture, snapshots once (at watermark W, the
   * changelog head before the first row is read), then streams every change after W
   * until `signal` aborts, finishing the batch in hand. Its position lives in the SQLite
   * file, so a restart resumes where Kafka last acknowledged.
   */
  async follow(signal: AbortSignal, options: FollowOptions = {}): Promise<void> {
    const { db, log } = this.options;
    const pollMs = options.pollMs ?? 100;
    const batch = options.batchChanges ?? this.options.chunkRows;
    requireWal(db);
    installCapture(db, this.model.tables);
    let schemaVersion = Number(db.pragma('schema_version', { simple: true }));
    await this.prepareTopics(this.model.tables);

    let position = readPosition(db);
    if (position === null) {
      const watermark = changelogHead(db);
      log.info({ watermark: watermark.toString() }, 'snapshot starts at changelog watermark');
      await this.snapshot(watermark, this.model.tables, snapshotProgress(db, watermark, this.model.tables, this.options.onProgress));
      db.transaction(() => {
        writeState(db, POSITION_STATE, watermark);
        writeState(db, SNAPSHOT_STATE, JSON.stringify({ watermark: watermark.toString(), completedAt: new Date().toISOString() }));
      })();
      position = watermark;
    } else {
      log.info({ position: position.toString() }, 'resuming the change stream');
    }
    setStatus(db, { phase: 'streaming' });

    const stream = new StreamingSource(db, this.dispatcher!, log, position);
    stream.setTables(this.model.tables);
    while (!signal.aborted) {
      const version = Number(db.pragma('schema_version', { simple: true }));
      if (version !== schemaVersion) {
        await this.applySchemaChange(stream);
        schemaVersion = Number(db.pragma('schema_version', { simple: true }));
      }
      const consumed = await retry(() => stream.pollOnce(batch), {
        retries: 20,
        initialDelayMs: 50,
        maxDelayMs: 2_000,
        isRetriable: isBusy,
        onRetry: (_e, attempt) => log.debug({ attempt }, 'SQLite is busy; retrying'),
      });
      if (consumed === 0) await sleep(pollMs, signal);
    }
    log.info({ position: stream.position.toString() }, 'change stream stopped');
  }

  /** New tables get triggers, a schema and their own snapshot; grown tables a new writer schema. */
  private async applySchemaChange(stream: StreamingSource): Promise<void> {
    const { db, log } = this.options;
    const change = diffSchemas(this.model, readSchema(db));
    if (change.added.length + change.altered.length + change.dropped.length === 0) return;
    this.model = change.model;
    installCapture(db, this.model.tables);
    await this.prepareTopics([...change.added, ...change.altered]);
    stream.setTables(this.model.tables);
    for (const table of change.dropped) log.warn({ table }, 'table dropped from SQLite: no longer captured (its PostgreSQL table is kept)');
    for (const table of change.altered) log.info({ table: table.name }, 'columns added: new writer schema published');
    if (change.added.length > 0) {
      log.info({ tables: change.added.map((t) => t.name) }, 'new tables: capturing and snapshotting them');
      // Changes to the new tables recorded from now on stream after this snapshot, per key in order.
      await this.snapshot(changelogHead(db), change.added);
    }
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
