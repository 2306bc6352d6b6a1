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
  publishHeartbeat,
  schemaRecord,
  schemaTopic,
  tableTopic,
  TableReader,
  changelogBacklog,
  changelogHead,
  captureInstalled,
  installCapture,
  missingTriggers,
  publishResyncMarker,
  readCapturedTables,
  restoreFence,
  schemaSignature,
  schemaVersion,
  writeCapturedTables,
  requireWal,
  readCompletedSnapshot,
  readExtractorPosition,
  readSnapshotProgress,
  writeSnapshotProgress,
  writeExtractorStatus,
  completeSnapshot,
  readSchema,
  retry,
  sleep,
  errorMessage,
  isKafkaOutage,
  isLiteshiftError,
  Health,
  type Admin,
  type CapturedTable,
  type Logger,
  type SchemaModel,
  type SnapshotMarker,
  type SqlValue,
  type PartitionOffsets,
  type TableModel,
  type SqliteDatabase,
  type ReadableCopy,
  isSqliteBusy,
} from '@liteshift/shared';
import { EventDispatcher } from './dispatcher.js';
import { StreamingSource } from './streaming-source.js';
import { diffSchemas, planStart, typeTags, type Resync } from './schema-watch.js';
import type { ExtractorMetrics } from './metrics.js';

export interface ExtractorOptions {
  db: SqliteDatabase;
  model: SchemaModel;
  brokers: string[];
  topicPrefix: string;
  partitions: number;
  chunkRows: number;
  log: Logger;
  onProgress?: (table: string, done: number, total: number) => void;
  /** Counted per batch when given (one registry per process: the CLI's service commands). */
  metrics?: ExtractorMetrics;
  /** What /readyz answers, kept up to date here; one of its own when not given. */
  health?: Health;
  /** The one line per snapshot chunk: info for the service, debug where a progress display already says it (migrate). */
  batchLogLevel?: 'info' | 'debug';
  /**
   * PRAGMA schema_version as read before `model` was: DDL landing after it is picked up
   * while following, even when it came before the extractor started. Absent: read when
   * following starts.
   */
  schemaVersion?: number;
  /** The readable copy of tables SQLite cannot read here (readFromCopy): made again before they are read. */
  copy?: ReadableCopy | null;
}

/** How often a following extractor says it is alive (cutover waits up to three of these). */
const HEARTBEAT_EVERY_MS = 5_000;

export interface FollowOptions {
  /** Wait between changelog polls when there is nothing new. */
  pollMs?: number;
  /** Changelog entries per poll. */
  batchChanges?: number;
}

/** Where the stream resumes: null until the first snapshot is in Kafka whole. */
function readPosition(db: SqliteDatabase): bigint | null {
  return readCompletedSnapshot(db) ? readExtractorPosition(db) : null;
}

/** Per table, the changes after what Kafka acknowledged (during the snapshot: after its watermark). */
function extractorLag(db: SqliteDatabase, tables: readonly TableModel[]): Map<string, number> {
  const position = readPosition(db) ?? BigInt(readSnapshotProgress(db)?.watermark ?? 0);
  const backlog = changelogBacklog(db, position);
  return new Map(tables.map((t) => [t.name, backlog.get(t.name) ?? 0]));
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
      writeExtractorStatus(db, { phase: 'snapshot', watermark: watermark.toString(), tables: progress });
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

/** A statement prepared for a table the application changed under it since: the schema is read again, then it is redone. */
const isSchemaRace = (error: unknown): boolean => /no such (table|column)|SQLITE_SCHEMA|database schema has changed/i.test(errorMessage(error));

/** What a long-running extractor waits out: the application holding SQLite's write lock or changing its schema, a broker down or restarting. */
const isTransient = (error: unknown): boolean => isSqliteBusy(error) || isSchemaRace(error) || isKafkaOutage(error) || (isLiteshiftError(error) && error.retriable);

export interface SnapshotResume {
  snapshotId?: string;
  startedAt?: string;
  /** Tables already in Kafka whole (table → rows): not read again. */
  done?: Record<string, number>;
  /** Called once every row of a table is acknowledged by Kafka. */
  onTableDone?: (table: string, rows: number) => void;
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

  /** The captured schema; grows while following (new tables, added columns). */
  model: SchemaModel;
  /** What the extractor recorded of each table it captures (contracts/extractor-state.ts), kept in the SQLite file. */
  private captured: Record<string, CapturedTable> = {};
  /** The application's schema as `model` was read from it (schemaSignature): liteshift's own DDL leaves it as it is. */
  private signature = '';
  /** Work a starting extractor does before it streams: tables to snapshot, tables to re-synchronise (and why). */
  private pending: { snapshot: string[]; resync: Map<string, string> } = { snapshot: [], resync: new Map() };
  /** Ready while connected to Kafka and snapshotting or streaming (what /readyz answers). */
  readonly health: Health;

  constructor(private readonly options: ExtractorOptions) {
    this.model = options.model;
    this.health = options.health ?? new Health();
    this.health.notReady('connecting to Kafka');
    this.kafka = createKafka({ brokers: options.brokers, clientId: 'liteshift-extractor', log: options.log });
  }

  async connect(): Promise<void> {
    this.admin = await connectAdmin(this.kafka, this.options.brokers);
    this.producer = new MessageProducer({ brokers: this.options.brokers, clientId: 'liteshift-extractor', log: this.options.log });
    this.dispatcher = new EventDispatcher(this.producer, this.options.topicPrefix, this.options.metrics);
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
    // What the loader now knows of tables already recorded: a restart compares its own plan with it.
    const recorded = tables.filter((t) => this.captured[t.name]);
    if (recorded.length > 0) this.record(recorded, {});
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
    resume: SnapshotResume = {},
  ): Promise<SnapshotResult> {
    const { log, topicPrefix } = this.options;
    const { marker, rowsPerTable } = await this.sendTables(watermark, tables, onProgress, resume);
    const admin = this.requireAdmin();
    for (const table of tables) {
      const topic = this.dispatcher!.topicOf(table.name);
      marker.endOffsets[topic] = await endOffsets(admin, topic);
    }
    marker.completedAt = new Date().toISOString();
    await publishSnapshotMarker(this.producer!, topicPrefix, marker);
    log.info({ tables: tables.length, rows: Object.values(rowsPerTable).reduce((a, b) => a + b, 0) }, 'snapshot complete');
    return { marker, rowsPerTable };
  }

  /** Reads every row of `tables` into Kafka, in key order and short chunks; returns once Kafka has acknowledged them all. */
  private async sendTables(
    watermark: bigint,
    tables: readonly TableModel[],
    onProgress: ExtractorOptions['onProgress'],
    resume: SnapshotResume,
  ): Promise<SnapshotResult> {
    const { db, chunkRows, log, metrics } = this.options;
    const dispatcher = this.dispatcher!;
    const progress = (table: string, done: number, total: number): void => {
      metrics?.snapshotProgress(table, done, total);
      onProgress?.(table, done, total);
    };
    this.health.ready('snapshotting');
    const marker: SnapshotMarker = {
      snapshotId: resume.snapshotId ?? randomUUID(),
      watermark: watermark.toString(),
      startedAt: resume.startedAt ?? new Date().toISOString(),
      completedAt: null,
      tables: {},
      endOffsets: {},
    };
    const rowsPerTable: Record<string, number> = {};
    for (const table of tables) {
      const sent = resume.done?.[table.name];
      if (sent !== undefined) {
        rowsPerTable[table.name] = sent;
        marker.tables[table.name] = { topic: dispatcher.topicOf(table.name), rows: sent };
        progress(table.name, sent, sent);
        continue;
      }
      const started = Date.now();
      const total = table.rowCount ?? 0;
      let done = 0;
      progress(table.name, 0, total);
      // The copy must hold at least what the file held at the watermark, taken before.
      if (table.readFromCopy) await this.options.copy?.refresh();
      let readFrom = performance.now();
      const reader = new TableReader(db, table);
      for (const rows of reader.chunks(chunkRows)) {
        const sendFrom = performance.now();
        const count = rows.length;
        done += count;
        const sending = dispatcher.dispatchSnapshot(table.name, rows, reader.keyIndexes, watermark);
        // The rows are encoded by now. Emptied, the chunk is garbage while the previous send
        // is acknowledged; held, every young collection meanwhile would copy its thousands
        // of values (1M tasks: extract 9.0–9.8 → 7.8–8.0 s).
        rows.length = 0;
        await sending;
        progress(table.name, done, Math.max(total, done));
        log[this.options.batchLogLevel ?? 'info']({ table: table.name, rows: count, done, total: Math.max(total, done) }, 'snapshot chunk sent');
        // Where a slow snapshot spends its time: reading SQLite, or waiting for Kafka to acknowledge the chunk before.
        log.debug({ table: table.name, readMs: Math.round(sendFrom - readFrom), ackWaitMs: Math.round(performance.now() - sendFrom) }, 'snapshot chunk timing');
        readFrom = performance.now();
      }
      // Rows deleted while the table was read: its total was the count before, and the
      // progress must still see the table end.
      if (done < total) progress(table.name, done, done);
      rowsPerTable[table.name] = done;
      marker.tables[table.name] = { topic: dispatcher.topicOf(table.name), rows: done };
      if (resume.onTableDone) {
        await dispatcher.flush();
        resume.onTableDone(table.name, done);
      }
      log.info({ table: table.name, rows: done, ms: Date.now() - started }, 'snapshot of table read');
    }
    await dispatcher.flush();
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
      await dispatcher.dispatch(table, rows);
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
    let knownVersion = await this.waitOut(signal, () => this.startCapture());
    this.options.metrics?.readLagFrom(() => extractorLag(db, this.model.tables));
    await this.waitOut(signal, () => this.prepareTopics(this.model.tables));

    let position = readPosition(db);
    if (position === null) {
      // DDL after the schema was read and before the watermark: rows it let the application
      // write would be read with the old model and never streamed. Read the schema again.
      const modelStale = async (): Promise<boolean> => {
        if (schemaVersion(db) === knownVersion) return false;
        log.info('the schema changed before the snapshot started: reading it again');
        knownVersion = this.startCapture();
        await this.prepareTopics(this.model.tables);
        return true;
      };
      position = await this.waitOut(signal, () => this.followSnapshot(modelStale));
      this.pending.snapshot = [];
    } else {
      log.info({ position: position.toString() }, 'resuming the change stream');
    }
    await this.waitOut(signal, () => this.catchUp());
    await this.waitOut(signal, () => writeExtractorStatus(db, { phase: 'streaming' }));
    this.health.ready('streaming');

    const stream = new StreamingSource(db, this.dispatcher!, log, position, this.options.copy ?? null);
    stream.setTables(this.model.tables);
    let failures = 0;
    let beatAt = 0;
    while (!signal.aborted) {
      try {
        // Until a pass finds nothing newer: the application's DDL may land while one is
        // applied (a new table's snapshot takes a while).
        if (schemaVersion(db) !== knownVersion) {
          while (schemaVersion(db) !== knownVersion) knownVersion = await this.applySchemaChange(stream);
          // A new table's snapshot said 'snapshotting'.
          this.health.ready('streaming');
        }
        const consumed = await stream.pollOnce(batch, knownVersion);
        if (consumed === 'schema-changed') continue;
        if (Date.now() - beatAt >= HEARTBEAT_EVERY_MS) {
          await publishHeartbeat(this.producer!, this.options.topicPrefix, { at: new Date().toISOString(), position: stream.position.toString() });
          beatAt = Date.now();
        }
        if (failures > 0) {
          log.info({ attempts: failures }, 'streaming again');
          this.health.ready('streaming');
        }
        failures = 0;
        if (consumed === 0) await sleep(pollMs, signal);
      } catch (error) {
        if (!isTransient(error)) {
          this.health.failed(errorMessage(error));
          throw error;
        }
        // The position did not move: the same changes are read again (the rows as they are
        // by then) and sent again, so nothing is lost; Kafka may hold some twice.
        failures++;
        this.health.notReady(`${isSqliteBusy(error) ? 'SQLite is busy' : 'cannot stream changes'}: ${errorMessage(error)}`);
        const delayMs = Math.min(5_000, 50 * 2 ** Math.min(failures, 7));
        log.warn({ attempt: failures, delayMs, err: errorMessage(error) }, isSqliteBusy(error) ? 'SQLite is busy; retrying' : 'cannot stream changes; retrying');
        await sleep(delayMs, signal);
      }
    }
    this.health.notReady('stopping');
    log.info({ position: stream.position.toString() }, 'change stream stopped');
  }

  /**
   * The first snapshot of a following extractor. Its watermark is stored before the first
   * row is read and kept if the extractor stops midway: the restarted snapshot streams
   * every change after that same watermark, including deletes of rows the interrupted
   * one already sent. Tables Kafka acknowledged whole are not read again.
   */
  private async followSnapshot(modelStale: () => Promise<boolean>): Promise<bigint> {
    const { db, log } = this.options;
    let progress = readSnapshotProgress(db);
    if (progress) {
      log.info({ watermark: progress.watermark, done: Object.keys(progress.done) }, 'resuming an interrupted snapshot at its watermark');
    } else {
      let watermark = changelogHead(db);
      while (await modelStale()) watermark = changelogHead(db);
      progress = { snapshotId: randomUUID(), watermark: watermark.toString(), startedAt: new Date().toISOString(), done: {} };
      writeSnapshotProgress(db, progress);
      log.info({ watermark: progress.watermark }, 'snapshot starts at changelog watermark');
    }
    const state = progress;
    const watermark = BigInt(state.watermark);
    await this.snapshot(watermark, this.model.tables, snapshotProgress(db, watermark, this.model.tables, this.options.onProgress), {
      snapshotId: state.snapshotId,
      startedAt: state.startedAt,
      done: { ...state.done },
      onTableDone: (table, rows) => {
        state.done[table] = rows;
        writeSnapshotProgress(db, state);
        this.recordSnapshot(table, rows);
      },
    });
    completeSnapshot(db, watermark);
    return watermark;
  }

  /**
   * Before following: notes which captured tables lost their capture triggers while no
   * extractor ran (rebuilt, or dropped and created again), fences them again if a cutover
   * fence is up, installs capture, and plans what the tables need before the stream
   * resumes. Returns the schema version the model is current at.
   */
  private startCapture(): number {
    const { db, log } = this.options;
    let known = this.options.schemaVersion ?? schemaVersion(db);
    const wasCaptured = captureInstalled(db);
    const lost = new Set<string>();
    for (;;) {
      if (wasCaptured) {
        for (const table of missingTriggers(db, this.model.tables, 'capture')) lost.add(table);
        this.refence(this.model.tables);
      }
      const versions = installCapture(db, this.model.tables);
      if (versions.before === known) {
        known = versions.after;
        break;
      }
      // DDL between the schema read and capture: what it allowed was never recorded (a column
      // added, then filled, would be missing from the snapshot). Read the schema again.
      log.info('the schema changed while it was read: reading it again');
      known = schemaVersion(db);
      this.model = readSchema(db, this.model.mapping);
    }
    this.signature = schemaSignature(db);
    let captured = readCapturedTables(db);
    if (captured === null) {
      // Recorded by an earlier version: every table in its finished snapshot counts as snapshotted.
      const completed = readCompletedSnapshot(db);
      captured = completed ? Object.fromEntries(this.model.tables.map((t) => [t.name, { epoch: 0, snapshotAt: completed.completedAt }])) : {};
    }
    this.captured = captured;
    const plan = planStart(this.model, captured, lost);
    this.model = plan.model;
    this.pending = { snapshot: plan.snapshot, resync: plan.resync };
    if (wasCaptured && plan.snapshot.length > 0) log.info({ tables: plan.snapshot }, 'tables without a finished snapshot: snapshotting them');
    return known;
  }

  /** What startCapture planned: the snapshot of tables Kafka lacks, then the re-synchronisations. */
  private async catchUp(): Promise<void> {
    const { db } = this.options;
    const snapshot = this.model.tables.filter((t) => this.pending.snapshot.includes(t.name));
    if (snapshot.length > 0) {
      await this.snapshot(changelogHead(db), snapshot, undefined, { onTableDone: (table, rows) => this.recordSnapshot(table, rows) });
      this.pending.snapshot = [];
    }
    for (const [name, reason] of this.pending.resync) {
      await this.resync(this.model.tables.find((t) => t.name === name)!, reason);
      this.pending.resync.delete(name);
    }
  }

  /**
   * Sends every row of `table` again under its new epoch (table.resyncEpoch), at a
   * watermark taken now that its capture triggers are back (contract 4), then tells the
   * loader on the control topic which offsets hold them all: once applied, the rows that
   * epoch did not send are deleted in PostgreSQL (rows that vanished while the table had
   * no trigger). The extractor needs no PostgreSQL connection for it.
   */
  private async resync(table: TableModel, reason: string): Promise<void> {
    const { db, log, topicPrefix } = this.options;
    const startedAt = new Date().toISOString();
    const epoch = table.resyncEpoch ?? 0;
    this.record([table], { snapshotAt: undefined, rows: undefined, resync: { reason, startedAt } });
    // The new writer schema first: the loader knows the new epoch before its first row.
    const [topic] = await this.prepareTopics([table]);
    const watermark = changelogHead(db);
    log.debug({ table: table.name, epoch, reason, watermark: watermark.toString() }, 're-synchronising table');
    const { rowsPerTable } = await this.sendTables(watermark, [table], this.options.onProgress, {});
    const rows = rowsPerTable[table.name] ?? 0;
    const completedAt = new Date().toISOString();
    await publishResyncMarker(this.producer!, topicPrefix, {
      table: table.name,
      epoch,
      watermark: watermark.toString(),
      rows,
      endOffsets: { [topic!]: await endOffsets(this.requireAdmin(), topic!) },
      completedAt,
    });
    this.record([table], { snapshotAt: completedAt, rows, resync: { reason, startedAt, completedAt, rows } });
    log.info({ table: table.name, epoch, rows, reason }, 'table re-synchronised');
  }

  private recordSnapshot(name: string, rows: number): void {
    this.record([this.model.tables.find((t) => t.name === name)!], { snapshotAt: new Date().toISOString(), rows });
  }

  /** Updates what the SQLite file says of `tables` (their epoch and types as published now, and `patch`). */
  private record(tables: readonly TableModel[], patch: Partial<CapturedTable>): void {
    for (const table of tables) {
      const entry: CapturedTable = { ...this.captured[table.name], epoch: table.resyncEpoch ?? 0, types: typeTags(table), ...patch };
      for (const key of Object.keys(patch) as (keyof CapturedTable)[]) if (patch[key] === undefined) delete entry[key];
      this.captured[table.name] = entry;
    }
    writeCapturedTables(this.options.db, this.captured);
  }

  /** During cutover: tables that lost their fence (rebuilt meanwhile) are fenced again at once. */
  private refence(tables: readonly TableModel[]): ReturnType<typeof restoreFence> {
    const result = restoreFence(this.options.db, tables);
    for (const table of result.fenced) this.options.log.warn({ table }, 'table lost its cutover fence (rebuilt or created by the application): fenced again');
    return result;
  }

  /** Retries `operation` with backoff while the failure is one a running service waits out. */
  private waitOut<T>(signal: AbortSignal, operation: () => T | Promise<T>): Promise<T> {
    return retry(async () => operation(), {
      retries: Number.MAX_SAFE_INTEGER,
      initialDelayMs: 100,
      maxDelayMs: 5_000,
      signal,
      isRetriable: isTransient,
      onRetry: (error, attempt, delayMs) => {
        const what = isSqliteBusy(error) ? 'SQLite is busy' : 'Kafka is unavailable';
        this.health.notReady(`${what}: ${errorMessage(error)}`);
        this.options.log.warn({ attempt, delayMs, err: errorMessage(error) }, `${what}; retrying`);
      },
    });
  }

  /**
   * After `schema_version` moved: new tables get triggers, a schema and their own
   * snapshot; grown tables a new writer schema; tables rebuilt by the application (their
   * capture triggers gone), or that lost columns, are re-synchronised. Returns the schema
   * version the captured model is current at.
   */
  private async applySchemaChange(stream: StreamingSource): Promise<number> {
    const { db, log } = this.options;
    // The fence first, before the schema is read (a profile takes a while).
    this.refence(this.model.tables);
    const seen = schemaVersion(db);
    const signature = schemaSignature(db);
    // liteshift's own DDL (a cutover fence): nothing of the application's changed.
    if (signature === this.signature && missingTriggers(db, this.model.tables, 'capture').length === 0) return seen;
    const fresh = readSchema(db, this.model.mapping);
    const fence = this.refence(fresh.tables);
    const rebuilt = new Set(missingTriggers(db, this.model.tables.filter((t) => fresh.tables.some((f) => f.name === t.name)), 'capture'));
    const change = diffSchemas(this.model, fresh, rebuilt);
    const resynced: Resync[] = [...change.resynced];
    const resync = (table: TableModel, epoch: number, reason: string): void => {
      const again = { ...fresh.tables.find((t) => t.name === table.name)!, resyncEpoch: epoch };
      resynced.push({ table: again, reason });
      change.model.tables[change.model.tables.findIndex((t) => t.name === table.name)] = again;
    };
    // A table created again after it was dropped may have rows in PostgreSQL that SQLite no
    // longer has; one whose re-synchronisation an earlier attempt began is carried on.
    const added = change.added.filter((table) => {
      const entry = this.captured[table.name];
      if (entry) resync(table, entry.epoch + 1, 'created again after it was dropped');
      return !entry;
    });
    for (const table of change.model.tables) {
      const entry = this.captured[table.name];
      if (entry?.resync && !entry.snapshotAt && !resynced.some((r) => r.table.name === table.name)) resync(table, entry.epoch, entry.resync.reason);
    }
    // Recorded before the triggers are put back: an attempt that fails after that, or a
    // restart, no longer sees them lost, and carries the re-synchronisation on from this.
    for (const { table, reason } of resynced) this.record([table], { snapshotAt: undefined, rows: undefined, resync: { reason, startedAt: new Date().toISOString() } });
    // The captured model changes only once everything below is done: a step that fails
    // (Kafka down) is redone whole at the next attempt, the new tables' snapshot included.
    const versions = installCapture(db, change.model.tables);
    await this.prepareTopics([...added, ...change.altered]);
    stream.setTables(change.model.tables);
    for (const table of change.dropped) log.warn({ table }, 'table dropped from SQLite: no longer captured (its PostgreSQL table is kept)');
    for (const table of change.altered) log.info({ table: table.name }, 'columns added: new writer schema published');
    if (added.length > 0) {
      log.info({ tables: added.map((t) => t.name) }, 'new tables: capturing and snapshotting them');
      // Changes to the new tables recorded from now on stream after this snapshot, per key in order.
      await this.snapshot(changelogHead(db), added, undefined, { onTableDone: (name, rows) => this.record([added.find((t) => t.name === name)!], { snapshotAt: new Date().toISOString(), rows }) });
    }
    for (const { table, reason } of resynced) await this.resync(table, reason);
    this.model = change.model;
    this.signature = signature;
    // Only liteshift's own DDL came after the read: the model is current at its end.
    return fence.before === seen && versions.before === fence.after ? versions.after : seen;
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
