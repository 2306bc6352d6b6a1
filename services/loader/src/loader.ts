import {
  ChangeEventCodec,
  LiteshiftError,
  connectAdmin,
  createKafka,
  createPool,
  MessageProducer,
  writerFingerprint,
  deadLetterTopic,
  DEAD_LETTER_HEADERS,
  describePostgresUrl,
  ensureTopics,
  ensureMetaSchema,
  errorMessage,
  sleep,
  retry,
  isRetriableKafkaError,
  isLiteshiftError,
  keyMayHoldNull,
  postgresError,
  readSchemas,
  schemaTopic,
  topicOffsets,
  readSnapshotMarker,
  tableSchemas,
  endOffsets,
  type Admin,
  type HealthState,
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
import type { LoaderMetrics } from './metrics.js';

export interface LoaderOptions {
  databaseUrl: string;
  brokers: string[];
  topicPrefix: string;
  targetSchema: string;
  consumerGroup?: string;
  log: Logger;
  /** PostgreSQL connections, hence partitions applied at once. */
  concurrency?: number;
  /**
   * How long the group waits for a member that stopped answering (a loader killed) before
   * its partitions move to the others. Kafka's own default (45 s) leaves them unapplied
   * that long; a batch is applied well within 10 s, and a member dropped anyway costs only
   * a rebalance, since positions live in PostgreSQL.
   */
  sessionTimeoutMs?: number;
  onApplied?: (table: string, stats: ApplyStats) => void;
  /** Counted per batch when given (one registry per process: the CLI's service commands). */
  metrics?: LoaderMetrics;
  /** The one line per applied batch: info for the service, debug where a progress display already says it (migrate). */
  batchLogLevel?: 'info' | 'debug';
}

/** A batch committed this recently proves PostgreSQL reachable: /readyz need not query it (its pool may be busy). */
const RECENT_COMMIT_MS = 10_000;

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

/** An upsert in the target's writer schema, kept encoded: key and row are decoded only when asked for. */
class EncodedUpsert implements KeyedChange {
  readonly encoded: { value: Buffer; at: number };
  private decodedKey: SqlValue[] | undefined;
  private decodedRow: SqlValue[] | undefined;

  constructor(
    readonly keyBytes: Buffer,
    value: Buffer,
    at: number,
    readonly offset: string,
    private readonly codec: ChangeEventCodec,
  ) {
    this.encoded = { value, at };
  }

  get key(): SqlValue[] {
    return (this.decodedKey ??= this.codec.decodeKey(this.keyBytes));
  }

  get row(): SqlValue[] {
    return (this.decodedRow ??= this.codec.decodeValue(this.encoded.value).after!);
  }
}

/**
 * The loader (consumer group): decodes change events, collapses each batch per key and
 * applies it with its offsets in one PostgreSQL transaction.
 */
/** decode()'s answer for a value whose writer schema this loader has not read yet. */
const UNKNOWN_WRITER = Symbol('unknown writer schema');

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
  /** Next offset applied in PostgreSQL per partition, as far as this process knows. */
  private readonly applied = new Map<string, bigint>();
  /**
   * Where this member's consumer reads each assigned partition from: set by our own seeks
   * and by every batch applied, cleared at every group join. A batch that starts past
   * PostgreSQL's offset is applied only when this vouches that nothing in between was skipped.
   */
  private readonly positions = new Map<string, bigint>();
  private generation = 0;
  private following = false;
  /** The consumer stopped for good (kafkajs gave up): follow() starts a new one. */
  private crashed: Error | null = null;
  private fatal: Error | null = null;
  private progressWaiters: (() => boolean)[] = [];
  private lastCommitAt = 0;
  readonly totals: ApplyStats & { deadLettered: number } = { upserted: 0, deleted: 0, rejected: 0, deadLettered: 0 };

  constructor(private readonly options: LoaderOptions) {
    this.group = options.consumerGroup ?? loaderGroup(options.topicPrefix);
    this.kafka = createKafka({ brokers: options.brokers, clientId: 'liteshift-loader', log: options.log });
    options.metrics?.readLagFrom(() => this.lag());
  }

  /** What /healthz and /readyz answer: ready while consuming with PostgreSQL reachable; not live once failed for good. */
  async health(): Promise<HealthState> {
    if (this.fatal) return { live: false, ready: false, reason: `loader failed: ${errorMessage(this.fatal)}` };
    if (!this.pool || !this.admin) return { live: true, ready: false, reason: 'connecting to PostgreSQL and Kafka' };
    if (!this.consumer || this.crashed || this.generation === 0) return { live: true, ready: false, reason: 'not consuming yet: no table topics, or joining the consumer group' };
    if (Date.now() - this.lastCommitAt > RECENT_COMMIT_MS) {
      try {
        await this.pool.query('SELECT 1');
      } catch (error) {
        return { live: true, ready: false, reason: errorMessage(postgresError(error, this.options.databaseUrl)) };
      }
    }
    return { live: true, ready: true, reason: 'consuming' };
  }

  /** Per table, messages on its topic not yet applied to PostgreSQL (by any member of the group). */
  async lag(): Promise<Map<string, number>> {
    const admin = this.requireAdmin();
    const applied = await this.storedOffsets();
    const lag = new Map<string, number>();
    for (const [topic, table] of this.topicTables) {
      let behind = 0;
      for (const [partition, end] of Object.entries(await endOffsets(admin, topic))) {
        const id = partitionId(topic, Number(partition));
        const next = [applied.get(id) ?? 0n, this.applied.get(id) ?? 0n].reduce((a, b) => (a > b ? a : b));
        if (BigInt(end) > next) behind += Number(BigInt(end) - next);
      }
      lag.set(table, behind);
    }
    return lag;
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
    // Dead letters need their topic even when no extractor created it (a topic fed by hand).
    await ensureTopics(this.admin, [{ topic: deadLetterTopic(this.options.topicPrefix), partitions: 1, compacted: false }]);
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
        const targetTypes = await ensureTargetTable(client, this.options.targetSchema, record.table, record.fingerprint, this.options.log);
        this.tables.set(record.table.name, {
          applier: new TableApplier(record.table, this.options.targetSchema, record.fingerprint, targetTypes),
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

  /** Every table named on the schema topic, with its topic (after refreshSchemas). */
  tableTopics(): { table: TableModel; topic: string }[] {
    return [...this.topicTables].flatMap(([topic, name]) => {
      const state = this.tables.get(name);
      return state ? [{ table: state.applier.table, topic }] : [];
    });
  }

  tableModels(): TableModel[] {
    return [...this.tables.values()].map((t) => t.applier.table);
  }

  /** PostgreSQL's offsets of this group, read now. */
  private async storedOffsets(): Promise<Map<string, bigint>> {
    const client = await this.requirePool().connect();
    try {
      return await readOffsets(client, this.group);
    } catch (error) {
      throw postgresError(error, this.options.databaseUrl);
    } finally {
      client.release();
    }
  }

  /** Takes in what PostgreSQL holds, including what other members of the group applied. */
  async refreshApplied(): Promise<void> {
    for (const [id, next] of await this.storedOffsets()) {
      if ((this.applied.get(id) ?? -1n) < next) this.applied.set(id, next);
    }
  }

  /** Starts consuming every table topic named on the schema topic; returns once running. */
  async start(): Promise<void> {
    await this.refreshApplied();
    const topics = await this.refreshSchemas();
    if (topics.length === 0 || this.consumer) return;
    const consumer = this.kafka.consumer({
      groupId: this.group,
      allowAutoTopicCreation: false,
      // Bounded: a fetch is decoded whole in memory, per partition being applied. 1 MB per
      // partition (4 MB per fetch) is as fast as 2/8 MB and holds less at once (1M tasks,
      // `liteshift load`: peak RSS 266–278 → 208–216 MB, 16.5 → 15.5 s).
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 4 * 1024 * 1024,
      maxWaitTimeInMs: 250,
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: Math.max(500, Math.floor((this.options.sessionTimeoutMs ?? 10_000) / 5)),
    });
    this.consumer = consumer;
    this.crashed = null;
    consumer.on(consumer.events.CRASH, (event) => {
      const error = event.payload.error;
      if (event.payload.restart) {
        this.options.log.warn({ err: errorMessage(error) }, 'consumer failed; it restarts by itself');
        return;
      }
      const wrapped = new LiteshiftError('KAFKA_FAILED', `loader stopped: ${error.message}`, { cause: error });
      if (this.following && !this.fatal && this.consumer === consumer) {
        this.options.log.warn({ err: errorMessage(error) }, 'consumer stopped; starting a new one');
        this.crashed = wrapped;
      } else {
        this.fail(wrapped);
      }
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      // Synchronously, before the first batch of the new generation is handled.
      this.positions.clear();
      const generation = ++this.generation;
      const assignment = event.payload.memberAssignment;
      this.options.log.info(
        { member: event.payload.memberId, partitions: Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`)) },
        'partitions assigned',
      );
      void this.positionAssigned(consumer, assignment, generation);
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

  /** Kafka or PostgreSQL down or restarting: what a running loader waits out instead of failing. */
  private isOutage(error: unknown): boolean {
    return isRetriableKafkaError(error) || (isLiteshiftError(error) && error.retriable) || postgresError(error, this.options.databaseUrl).retriable;
  }

  /** Why the loader stopped for good, if it did. */
  get failure(): Error | null {
    return this.fatal;
  }

  /**
   * The long-running loader: applies every change until `signal` aborts. New table topics
   * (a table created in SQLite) are picked up without a restart; once the snapshot is in,
   * the indexes that are safe while changes still stream are created. Outages of Kafka or
   * PostgreSQL are waited out: batches are retried, a consumer that gave up is replaced.
   */
  async follow(signal: AbortSignal, options: { checkEveryMs?: number } = {}): Promise<void> {
    const every = options.checkEveryMs ?? 3_000;
    this.following = true;
    const startWithRetry = (): Promise<void> =>
      retry(() => this.start(), {
        retries: 1_000_000,
        initialDelayMs: 500,
        maxDelayMs: 5_000,
        signal,
        isRetriable: (e) => this.isOutage(e),
        onRetry: (e, attempt) => this.options.log.warn({ attempt, err: errorMessage(e) }, 'loader start failed; retrying'),
      });
    await startWithRetry();
    let known = new Set(this.topicTables.keys());
    let postSnapshotDone = false;
    while (!signal.aborted) {
      await sleep(every, signal);
      if (signal.aborted || this.fatal) break;
      try {
        if (this.crashed) {
          await this.stop();
          await startWithRetry();
          continue;
        }
        const topics = await this.requireAdmin().listTopics();
        const prefix = `${this.options.topicPrefix}.`;
        if (topics.some((t) => t.startsWith(prefix) && !t.startsWith(`${prefix}_`) && !known.has(t))) {
          await this.stop();
          await startWithRetry();
          known = new Set(this.topicTables.keys());
          this.options.log.info({ topics: [...known] }, 'consuming new table topics');
        }
        if (!postSnapshotDone) {
          const marker = await this.snapshotMarker();
          // Other members of the group applied their partitions: PostgreSQL knows.
          if (marker?.completedAt) await this.refreshApplied();
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
    this.following = false;
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
   * (an emptied or new target database, a replay) or behind (a crash between the two
   * commits). Every assigned partition is sought to PostgreSQL's offset, read afresh since
   * another member may have applied it meanwhile; one it has none for starts at its
   * beginning. A partition whose batch arrives first is positioned by handleBatch instead.
   */
  private async positionAssigned(consumer: Consumer, assignment: Record<string, number[]>, generation: number): Promise<void> {
    const tables = Object.entries(assignment).filter(([topic]) => topic !== schemaTopic(this.options.topicPrefix));
    if (tables.length === 0) return;
    try {
      await retry(
        async () => {
          const stored = await this.storedOffsets();
          for (const [topic, partitions] of tables) {
            const lows = new Map((await topicOffsets(this.requireAdmin(), topic)).map((o) => [o.partition, o.low]));
            for (const partition of partitions) {
              const id = partitionId(topic, partition);
              if (generation !== this.generation || this.consumer !== consumer) return;
              if (this.positions.has(id)) continue;
              const next = stored.get(id);
              consumer.seek({ topic, partition, offset: next !== undefined ? next.toString() : (lows.get(partition) ?? '0') });
              // Nothing exists below the low watermark: reading from there skips nothing.
              this.positions.set(id, next ?? 0n);
              if (next !== undefined && (this.applied.get(id) ?? -1n) < next) this.applied.set(id, next);
            }
          }
        },
        {
          retries: 8,
          initialDelayMs: 250,
          maxDelayMs: 5_000,
          isRetriable: (e) => this.isOutage(e),
          onRetry: (e, attempt) => this.options.log.warn({ attempt, err: errorMessage(e) }, 'cannot read the stored offsets yet; retrying'),
        },
      );
    } catch (error) {
      this.options.log.warn({ err: errorMessage(error) }, 'assigned partitions not positioned up front; each is positioned at its first batch');
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
        let change = this.decode(message, state);
        if (change === UNKNOWN_WRITER) {
          await this.refreshSchemas();
          change = this.decode(message, state);
        }
        if (change === UNKNOWN_WRITER) deadLetters.push({ message, reason: `unknown writer schema ${writerFingerprint(message.value!)}` });
        else if (typeof change === 'string') deadLetters.push({ message, reason: change });
        else decoded.push(change);
      }
      if (this.tables.get(tableName) === state) break;
      state = this.tables.get(tableName)!;
    }

    const id = partitionId(topic, partition);
    const started = performance.now();
    const firstOffset = BigInt(messages[0]!.offset);
    const lastOffset = BigInt(messages[messages.length - 1]!.offset);
    const client = await this.requirePool().connect();
    let stats: ApplyStats = { upserted: 0, deleted: 0, rejected: 0 };
    let from = firstOffset;
    let letters: typeof deadLetters = [];
    let failed: unknown = null;
    try {
      await client.query('BEGIN');
      const next = await lockOffset(client, this.group, topic, partition);
      const known = this.positions.get(id);
      if (firstOffset > next && !(known !== undefined && known <= next)) {
        // Messages from PostgreSQL's offset on may never have reached this consumer (it
        // started from Kafka's commit, or a replay moved the offset back): read from there.
        await client.query('ROLLBACK');
        this.consumer?.seek({ topic, partition, offset: next.toString() });
        this.positions.set(id, next);
        this.options.log.info({ topic, partition, offset: next.toString(), batchStart: firstOffset.toString() }, 'reading again from the offset stored in PostgreSQL');
        return;
      }
      if (next > from) from = next;
      // Dead letters of messages an earlier commit covered were sent then: at-least-once
      // into the dead-letter topic (a crash between this send and the commit resends them).
      const unseen = next <= firstOffset; // the usual case: nothing of the batch applied yet
      letters = unseen ? deadLetters : deadLetters.filter(({ message }) => BigInt(message.offset) >= next);
      if (letters.length > 0) await this.deadLetter(topic, partition, letters);
      const fresh = collapseByKey(unseen ? decoded : decoded.filter((d) => BigInt(d.offset) >= next), keyMayHoldNull(state.applier.table));
      const rejects: RejectRow[] = [];
      stats = await state.applier.apply(client, fresh, rejects);
      await insertRejects(client, rejects, topic, partition);
      if (lastOffset + 1n > next) await storeOffset(client, this.group, topic, partition, lastOffset + 1n);
      await client.query('COMMIT');
    } catch (error) {
      failed = error;
      await client.query('ROLLBACK').catch(() => undefined);
      const wrapped = postgresError(error, this.options.databaseUrl, `apply a batch of ${tableName}`);
      if (!wrapped.retriable) {
        this.options.log.error({ table: tableName, topic, partition, err: errorMessage(wrapped) }, 'batch failed');
        this.fail(wrapped);
      } else {
        this.options.log.warn({ table: tableName, topic, partition, err: errorMessage(wrapped) }, 'batch failed; retrying');
      }
      throw wrapped;
    } finally {
      // A connection that failed may be broken (a server restart): never reuse it.
      client.release(failed ? true : undefined);
    }
    this.positions.set(id, lastOffset + 1n);
    if ((this.applied.get(id) ?? 0n) < lastOffset + 1n) this.applied.set(id, lastOffset + 1n);
    this.totals.upserted += stats.upserted;
    this.totals.deleted += stats.deleted;
    this.totals.rejected += stats.rejected;
    this.totals.deadLettered += letters.length;
    this.lastCommitAt = Date.now();
    const ms = performance.now() - started;
    this.options.metrics?.batchApplied(tableName, stats, letters.length, ms / 1000);
    if (from <= lastOffset) {
      this.options.log[this.options.batchLogLevel ?? 'info'](
        { table: tableName, topic, partition, from: from.toString(), to: lastOffset.toString(), messages: Number(lastOffset - from) + 1, ...stats, deadLettered: letters.length, ms: Math.round(ms) },
        'batch applied',
      );
    }
    if (from > firstOffset) this.options.log.debug({ table: tableName, topic, partition, skipped: Number(from - firstOffset), appliedUpTo: from.toString() }, 'messages already applied skipped');
    this.options.onApplied?.(tableName!, stats);
    resolveOffset(lastOffset.toString());
    await commitOffsetsIfNecessary();
    await heartbeat();
    this.notifyProgress();
  }

  /**
   * Decodes one message for the target's columns, or says why it cannot be. Synchronous
   * (a promise per message cost more than the decoding): a writer schema not known yet
   * answers UNKNOWN_WRITER, and the caller reads the schema topic and asks again.
   */
  private decode(message: KafkaMessage, state: TableState): (KeyedChange & { keyBytes: Buffer }) | string | typeof UNKNOWN_WRITER {
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
    // Nearly every message is in the target's own writer schema: checked in place first.
    let writer = this.writers.get(state.fingerprint)!;
    if (!writer.codec.framedWith(message.value)) {
      const fingerprint = writerFingerprint(message.value);
      if (!fingerprint) return 'value does not start with a liteshift writer-schema prefix';
      const other = this.writers.get(fingerprint);
      if (!other) return UNKNOWN_WRITER;
      writer = other;
    }
    if (writer.record.table.name !== state.applier.table.name) return `writer schema ${writer.record.fingerprint} is for table ${writer.record.table.name}`;
    try {
      if (writer.record.fingerprint === state.fingerprint) {
        // The common case: checked here (a bad message is a dead letter), decoded only if
        // the COPY transcoder declines a value.
        writer.codec.checkKey(message.key);
        const at = writer.codec.locateRow(message.value);
        if (at !== null) return new EncodedUpsert(message.key, message.value, at, message.offset, writer.codec);
      }
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
          [DEAD_LETTER_HEADERS.reason]: reason,
          [DEAD_LETTER_HEADERS.topic]: topic,
          [DEAD_LETTER_HEADERS.partition]: String(partition),
          [DEAD_LETTER_HEADERS.offset]: message.offset,
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

  requireAdmin(): Admin {
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
