import { randomUUID } from 'node:crypto';
import {
  ChangeEventCodec,
  LiteshiftError,
  connectAdmin,
  createKafka,
  endOffsets,
  errorMessage,
  isSqliteBusy,
  newestPerTable,
  readAppliedOffsets,
  storeAppliedOffset,
  readSchemas,
  reverseTopicPrefix,
  sleep,
  tableSchemas,
  writerFingerprint,
  writeThroughFence,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaMessage,
  type Logger,
  type Notice,
  type PartitionOffsets,
  type SchemaRecord,
  type SqliteDatabase,
  type TableModel,
} from '@liteshift/shared';
import { ensureTargetTables, lockedError } from './sqlite-target.js';
import { SqliteTableWriter, type RowChange, type WriteStats } from './table-writer.js';

export interface SqliteApplierOptions {
  /** The SQLite file, opened by openTarget (foreign keys off, write lock checked). */
  db: SqliteDatabase;
  sqlitePath: string;
  brokers: string[];
  /** The forward prefix: the applier reads `<prefix>.reverse.<table>`. */
  topicPrefix: string;
  log: Logger;
  /** The live fallback: the file stays fenced against the application, and the applier writes through the fence (writeThroughFence). */
  throughFence?: boolean;
}

interface Writer {
  record: SchemaRecord;
  codec: ChangeEventCodec;
  writer: SqliteTableWriter;
}

export interface AppliedTotals extends WriteStats {
  /** Messages applied (events and tombstones), counted once each: a message below the file's position is skipped. */
  messages: number;
}

/** Write transactions that found the file locked are tried again for about this long before the applier gives up. */
const BUSY_ATTEMPTS = 6;

/**
 * The SQLite applier: follows the reverse topics into the SQLite file. Each batch of a
 * topic-partition is collapsed per key (the last event wins) and written in one write
 * transaction together with the partition's next offset, in the file itself (the mirror
 * of the loader's contract 5): killed anywhere, a restarted applier resumes at the
 * position the file holds, and nothing is lost or applied twice. Tables the file lacks
 * are created from the models on the reverse schema topic, columns added likewise.
 */
export class SqliteApplier {
  private readonly kafka;
  private readonly prefix: string;
  private admin: Admin | null = null;
  private consumer: Consumer | null = null;
  private readonly writers = new Map<string, Writer>();
  private readonly topicTables = new Map<string, string>();
  /** Next offset applied per topic and partition, as the file holds it. */
  private applied: Record<string, PartitionOffsets> = {};
  /** Partitions this run's consumer was sought to the file's position: a gap after that is compaction, not a skip. */
  private readonly positioned = new Set<string>();
  private fatal: Error | null = null;
  private waiters: (() => boolean)[] = [];
  readonly totals: AppliedTotals = { messages: 0, upserted: 0, deleted: 0, unchanged: 0 };

  constructor(private readonly options: SqliteApplierOptions) {
    this.prefix = reverseTopicPrefix(options.topicPrefix);
    this.kafka = createKafka({ brokers: options.brokers, clientId: 'liteshift-sqlite-applier', log: options.log });
  }

  async connect(): Promise<void> {
    this.admin ??= await connectAdmin(this.kafka, this.options.brokers);
  }

  /**
   * Reads the reverse schema topic: the newest model of each table defines the SQLite
   * table (created, or given the columns it lacks); every writer schema gets its writer.
   * A following applier (the live fallback) will also take tables published later.
   */
  async refreshSchemas(): Promise<Notice[]> {
    // The tables the file has a position for (an export sets them at its snapshot's start):
    // a table an older export carried and PostgreSQL dropped since is not created again.
    const positioned = new Set(Object.keys(readAppliedOffsets(this.options.db)));
    const records = [...(await readSchemas(this.kafka, this.requireAdmin(), this.prefix)).values()].filter((r) => positioned.has(r.topic));
    const latest = newestPerTable(records);
    const notices = ensureTargetTables(this.options.db, this.options.sqlitePath, [...latest.values()].map((r) => r.table));
    for (const record of records) {
      if (this.writers.has(record.fingerprint)) continue;
      const target: TableModel = latest.get(record.table.name)!.table;
      this.writers.set(record.fingerprint, {
        record,
        codec: new ChangeEventCodec(tableSchemas(record.table)),
        writer: new SqliteTableWriter(this.options.db, target, record.table.columns),
      });
    }
    for (const record of latest.values()) this.topicTables.set(record.topic, record.table.name);
    return notices;
  }

  /** The reverse table topics, as the schema topic names them (after refreshSchemas). */
  topics(): string[] {
    return [...this.topicTables.keys()];
  }

  /**
   * Applies every reverse topic from the file's position up to `until` (default: the
   * topics' end offsets now), then stops. Returns what was applied.
   */
  async run(until?: Record<string, PartitionOffsets>): Promise<AppliedTotals> {
    if (this.topicTables.size === 0) await this.refreshSchemas();
    const admin = this.requireAdmin();
    const goal: Record<string, PartitionOffsets> = until ?? {};
    if (!until) for (const topic of this.topics()) goal[topic] = await endOffsets(admin, topic);
    this.applied = readAppliedOffsets(this.options.db);
    const topics = Object.keys(goal).filter((topic) => !this.reachedTopic(topic, goal[topic]!));
    if (topics.length === 0) return this.totals;
    this.options.log.info({ from: this.applied, to: goal }, 'applying the reverse topics from the position the SQLite file holds');
    await this.consume(topics, () => this.waitFor(goal));
    return this.totals;
  }

  /** Applies every reverse topic from the file's position as its events arrive, until `signal` aborts (the live fallback). */
  async follow(signal: AbortSignal): Promise<void> {
    if (this.topicTables.size === 0) await this.refreshSchemas();
    this.applied = readAppliedOffsets(this.options.db);
    const stopped = new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      this.waiters.push(() => {
        if (this.fatal) reject(this.fatal);
        return this.fatal !== null;
      });
    });
    await this.consume(this.topics(), () => stopped);
  }

  private async consume(topics: string[], until: () => Promise<void>): Promise<void> {
    const admin = this.requireAdmin();

    // A group of its own for each run: kafkajs has no consumer without one, and the file,
    // not Kafka, holds the position (two files exported from one prefix never share it).
    const groupId = `${this.prefix}-applier-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxBytesPerPartition: 1024 * 1024, maxBytes: 4 * 1024 * 1024, maxWaitTimeInMs: 250 });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) this.fail(new LiteshiftError('KAFKA_FAILED', `the SQLite applier stopped: ${event.payload.error.message}`, { cause: event.payload.error }));
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
        for (const partition of partitions) this.seek(topic, partition);
      }
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.handleBatch(payload) });
      await until();
    } finally {
      this.consumer = null;
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  }

  private seek(topic: string, partition: number): void {
    this.consumer?.seek({ topic, partition, offset: this.appliedOf(topic, partition).toString() });
    this.positioned.add(`${topic}\u0000${partition}`);
  }

  private appliedOf(topic: string, partition: number): bigint {
    return BigInt(this.applied[topic]?.[partition] ?? '0');
  }

  private reachedTopic(topic: string, partitions: PartitionOffsets): boolean {
    return Object.entries(partitions).every(([partition, end]) => this.appliedOf(topic, Number(partition)) >= BigInt(end));
  }

  private waitFor(goal: Record<string, PartitionOffsets>): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.fatal) reject(this.fatal);
        else if (Object.entries(goal).every(([topic, partitions]) => this.reachedTopic(topic, partitions))) resolve();
        else return false;
        return true;
      };
      if (!check()) this.waiters.push(check);
    });
  }

  private fail(error: Error): void {
    this.fatal ??= error;
    this.waiters = this.waiters.filter((check) => !check());
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = batch;
    if (messages.length === 0 || isStale() || this.fatal) return;
    const next = this.appliedOf(topic, partition);
    const first = BigInt(messages[0]!.offset);
    const last = BigInt(messages[messages.length - 1]!.offset);
    if (first > next && !this.positioned.has(`${topic}\u0000${partition}`)) {
      // Not read from the file's position (the batch came before the seek): never skip
      // what the file has not applied. Once sought there, a gap is what compaction removed.
      this.seek(topic, partition);
      return;
    }
    // Messages below the file's position were applied (the batch came before the seek):
    // nothing to write, and the position must never move back.
    const fresh = messages.filter((m) => BigInt(m.offset) >= next);
    if (fresh.length === 0) return;
    try {
      const changes = await this.decode(topic, fresh);
      const stats = await this.commit(topic, partition, changes, last + 1n);
      (this.applied[topic] ??= {})[partition] = (last + 1n).toString();
      this.totals.messages += fresh.length;
      this.totals.upserted += stats.upserted;
      this.totals.deleted += stats.deleted;
      this.totals.unchanged += stats.unchanged;
      this.options.log.info(
        { table: this.topicTables.get(topic), topic, partition, from: fresh[0]!.offset, to: last.toString(), messages: fresh.length, ...stats },
        'batch applied',
      );
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    resolveOffset(last.toString());
    await heartbeat();
    this.waiters = this.waiters.filter((check) => !check());
  }

  /** The last event of each key, grouped by the writer schema that wrote it. */
  private async decode(topic: string, messages: readonly KafkaMessage[]): Promise<Map<Writer, RowChange[]>> {
    // Synchronous per message: a writer schema met for the first time reads the schema topic once.
    const unknown = messages.find((m) => m.value !== null && !this.writers.has(writerFingerprint(m.value) ?? ''));
    if (unknown) await this.refreshSchemas();
    const last = new Map<string, { writer: Writer; change: RowChange }>();
    for (const message of messages) {
      // A tombstone follows its delete event, which did the work.
      if (message.value === null || message.key === null) continue;
      const writer = this.writerOf(topic, message);
      const event = writer.codec.decodeValue(message.value);
      const id = message.key.toString('latin1');
      last.delete(id);
      last.set(id, { writer, change: { key: writer.codec.decodeKey(message.key), row: event.op === 'd' ? null : event.after } });
    }
    const out = new Map<Writer, RowChange[]>();
    for (const { writer, change } of last.values()) {
      const list = out.get(writer);
      if (list) list.push(change);
      else out.set(writer, [change]);
    }
    return out;
  }

  private writerOf(topic: string, message: KafkaMessage): Writer {
    const fingerprint = writerFingerprint(message.value!);
    const writer = fingerprint ? this.writers.get(fingerprint) : undefined;
    if (!writer || writer.record.topic !== topic) {
      throw new LiteshiftError('DECODE_FAILED', `${topic} offset ${message.offset} is not a change event of a table on ${this.prefix}._schemas`, {
        hint: 'only liteshift export-sqlite writes to the reverse topics; run it again',
      });
    }
    return writer;
  }

  /** One write transaction: the rows and the partition's next offset. SQLITE_BUSY is waited out a few times. */
  private async commit(topic: string, partition: number, changes: Map<Writer, RowChange[]>, next: bigint): Promise<WriteStats> {
    const { db } = this.options;
    const apply = (): WriteStats => {
      const stats: WriteStats = { upserted: 0, deleted: 0, unchanged: 0 };
      for (const [writer, rows] of changes) {
        const s = writer.writer.apply(rows);
        stats.upserted += s.upserted;
        stats.deleted += s.deleted;
        stats.unchanged += s.unchanged;
      }
      storeAppliedOffset(db, topic, partition, next);
      return stats;
    };
    const write = db.transaction(() => (this.options.throughFence ? writeThroughFence(db, apply) : apply()));
    for (let attempt = 1; ; attempt++) {
      try {
        return write.immediate();
      } catch (error) {
        if (!isSqliteBusy(error)) throw error;
        if (attempt >= BUSY_ATTEMPTS) throw lockedError(this.options.sqlitePath, error);
        this.options.log.warn({ attempt, err: errorMessage(error) }, 'SQLite is busy; retrying');
        await sleep(500 * attempt);
      }
    }
  }

  requireAdmin(): Admin {
    if (!this.admin) throw new Error('the SQLite applier is not connected');
    return this.admin;
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
