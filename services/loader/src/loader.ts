import {
  LiteshiftError,
  connectAdmin,
  createKafka,
  createPool,
  MessageProducer,
  deadLetterTopic,
  describePostgresUrl,
  ensureTopics,
  ensureMetaSchema,
  errorMessage,
  sleep,
  retry,
  isRetriableKafkaError,
  isLiteshiftError,
  loaderGroup,
  postgresError,
  sendDeadLetters,
  topicOffsets,
  readSnapshotMarker,
  schemaTopic,
  readResyncMarkers,
  endOffsets,
  type Admin,
  type HealthState,
  type KafkaMessage,
  type Logger,
  type Notice,
  type PartitionOffsets,
  type PgPool,
  type SessionLimits,
  type SnapshotMarker,
  type TableModel,
} from '@liteshift/shared';
import type pg from 'pg';
import { applyBatch } from './apply-transaction.js';
import { LoaderEvents, countTotals, logLoaderEvents } from './events.js';
import { finalizeTables, type FinalizeStage } from './finalize.js';
import { GroupConsumer, type BatchPosition, type BatchResult } from './group-consumer.js';
import type { LoaderMetrics } from './metrics.js';
import { ReplaySteps } from './replay.js';
import { WriterSchemas } from './writer-schemas.js';
import { sweepResync } from './resync.js';
import { Housekeeping } from './housekeeping.js';
import { AppliedOffsets } from './offsets.js';
import { retryParked } from './parked-rejects.js';
import { completeConstraints } from './relaxed-constraints.js';

export interface LoaderOptions {
  databaseUrl: string;
  brokers: string[];
  topicPrefix: string;
  targetSchema: string;
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
  /** Counted per batch when given (one registry per process: the CLI's service commands). */
  metrics?: LoaderMetrics;
  /** The one line per applied batch: info for the service, debug where a progress display already says it (migrate). */
  batchLogLevel?: 'info' | 'debug';
  /** Statement, lock and idle-in-transaction limits of the apply path's sessions. */
  limits?: SessionLimits;
}

/** A batch committed this recently proves PostgreSQL reachable: /readyz need not query it (its pool may be busy). */
const RECENT_COMMIT_MS = 10_000;

/**
 * idle → connected ⇄ consuming → … → closed. `following` is consuming that outlives
 * outages and picks up new tables; `failed` is terminal until close.
 */
export type LoaderState = 'idle' | 'connected' | 'consuming' | 'following' | 'failed' | 'closed';

/**
 * The loader (consumer group): decodes change events, collapses each batch per key and
 * applies it with its offsets in one PostgreSQL transaction. Its parts: the group
 * consumer (Kafka membership and seeks), the writer schemas (schema topic and decoding),
 * the apply transaction (contract 5) and the offsets (shared contract); this class runs
 * their lifecycle and emits what happens as `events`.
 */
export class Loader {
  readonly group: string;
  readonly events = new LoaderEvents();
  readonly totals = countTotals(this.events);
  private readonly kafka;
  /** The apply path's sessions (with the limits), and one for DDL, which may take as long as it needs. */
  private pool: PgPool | null = null;
  private ddl: PgPool | null = null;
  private admin: Admin | null = null;
  private producer: MessageProducer | null = null;
  private readonly schemas: WriterSchemas;
  private readonly consumer: GroupConsumer;
  private readonly offsets: AppliedOffsets;
  private current: LoaderState = 'idle';
  private fatal: Error | null = null;
  private lastCommitAt = 0;

  constructor(private readonly options: LoaderOptions) {
    this.group = loaderGroup(options.topicPrefix);
    this.kafka = createKafka({ brokers: options.brokers, clientId: 'liteshift-loader', log: options.log });
    logLoaderEvents(this.events, options.log, options.batchLogLevel);
    this.events.on('batch-applied', (b) => {
      this.lastCommitAt = Date.now();
      this.offsets.committed(b.topic, b.partition, b.lastOffset + 1n);
    });
    options.metrics?.subscribe(this.events);
    options.metrics?.readLagFrom(() => this.lag());
    this.offsets = new AppliedOffsets(this.group, () => this.requirePool(), options.databaseUrl, options.log);
    this.schemas = new WriterSchemas({
      kafka: this.kafka,
      admin: () => this.requireAdmin(),
      pool: () => this.requirePool(this.ddl),
      topicPrefix: options.topicPrefix,
      targetSchema: options.targetSchema,
      databaseUrl: options.databaseUrl,
      log: options.log,
      deadLetter: (invalid) => sendDeadLetters(this.producer!, options.topicPrefix, schemaTopic(options.topicPrefix), invalid.partition, [invalid]),
      onTableStopped: (table, error) => {
        this.events.emit('table-stopped', { table, error });
        // Only a following loader goes on without the table; a run up to an end offset would wait for it forever.
        if (this.current !== 'following') this.fail(error);
      },
    });
    this.consumer = new GroupConsumer({
      kafka: this.kafka,
      group: this.group,
      topicPrefix: options.topicPrefix,
      concurrency: options.concurrency ?? 3,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      events: this.events,
      log: options.log,
      storedOffsets: () => this.offsets.refresh(),
      lowWatermarks: async (topic) => new Map((await topicOffsets(this.requireAdmin(), topic)).map((o) => [o.partition, o.low])),
      isOutage: (e) => this.isOutage(e),
      onSchemaMessages: async (partition, messages) => {
        for (const topic of await this.schemas.takeMessages(partition, messages)) {
          this.consumer.resume(topic);
          this.events.emit('table-resumed', { table: this.schemas.tableOf(topic) ?? topic, topic });
        }
      },
      onBatch: (topic, partition, messages, position) => this.applyPartitionBatch(topic, partition, messages, position),
      onCommitted: () => this.offsets.notify(),
      onStopped: (error) => {
        if (this.current === 'following' && !this.fatal) this.events.emit('consumer-restarted', { error, by: 'loader' });
        else this.fail(error);
      },
    });
  }

  get state(): LoaderState {
    return this.current;
  }

  /** Why the loader stopped for good, if it did. */
  get failure(): Error | null {
    return this.fatal;
  }

  async connect(): Promise<void> {
    this.expect('connect', 'idle');
    const { databaseUrl, log } = this.options;
    this.pool = createPool(databaseUrl, 'liteshift-loader', (this.options.concurrency ?? 3) + 1, this.options.limits);
    this.ddl = createPool(databaseUrl, 'liteshift-loader', 2);
    await this.withClient(ensureMetaSchema).catch((error: unknown) => {
      throw postgresError(error, databaseUrl);
    });
    this.admin = await connectAdmin(this.kafka, this.options.brokers);
    // Dead letters need their topic even when no extractor created it (a topic fed by hand).
    await ensureTopics(this.admin, [{ topic: deadLetterTopic(this.options.topicPrefix), partitions: 1, compacted: false }]);
    this.producer = new MessageProducer({ brokers: this.options.brokers, clientId: 'liteshift-loader', log });
    this.current = 'connected';
    log.info({ postgres: describePostgresUrl(databaseUrl), group: this.group }, 'loader connected');
  }

  /** Reads the schema topic; creates or adopts the target table of every table it names. Returns their topics. */
  refreshSchemas(): Promise<string[]> {
    return this.schemas.refresh();
  }

  /** Every table named on the schema topic, with its topic (after refreshSchemas). */
  tableTopics(): { table: TableModel; topic: string }[] {
    return this.schemas.tableTopics();
  }

  tableModels(): TableModel[] {
    return this.schemas.tableModels();
  }

  /** The latest snapshot marker on the control topic, if the extractor has finished one. */
  snapshotMarker(): Promise<SnapshotMarker | null> {
    return readSnapshotMarker(this.kafka, this.requireAdmin(), this.options.topicPrefix);
  }

  /** Starts consuming every table topic named on the schema topic; returns once running. */
  async consume(): Promise<void> {
    this.expect('consume', 'connected', 'consuming', 'following');
    await this.offsets.refresh();
    const topics = await this.schemas.refresh();
    if (topics.length === 0 || this.consumer.running) return;
    await this.consumer.start(topics);
    if (this.current === 'connected') this.current = 'consuming';
  }

  /** Resolves once every partition in `until` is applied; rejects if the loader fails. */
  waitUntil(until: Record<string, PartitionOffsets>): Promise<void> {
    return this.offsets.waitUntil(until);
  }

  /** Consumes until `until` is applied (true), or `signal` aborts (false); stops consuming either way. */
  async runUntil(until: Record<string, PartitionOffsets>, signal?: AbortSignal): Promise<boolean> {
    await this.consume();
    try {
      const aborted = new Promise<false>((resolve) => signal?.addEventListener('abort', () => resolve(false), { once: true }));
      return await Promise.race([this.waitUntil(until).then(() => true as const), aborted]);
    } finally {
      await this.stop();
    }
  }

  /** Stops consuming; the connections stay for another run. */
  async stop(): Promise<void> {
    await this.consumer.stop();
    if (this.current === 'consuming') this.current = 'connected';
  }

  /**
   * The long-running loader: applies every change until `signal` aborts. New table topics
   * (a table created in SQLite) are picked up without a restart; once the snapshot is in,
   * the indexes that are safe while changes still stream are created. Outages of Kafka or
   * PostgreSQL are waited out: batches are retried, a consumer that gave up is replaced.
   */
  async follow(signal: AbortSignal, options: { checkEveryMs?: number } = {}): Promise<void> {
    this.expect('follow', 'connected', 'consuming');
    const every = options.checkEveryMs ?? 3_000;
    this.current = 'following';
    const consumeWithRetry = (): Promise<void> =>
      retry(() => this.consume(), {
        retries: 1_000_000,
        initialDelayMs: 500,
        maxDelayMs: 5_000,
        signal,
        isRetriable: (e) => this.isOutage(e),
        onRetry: (e, attempt) => this.options.log.warn({ attempt, err: errorMessage(e) }, 'loader start failed; retrying'),
      });
    const restart = async (): Promise<void> => {
      await this.consumer.stop();
      await consumeWithRetry();
    };
    const chores = new Housekeeping({
      topicPrefix: this.options.topicPrefix,
      log: this.options.log,
      offsets: this.offsets,
      consumerFailed: () => this.consumer.failure !== null,
      restart,
      listTopics: () => this.requireAdmin().listTopics(),
      consumedTopics: () => this.consumer.topics,
      snapshotMarker: () => this.snapshotMarker(),
      finalizeWhileFollowing: () => this.finalize('while-following'),
      resyncing: () => this.schemas.resyncing(),
      resyncMarkers: () => readResyncMarkers(this.kafka, this.requireAdmin(), this.options.topicPrefix),
      sweep: (table, epoch) => this.withClient((client) => sweepResync(client, this.options.targetSchema, table, epoch)),
      retryParked: () => this.retryParked(true),
      swept: (table, epoch, deleted) => {
        this.schemas.swept(table);
        if (deleted !== null) this.events.emit('table-resynchronised', { table, epoch, deleted });
      },
    });
    try {
      await consumeWithRetry();
      while (!signal.aborted) {
        await sleep(every, signal);
        if (signal.aborted || this.fatal) break;
        await chores.tick().catch((error: unknown) => this.options.log.warn({ err: errorMessage(error) }, 'housekeeping failed; retrying'));
      }
    } finally {
      await this.consumer.stop();
      if (this.current === 'following') this.current = 'connected';
    }
    if (this.fatal) throw this.fatal;
  }

  /** Indexes, constraints and identities of every known table (finalize.ts). */
  async finalize(stage: FinalizeStage = 'complete'): Promise<Notice[]> {
    const { targetSchema: schema, log } = this.options;
    return this.withClient((client) =>
      stage === 'complete' ? completeConstraints(client, schema, this.tableModels(), log) : finalizeTables(client, schema, this.tableModels(), log, stage),
    );
  }

  /** Applies again the rows parked in liteshift.rejects (parked-rejects.ts): those that are due, or all. */
  async retryParked(due: boolean): Promise<void> {
    const tables = new Map(this.tableModels().map((t) => [t.name, t]));
    const { applied, refused } = await this.withClient((client) => retryParked(client, { group: this.group, schema: this.options.targetSchema, tables, due }));
    if (applied > 0) this.events.emit('rejects-resolved', { applied, refused });
  }

  /** The steps of a replay, on this loader's connections (replay.ts). */
  replaySteps(): ReplaySteps {
    const { targetSchema: schema, log } = this.options;
    return new ReplaySteps({ admin: this.requireAdmin(), group: this.group, schema, log, tables: () => this.tableModels(), withClient: (work) => this.withClient(work), offsets: this.offsets });
  }

  /** What /healthz and /readyz answer: ready while consuming with PostgreSQL reachable; not live once failed for good. */
  async health(): Promise<HealthState> {
    if (this.fatal) return { live: false, ready: false, reason: `loader failed: ${errorMessage(this.fatal)}` };
    if (!this.pool || !this.admin) return { live: true, ready: false, reason: 'connecting to PostgreSQL and Kafka' };
    if (!this.consumer.consuming) return { live: true, ready: false, reason: 'not consuming yet: no table topics, or joining the consumer group' };
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
    const lag = new Map<string, number>();
    for (const { table, topic } of this.schemas.tableTopics()) lag.set(table.name, await this.offsets.behind(topic, await endOffsets(this.requireAdmin(), topic)));
    return lag;
  }

  async close(): Promise<void> {
    this.current = 'closed';
    await this.consumer.stop();
    await this.producer?.close().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
    await this.ddl?.end().catch(() => undefined);
  }

  /** One partition's batch: decoded, then applied in one transaction (or not, and why). */
  private async applyPartitionBatch(topic: string, partition: number, messages: readonly KafkaMessage[], position: BatchPosition): Promise<BatchResult> {
    const firstOffset = BigInt(messages[0]!.offset);
    // A stopped table's partitions wait where they are (nothing of the batch is applied).
    if (this.schemas.isStopped(topic)) return { applied: false, readAgain: firstOffset, pause: true };
    const batch = await this.schemas.decodeBatch(topic, messages);
    // Its writer schema, read while decoding, may have stopped the table.
    if (this.schemas.isStopped(topic)) return { applied: false, readAgain: firstOffset, pause: true };
    if ('invalidWriter' in batch) {
      this.events.emit('table-waiting', { table: this.schemas.tableOf(topic) ?? topic, topic, partition, ...batch.invalidWriter });
      return { applied: false, readAgain: firstOffset, pause: true };
    }
    const { target, decoded, undecoded } = batch;
    const lastOffset = BigInt(messages[messages.length - 1]!.offset);
    const outcome = await applyBatch(
      { group: this.group, topic, partition, firstOffset, lastOffset, decoded, undecoded, applier: target.applier },
      {
        pool: this.requirePool(),
        databaseUrl: this.options.databaseUrl,
        events: this.events,
        ...position,
        sendDeadLetters: (t, p, letters) => sendDeadLetters(this.producer!, this.options.topicPrefix, t, p, letters),
      },
    ).catch((error: LiteshiftError) => {
      if (!error.retriable) this.fail(error);
      throw error;
    });
    return outcome.applied ? { applied: true } : { applied: false, readAgain: outcome.next };
  }

  /** Kafka or PostgreSQL down or restarting: what a running loader waits out instead of failing. */
  private isOutage(error: unknown): boolean {
    return isRetriableKafkaError(error) || (isLiteshiftError(error) && error.retriable) || postgresError(error, this.options.databaseUrl).retriable;
  }

  private fail(error: Error): void {
    if (!this.fatal) this.events.emit('failed', { error });
    this.fatal ??= error;
    this.current = 'failed';
    this.offsets.notify(error);
  }

  private expect(operation: string, ...states: LoaderState[]): void {
    if (!states.includes(this.current)) throw new Error(`loader: cannot ${operation} while ${this.current}`);
  }

  /** A DDL session: index builds and VALIDATE have no time limit. */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.requirePool(this.ddl).connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  }

  private requirePool(pool = this.pool): PgPool {
    if (!pool) throw new Error('loader is not connected');
    return pool;
  }

  private requireAdmin(): Admin {
    if (!this.admin) throw new Error('loader is not connected');
    return this.admin;
  }
}
