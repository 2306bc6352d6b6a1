import type { MessageToProduce, Producer } from '@platformatic/kafka';
import { LiteshiftError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { keyPartitionHash } from './partition.js';
import { kafkaSecurity, platformaticSecurityOptions } from './security.js';

/**
 * Producing goes through @platformatic/kafka: on this project's benchmark it sends 1M
 * change events ~2.7× faster than kafkajs with a third of the CPU. Consuming and admin
 * stay on kafkajs (faster there, and batch-oriented).
 */
export interface OutgoingMessage {
  key: Buffer | null;
  /** Null is a tombstone. */
  value: Buffer | null;
  headers?: Record<string, string>;
}

/**
 * Messages per produce request: larger requests cost more than they save here. Measured
 * with 1M snapshot events of the demo tasks (~180 bytes each, so ~60 KB per partition
 * batch of 3): 2,500 per request or a whole 5,000-row chunk cost the producer 0.3–1.5 µs
 * more per message (more young garbage survives a request in flight) for at most 0.1–0.3
 * µs less in the broker; 500 cost both more.
 */
const REQUEST_MESSAGES = 1000;
/**
 * Bytes of keys and values per produce request: a partition's batch must fit the topic's
 * max.message.bytes (1 MB by default on topics liteshift did not create). A larger
 * message goes alone.
 */
const REQUEST_BYTES = 512 * 1024;

/**
 * Loaded at the first send: importing it compiles its option schemas, ~0.8 s of CPU that
 * every command that never produces (load, status, verify, cutover…) paid at start-up.
 */
let platformatic: Promise<typeof import('@platformatic/kafka')> | null = null;

export interface ProducerSettings {
  brokers: string[];
  clientId: string;
  log: Logger;
}

export class MessageProducer {
  private producer: Producer | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly settings: ProducerSettings) {}

  private async create(): Promise<Producer> {
    const { Producer } = await (platformatic ??= import('@platformatic/kafka'));
    return new Producer({
      clientId: this.settings.clientId,
      bootstrapBrokers: this.settings.brokers,
      // Idempotent: one request in flight, acks from all replicas, retries that cannot
      // reorder. Every message carries its key's Java-compatible partition hash (sendNow),
      // so a key always lands on one partition; no partitioner is consulted.
      idempotent: true,
      autocreateTopics: false,
      timeout: 30_000,
      retries: 10,
      retryDelay: 1_000,
      ...platformaticSecurityOptions(kafkaSecurity()),
    });
  }

  /**
   * A producer that gave up (a broker restart outlasting its retries) may keep dead
   * connections and a producer id and sequence numbers the broker no longer accepts: the
   * next send starts a new idempotent session. The caller resends what failed, so Kafka
   * may then hold a message twice (at-least-once), never out of order per key.
   */
  private renew(): void {
    const broken = this.producer;
    this.producer = null;
    broken?.close(true, (error) => {
      if (error) this.settings.log.debug({ err: errorMessage(error) }, 'closing a failed producer failed');
    });
  }

  /**
   * Sends and resolves once Kafka has acknowledged every message. Sends are serialised:
   * concurrent sends on an idempotent producer can lose messages (platformatic/kafka#326).
   */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    const run = this.queue.then(() => this.sendNow(topic, messages));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sendNow(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    const producer = (this.producer ??= await this.create());
    for (let i = 0; i < messages.length; ) {
      // A plain loop making objects of one shape: a spread per message cost a third of a
      // second per million (1M-task snapshot).
      const slice: MessageToSend[] = [];
      for (let bytes = 0; i < messages.length && slice.length < REQUEST_MESSAGES; i++) {
        const m = messages[i]!;
        const size = (m.key?.length ?? 0) + (m.value?.length ?? 0);
        if (slice.length > 0 && bytes + size > REQUEST_BYTES) break;
        bytes += size;
        slice.push({ topic, key: m.key ?? undefined, value: m.value ?? undefined, partition: keyPartitionHash(m.key), headers: m.headers ? headerMap(m.headers) : undefined });
      }
      try {
        await producer.send({ messages: slice });
      } catch (error) {
        if (leafErrors(error).some((e) => (e as { apiId?: string }).apiId === 'MESSAGE_TOO_LARGE')) throw tooLarge(topic, slice, error);
        this.renew();
        this.settings.log.warn({ topic, err: describe(error) }, 'Kafka did not acknowledge a send; a new producer takes the next one');
        throw new LiteshiftError('KAFKA_FAILED', `cannot write to Kafka topic ${topic}: ${describe(error)}`, {
          hint: `is the broker at ${this.settings.brokers.join(',')} up? liteshift retried before giving up`,
          retriable: true,
          cause: error,
        });
      }
    }
  }

  async close(): Promise<void> {
    await this.queue;
    await this.producer?.close().catch((error: unknown) => this.settings.log.debug({ err: errorMessage(error) }, 'producer close failed'));
  }
}

type MessageToSend = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

function headerMap(headers: Record<string, string>): Map<Buffer, Buffer> {
  return new Map(Object.entries(headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]));
}

/** The errors at the bottom of platformatic's nested AggregateErrors (one per partition that failed). */
function leafErrors(error: unknown): unknown[] {
  const nested = (error as { errors?: unknown[] } | null)?.errors;
  return Array.isArray(nested) && nested.length > 0 ? nested.flatMap(leafErrors) : [error];
}

/** Kafka refuses a message over the topic's max.message.bytes: retrying cannot help, raising the limit can. */
function tooLarge(topic: string, slice: readonly MessageToSend[], cause: unknown): LiteshiftError {
  const largest = Math.max(...slice.map((m) => (m.key?.length ?? 0) + (m.value?.length ?? 0)));
  const mb = (largest / 1024 / 1024).toFixed(1);
  return new LiteshiftError('KAFKA_MESSAGE_TOO_LARGE', `Kafka refused a ${mb} MB message for topic ${topic}: a row of that table is larger than the topic accepts`, {
    hint: `raise its max.message.bytes: kafka-configs.sh --alter --entity-type topics --entity-name ${topic} --add-config max.message.bytes=<bytes>; topics liteshift creates allow 16 MB`,
    retriable: false,
    cause,
  });
}

function describe(error: unknown): string {
  const cause = (error as { cause?: unknown; errors?: unknown[] }).errors?.[0] ?? (error as { cause?: unknown }).cause;
  return cause ? `${errorMessage(error)}: ${errorMessage(cause)}` : errorMessage(error);
}
