/**
 * The loader's membership of its consumer group: the only code that uses the Kafka
 * client's consumer API. PostgreSQL's offsets are the truth (contract 5): Kafka's
 * committed offsets of the group may be ahead (an emptied or new target database, a
 * replay) or behind (a crash between the two commits), so every assigned partition is
 * sought to PostgreSQL's offset at each join, and a batch that starts past it is read
 * again from there.
 */
import {
  LiteshiftError,
  errorMessage,
  partitionId,
  retry,
  schemaTopic,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type Logger,
} from '@liteshift/shared';
import type { LoaderEvents } from './events.js';

export interface GroupConsumerOptions {
  kafka: Kafka;
  group: string;
  topicPrefix: string;
  /** Partitions applied at once (one PostgreSQL connection each). */
  concurrency: number;
  /** How long the group waits for a member that stopped answering before its partitions move. */
  sessionTimeoutMs: number;
  events: LoaderEvents;
  log: Logger;
  /** PostgreSQL's offsets of the group (partitionId → next), read afresh. */
  storedOffsets: () => Promise<ReadonlyMap<string, bigint>>;
  /** The first offset each partition of a topic still holds. */
  lowWatermarks: (topic: string) => Promise<Map<number, string>>;
  /** Kafka or PostgreSQL down or restarting. */
  isOutage: (error: unknown) => boolean;
  /** Messages consumed from the schema topic. */
  onSchemaMessages: (partition: number, messages: readonly KafkaMessage[]) => Promise<void>;
  /**
   * Applies one table partition's batch. `readsFrom` says where this member reads the
   * partition from, if known; `isStale` whether a seek of it is pending. Answers whether
   * it was applied, or the offset to read again from, or that it was discarded.
   */
  onBatch: (topic: string, partition: number, messages: readonly KafkaMessage[], position: BatchPosition) => Promise<BatchResult>;
  /** After a batch is applied and acknowledged to Kafka. */
  onCommitted: () => void;
  /** The client gave up for good; this consumer reads nothing more. */
  onStopped: (error: LiteshiftError) => void;
}

export interface BatchPosition {
  readsFrom: () => bigint | undefined;
  isStale: () => boolean;
}

/**
 * Applied; or read the partition again from `readAgain` (paused there when `pause`: it
 * waits for `resume`); or discarded because a seek is pending (the seek reads again).
 */
export type BatchResult = { applied: true } | { applied: false; readAgain: bigint | null; pause?: boolean };

export class GroupConsumer {
  private consumer: Consumer | null = null;
  /**
   * Where this member's consumer reads each assigned partition from: set by our own seeks
   * and by every batch applied, cleared at every group join. A batch that starts past
   * PostgreSQL's offset is applied only when this vouches that nothing in between was skipped.
   */
  private readonly positions = new Map<string, bigint>();
  private generation = 0;
  private stopped: LiteshiftError | null = null;
  private subscribed: readonly string[] = [];

  constructor(private readonly o: GroupConsumerOptions) {}

  /** Consuming, and a member of the group since at least one join. */
  get consuming(): boolean {
    return this.consumer !== null && this.stopped === null && this.generation > 0;
  }

  get running(): boolean {
    return this.consumer !== null;
  }

  /** Why the client gave up, if it did: a new consumer must be started. */
  get failure(): LiteshiftError | null {
    return this.stopped;
  }

  /** The table topics the running consumer subscribed to (none when stopped). */
  get topics(): readonly string[] {
    return this.subscribed;
  }

  /** Joins the group on `topics` and the schema topic; returns once running. */
  async start(topics: readonly string[]): Promise<void> {
    if (this.consumer) return;
    const { sessionTimeoutMs } = this.o;
    const consumer = this.o.kafka.consumer({
      groupId: this.o.group,
      allowAutoTopicCreation: false,
      // Bounded: a fetch is decoded whole in memory, per partition being applied. 1 MB per
      // partition (4 MB per fetch) is as fast as 2/8 MB and holds less at once (1M tasks,
      // `liteshift load`: peak RSS 266–278 → 208–216 MB, 16.5 → 15.5 s).
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 4 * 1024 * 1024,
      maxWaitTimeInMs: 250,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 5)),
    });
    this.consumer = consumer;
    this.stopped = null;
    consumer.on(consumer.events.CRASH, (event) => {
      const error = event.payload.error;
      if (event.payload.restart) {
        this.o.events.emit('consumer-restarted', { error, by: 'client' });
        return;
      }
      if (this.consumer !== consumer) return;
      this.stopped = new LiteshiftError('KAFKA_FAILED', `loader stopped: ${error.message}`, { cause: error });
      this.o.onStopped(this.stopped);
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      // Synchronously, before the first batch of the new generation is handled.
      this.positions.clear();
      const generation = ++this.generation;
      const assignment = event.payload.memberAssignment;
      this.o.events.emit('partitions-assigned', {
        member: event.payload.memberId,
        partitions: Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`)),
      });
      void this.positionAssigned(consumer, assignment, generation);
    });
    try {
      await consumer.connect();
      // The schema topic too: a column added in SQLite reaches PostgreSQL as soon as its
      // schema is published, not when a row of that table next changes.
      await consumer.subscribe({ topics: [...topics, schemaTopic(this.o.topicPrefix)], fromBeginning: true });
      this.subscribed = [...topics];
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.o.concurrency,
        eachBatch: (payload) => this.handleBatch(consumer, payload),
      });
    } catch (error) {
      this.consumer = null;
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** Partitions of `topic` paused by a batch result read on again. */
  resume(topic: string): void {
    this.consumer?.resume([{ topic }]);
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    this.subscribed = [];
    await consumer?.disconnect().catch(() => undefined);
  }

  /**
   * Every assigned partition is sought to PostgreSQL's offset, read afresh since another
   * member may have applied it meanwhile; one it has none for starts at its beginning. A
   * partition whose batch arrives first is positioned by handleBatch instead.
   */
  private async positionAssigned(consumer: Consumer, assignment: Record<string, number[]>, generation: number): Promise<void> {
    const tables = Object.entries(assignment).filter(([topic]) => topic !== schemaTopic(this.o.topicPrefix));
    if (tables.length === 0) return;
    try {
      await retry(
        async () => {
          const stored = await this.o.storedOffsets();
          const sought: string[] = [];
          for (const [topic, partitions] of tables) {
            const lows = await this.o.lowWatermarks(topic);
            for (const partition of partitions) {
              const id = partitionId(topic, partition);
              if (generation !== this.generation || this.consumer !== consumer) return;
              if (this.positions.has(id)) continue;
              const next = stored.get(id);
              consumer.seek({ topic, partition, offset: next !== undefined ? next.toString() : (lows.get(partition) ?? '0') });
              // Nothing exists below the low watermark: reading from there skips nothing.
              this.positions.set(id, next ?? 0n);
              sought.push(`${topic}:${partition}@${next ?? 'start'}`);
            }
          }
          this.o.log.debug({ partitions: sought }, 'assigned partitions sought to the offsets stored in PostgreSQL');
        },
        {
          retries: 8,
          initialDelayMs: 250,
          maxDelayMs: 5_000,
          isRetriable: (e) => this.o.isOutage(e),
          onRetry: (e, attempt) => this.o.log.warn({ attempt, err: errorMessage(e) }, 'cannot read the stored offsets yet; retrying'),
        },
      );
    } catch (error) {
      this.o.log.warn({ err: errorMessage(error) }, 'assigned partitions not positioned up front; each is positioned at its first batch');
    }
  }

  private async handleBatch(consumer: Consumer, { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = batch;
    if (messages.length === 0 || isStale()) return;
    const last = messages[messages.length - 1]!.offset;
    if (topic === schemaTopic(this.o.topicPrefix)) {
      await this.o.onSchemaMessages(partition, messages);
      resolveOffset(last);
      await commitOffsetsIfNecessary();
      return;
    }
    const id = partitionId(topic, partition);
    const result = await this.o.onBatch(topic, partition, messages, { readsFrom: () => this.positions.get(id), isStale });
    if (!result.applied) {
      const batchStart = BigInt(messages[0]!.offset);
      if (result.readAgain === null) {
        this.o.events.emit('batch-discarded', { topic, partition, batchStart });
        return;
      }
      consumer.seek({ topic, partition, offset: result.readAgain.toString() });
      this.positions.set(id, result.readAgain);
      if (result.pause) consumer.pause([{ topic, partitions: [partition] }]);
      else this.o.events.emit('read-again', { topic, partition, offset: result.readAgain, batchStart });
      return;
    }
    this.positions.set(id, BigInt(last) + 1n);
    resolveOffset(last);
    await commitOffsetsIfNecessary();
    await heartbeat();
    this.o.onCommitted();
  }
}
