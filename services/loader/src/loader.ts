import {
  ChangeEventCodec,
  LiteshiftError,
  connectAdmin,
  createKafka,
  createPool,
  MessageProducer,
  writerFingerprint,
  deadLetterTopic,
  describePostgresUrl,
  ensureMetaSchema,
  errorMessage,
  sleep,
  retry,
  isRetriableKafkaError,
  isLiteshiftError,
  postgresError,
  readSchemas,
  schemaTopic,
  topicOffsets,
  readSnapshotMarker,
  tableSchemas,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaMessage,
  type Logger,
  type PartitionOffsets,
  type PgPool,
  type SchemaRecord,
  type SnapshotMarker,
  type SqlValue,
  type TableModel,
} from '@liteshift/shared';
import { collapseByKey, insertRejects, TableApplier, type ApplyStats, type KeyedChange, type RejectRow } from './apply.js';
import { ensureTargetTable } from './target-tables.js';
import { finalizeTables } from './finalize.js';
import { lockOffset, partitionId, readOffsets, storeOffset } from './offsets.js';

export interface LoaderOptions {
  databaseUrl: string;
  brokers: string[];
  topicPrefix: string;
  targetSchema: string;
  consumerGroup?: string;
  log: Logger;
  /** PostgreSQL connections, hence partitions applied at once. */
  concurrency?: number;
  onApplied?: (table: string, stats: ApplyStats) => void;
}

interface WriterSchema {
  record: SchemaRecord;
  codec: ChangeEventCodec;
  /** Index in the target's columns of each writer column (schemas evolve by adding columns). */
  toTarget: number[];
  /** Target columns this writer has, when it lacks some (written before columns were added). */
  covers?: number[];
}

interface TableState {
  applier: TableApplier;
  fingerprint: string;
}

/**
 * The loader (consumer group): decodes change events, collapses each batch per key and
 * applies it with its offsets in one PostgreSQL transaction.
 */
export const loaderGroup = (topicPrefix: string): string => `${topicPrefix}-loader`;

export class Loader {
  readonly group: string;
  private readonly kafka;
  private pool: PgPool | null = null;
  private admin: Admin | null = null;
  private producer: MessageProducer | null = null;
  private consumer: Consumer | null = null;
  private readonly writers = new Map<string, WriterSchema>();
  private readonly records = new Map<string, SchemaRecord>();
  private readonly tables = new Map<string, TableState>();
  private readonly topicTables = new Map<string, string>();
  private readonly applied = new Map<string, bigint>();
  private fatal: Error | null = null;
  private progressWaiters: (() => boolean)[] = [];
  readonly totals: ApplyStats & { deadLettered: number } = { upserted: 0, deleted: 0, rejected: 0, deadLettered: 0 };

  constructor(private readonly options: LoaderOptions) {
    this.group = options.consumerGroup ?? loaderGroup(options.topicPrefix);
    this.kafka = createKafka({ brokers: options.brokers, clientId: 'liteshift-loader', log: options.log });
  }

  async connect(): Promise<void> {
    const { databaseUrl, log } = this.options;
    this.pool = createPool(databaseUrl, 'liteshift-loader', (this.options.concurrency ?? 3) + 1);
    try {
      const client = await this.pool.connect();
      try {
        await ensureMetaSchema(client);
      } finally {
        client.release();
      }
    } catch (error) {
      throw postgresError(error, databaseUrl);
    }
    this.admin = await connectAdmin(this.kafka, this.options.brokers);
    this.producer = new MessageProducer({ brokers: this.options.brokers, clientId: 'liteshift-loader', log: this.options.log });
    log.info({ postgres: describePostgresUrl(databaseUrl), group: this.group }, 'loader connected');
  }

  /** Reads the schema topic; creates or adopts the target table of every table it names. */
  async refreshSchemas(): Promise<string[]> {
    const records = await readSchemas(this.kafka, this.requireAdmin(), this.options.topicPrefix);
    await this.applySchemaRecords(records.values());
    return [...new Set([...this.topicTables.keys()])];
  }

  /**
   * Takes writer schemas (from the schema topic, read whole or consumed as it grows): the
   * newest of each table defines its target table, created or altered here.
   */
  private async applySchemaRecords(incoming: Iterable<SchemaRecord>): Promise<void> {
    for (const record of incoming) this.records.set(record.fingerprint, record);
    const latest = new Map<string, SchemaRecord>();
    for (const record of this.records.values()) {
      const current = latest.get(record.table.name);
      if (!current || current.publishedAt < record.publishedAt) latest.set(record.table.name, record);
    }
    const client = await this.requirePool().connect();
    try {
      for (const record of latest.values()) {
        const state = this.tables.get(record.table.name);
        if (state?.fingerprint === record.fingerprint) continue;
        await ensureTargetTable(client, this.options.targetSchema, record.table, record.fingerprint, this.options.log);
        this.tables.set(record.table.name, {
          applier: new TableApplier(record.table, this.options.targetSchema, record.fingerprint),
          fingerprint: record.fingerprint,
        });
        this.topicTables.set(record.topic, record.table.name);
      }
    } catch (error) {
      throw postgresError(error, this.options.databaseUrl, 'create the target tables');
    } finally {
      client.release();
    }
    for (const record of this.records.values()) {
      const target = latest.get(record.table.name)!.table;
      const toTarget = record.table.columns.map((c) => target.columns.findIndex((t) => t.name === c.name));
      const covered = [...new Set(toTarget.filter((i) => i >= 0))].sort((a, b) => a - b);
      this.writers.set(record.fingerprint, {
        record,
        codec: new ChangeEventCodec(tableSchemas(record.table)),
        toTarget,
        ...(covered.length < target.columns.length ? { covers: covered } : {}),
      });
    }
  }

  tableModels(): TableModel[] {
    return [...this.tables.values()].map((t) => t.applier.table);
  }

  private async loadOffsets(): Promise<void> {
    const client = await this.requirePool().connect();
    try {
      this.applied.clear();
      for (const [id, next] of await readOffsets(client, this.group)) this.applied.set(id, next);
    } catch (error) {
      throw postgresError(error, this.options.databaseUrl);
    } finally {
      client.release();
    }
  }

  /** Starts consuming every table topic named on the schema topic; returns once running. */
  async start(): Promise<void> {
    await this.loadOffsets();
    const topics = await this.refreshSchemas();
    if (topics.length === 0 || this.consumer) return;
    const consumer = this.kafka.consumer({
      groupId: this.group,
      allowAutoTopicCreation: false,
      // Bounded: a fetch is decoded whole in memory, per partition being applied.
      maxBytesPerPartition: 2 * 1024 * 1024,
      maxBytes: 8 * 1024 * 1024,
      maxWaitTimeInMs: 250,
      sessionTimeout: 45_000,
      heartbeatInterval: 3_000,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) {
        this.fail(new LiteshiftError('KAFKA_FAILED', `loader stopped: ${event.payload.error.message}`, { cause: event.payload.error }));
      }
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.seekToStoredOffsets(consumer, event.payload.memberAssignment).catch((error: unknown) =>
        this.fail(new LiteshiftError('KAFKA_FAILED', `cannot position the loader on its stored offsets: ${errorMessage(error)}`, { cause: error })),
      );
    });
    try {
      await consumer.connect();
      // The schema topic too: a column added in SQLite reaches PostgreSQL as soon as its
      // schema is published, not when a row of that table next changes.
      await consumer.subscribe({ topics: [...topics, schemaTopic(this.options.topicPrefix)], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.concurrency ?? 3,
        eachBatch: (payload) => this.handleBatch(payload),
      });
    } catch (error) {
      this.consumer = null;
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** Resolves once every partition in `until` is applied; rejects if the loader fails. */
  waitFor(until: Record<string, PartitionOffsets>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): boolean => {
        if (this.fatal) {
          reject(this.fatal);
          return true;
        }
        if (this.reached(until)) {
          resolve();
          return true;
        }
        return false;
      };
      if (!check()) this.progressWaiters.push(check);
    });
  }

  /**
   * The long-running loader: applies every change until `signal` aborts. New table topics
   * (a table created in SQLite) are picked up without a restart; once the snapshot is in,
   * the indexes that are safe while changes still stream are created.
   */
  async follow(signal: AbortSignal, options: { checkEveryMs?: number } = {}): Promise<void> {
    const every = options.checkEveryMs ?? 3_000;
    await retry(() => this.start(), {
      retries: 10,
      initialDelayMs: 500,
      maxDelayMs: 5_000,
      isRetriable: (e) => isRetriableKafkaError(e) || (isLiteshiftError(e) && e.retriable),
      onRetry: (e, attempt) => this.options.log.warn({ attempt, err: errorMessage(e) }, 'loader start failed; retrying'),
    });
    let known = new Set(this.topicTables.keys());
    let postSnapshotDone = false;
    while (!signal.aborted) {
      await sleep(every, signal);
      if (signal.aborted || this.fatal) break;
      try {
        const topics = await this.requireAdmin().listTopics();
        const prefix = `${this.options.topicPrefix}.`;
        if (topics.some((t) => t.startsWith(prefix) && !t.startsWith(`${prefix}_`) && !known.has(t))) {
          await this.stop();
          await this.start();
          known = new Set(this.topicTables.keys());
          this.options.log.info({ topics: [...known] }, 'consuming new table topics');
        }
        if (!postSnapshotDone) {
          const marker = await this.snapshotMarker();
          if (marker?.completedAt && this.reached(marker.endOffsets)) {
            const client = await this.requirePool().connect();
            try {
              await finalizeTables(client, this.options.targetSchema, this.tableModels(), this.options.log, 'while-following');
            } finally {
              client.release();
            }
            postSnapshotDone = true;
          }
        }
      } catch (error) {
        this.options.log.warn({ err: errorMessage(error) }, 'housekeeping failed; retrying');
      }
    }
    await this.stop();
    if (this.fatal) throw this.fatal;
  }

  /** One-shot: consume until `until` is applied, then stop. */
  async run(until: Record<string, PartitionOffsets>): Promise<void> {
    await this.start();
    try {
      await this.waitFor(until);
    } finally {
      await this.stop();
    }
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.disconnect().catch(() => undefined);
  }

  private fail(error: Error): void {
    this.fatal ??= error;
    this.notifyProgress();
  }

  private notifyProgress(): void {
    this.progressWaiters = this.progressWaiters.filter((check) => !check());
  }

  reached(until: Record<string, PartitionOffsets>): boolean {
    for (const [topic, partitions] of Object.entries(until)) {
      for (const [partition, end] of Object.entries(partitions)) {
        if ((this.applied.get(partitionId(topic, Number(partition))) ?? 0n) < BigInt(end)) return false;
      }
    }
    return true;
  }

  /**
   * PostgreSQL's offsets are the truth: Kafka's committed offsets of the group may be ahead
   * (an emptied or new target database) or behind (a crash between the two commits).
   * A partition PostgreSQL has no offset for starts at its beginning.
   */
  private async seekToStoredOffsets(consumer: Consumer, assignment: Record<string, number[]>): Promise<void> {
    for (const [topic, partitions] of Object.entries(assignment)) {
      const lows = new Map((await topicOffsets(this.requireAdmin(), topic)).map((o) => [o.partition, o.low]));
      for (const partition of partitions) {
        const next = this.applied.get(partitionId(topic, partition));
        consumer.seek({ topic, partition, offset: next !== undefined ? next.toString() : (lows.get(partition) ?? '0') });
      }
    }
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = batch;
    if (messages.length === 0 || isStale()) return;
    if (topic === schemaTopic(this.options.topicPrefix)) {
      const records = messages.flatMap((m) => (m.value ? [JSON.parse(m.value.toString()) as SchemaRecord] : []));
      await this.applySchemaRecords(records.filter((r) => r.version === 1 && !this.records.has(r.fingerprint)));
      resolveOffset(messages[messages.length - 1]!.offset);
      await commitOffsetsIfNecessary();
      return;
    }
    const tableName = this.topicTables.get(topic);
    if (!tableName || !this.tables.has(tableName)) throw new Error(`no schema known for topic ${topic}`);
    let state = this.tables.get(tableName)!;
    let decoded: (KeyedChange & { keyBytes: Buffer; offset: string })[] = [];
    let deadLetters: { message: KafkaMessage; reason: string }[] = [];
    // A new writer schema met mid-batch (columns added) changes the target's columns:
    // decode the whole batch again against them.
    for (let attempt = 0; attempt < 2; attempt++) {
      decoded = [];
      deadLetters = [];
      for (const message of messages) {
        const change = await this.decode(message, state);
        if (typeof change === 'string') deadLetters.push({ message, reason: change });
        else decoded.push(change);
      }
      if (this.tables.get(tableName) === state) break;
      state = this.tables.get(tableName)!;
    }
    if (deadLetters.length > 0) await this.deadLetter(topic, partition, deadLetters);

    const lastOffset = BigInt(messages[messages.length - 1]!.offset);
    const client = await this.requirePool().connect();
    let stats: ApplyStats = { upserted: 0, deleted: 0, rejected: 0 };
    try {
      await client.query('BEGIN');
      const next = await lockOffset(client, this.group, topic, partition);
      const fresh = collapseByKey(decoded.filter((d) => BigInt(d.offset) >= next));
      const rejects: RejectRow[] = [];
      stats = await state.applier.apply(client, fresh, rejects);
      await insertRejects(client, rejects, topic, partition);
      if (lastOffset + 1n > next) await storeOffset(client, this.group, topic, partition, lastOffset + 1n);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      const wrapped = postgresError(error, this.options.databaseUrl, `apply a batch of ${tableName}`);
      this.options.log.error({ table: tableName, topic, partition, err: errorMessage(wrapped) }, 'batch failed');
      if (!wrapped.retriable) this.fail(wrapped);
      throw wrapped;
    } finally {
      client.release();
    }
    const id = partitionId(topic, partition);
    if ((this.applied.get(id) ?? 0n) < lastOffset + 1n) this.applied.set(id, lastOffset + 1n);
    this.totals.upserted += stats.upserted;
    this.totals.deleted += stats.deleted;
    this.totals.rejected += stats.rejected;
    this.totals.deadLettered += deadLetters.length;
    this.options.log.debug({ table: tableName, partition, offset: lastOffset.toString(), ...stats }, 'batch applied');
    this.options.onApplied?.(tableName!, stats);
    resolveOffset(lastOffset.toString());
    await commitOffsetsIfNecessary();
    await heartbeat();
    this.notifyProgress();
  }

  /** Decodes one message for the target's columns, or says why it cannot be. */
  private async decode(message: KafkaMessage, state: TableState): Promise<(KeyedChange & { keyBytes: Buffer }) | string> {
    if (!message.key) return 'message has no key';
    if (message.value === null) {
      // A tombstone carries no schema: its key is in the table's key schema, which a
      // schema change that adds columns leaves as it was.
      try {
        return { key: this.writers.get(state.fingerprint)!.codec.decodeKey(message.key), keyBytes: message.key, row: null, offset: message.offset };
      } catch (error) {
        return `cannot decode the key of a tombstone: ${errorMessage(error)}`;
      }
    }
    const fingerprint = writerFingerprint(message.value);
    if (!fingerprint) return 'value does not start with a liteshift writer-schema prefix';
    let writer = this.writers.get(fingerprint);
    if (!writer) {
      await this.refreshSchemas();
      writer = this.writers.get(fingerprint);
      if (!writer) return `unknown writer schema ${fingerprint}`;
    }
    if (writer.record.table.name !== state.applier.table.name) return `writer schema ${fingerprint} is for table ${writer.record.table.name}`;
    try {
      const key = writer.codec.decodeKey(message.key);
      const event = writer.codec.decodeValue(message.value);
      if (event.op === 'd' || event.after === null) return { key, keyBytes: message.key, row: null, offset: message.offset };
      const target = state.applier.table.columns.length;
      let row: SqlValue[] = event.after;
      if (writer.record.fingerprint !== state.fingerprint) {
        row = new Array<SqlValue>(target).fill(null);
        writer.toTarget.forEach((to, from) => {
          if (to >= 0) row[to] = event.after![from]!;
        });
      }
      return { key, keyBytes: message.key, row, offset: message.offset, ...(writer.covers ? { columns: writer.covers } : {}) };
    } catch (error) {
      return `cannot decode: ${errorMessage(error)}`;
    }
  }

  private async deadLetter(topic: string, partition: number, letters: readonly { message: KafkaMessage; reason: string }[]): Promise<void> {
    await this.producer!.send(
      deadLetterTopic(this.options.topicPrefix),
      letters.map(({ message, reason }) => ({
        key: message.key,
        value: message.value,
        headers: {
          'liteshift.dlq.reason': reason,
          'liteshift.dlq.topic': topic,
          'liteshift.dlq.partition': String(partition),
          'liteshift.dlq.offset': message.offset,
        },
      })),
    );
    for (const { message, reason } of letters) {
      this.options.log.warn({ topic, partition, offset: message.offset, reason }, 'message sent to the dead-letter topic');
    }
  }

  /** The latest snapshot marker on the control topic, if the extractor has finished one. */
  async snapshotMarker(): Promise<SnapshotMarker | null> {
    return readSnapshotMarker(this.kafka, this.requireAdmin(), this.options.topicPrefix);
  }

  requirePool(): PgPool {
    if (!this.pool) throw new Error('loader is not connected');
    return this.pool;
  }

  private requireAdmin(): Admin {
    if (!this.admin) throw new Error('loader is not connected');
    return this.admin;
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
  }
}
