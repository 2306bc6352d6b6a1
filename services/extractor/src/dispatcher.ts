import {
  ChangeEventCodec,
  type ChangeEvent,
  tableSchemas,
  tableTopic,
  type Op,
  type MessageProducer,
  type OutgoingMessage,
  type SqlValue,
  type TableModel,
} from '@liteshift/shared';
import type { ExtractorMetrics } from './metrics.js';

interface TableChannel {
  topic: string;
  codec: ChangeEventCodec;
}

export interface DispatchedRow {
  op: Op;
  key: SqlValue[];
  /** Null for a delete. */
  row: SqlValue[] | null;
  seq: bigint;
}

/**
 * The one choke point through which every change event reaches Kafka. A delete is sent
 * as a delete event followed by a tombstone, so compaction keeps the latest state of
 * every live key. Sends are pipelined: one batch in flight while the next is read.
 */
export class EventDispatcher {
  private readonly channels = new Map<string, TableChannel>();
  private inFlight: Promise<unknown> | null = null;

  constructor(
    private readonly producer: MessageProducer,
    private readonly prefix: string,
    private readonly metrics?: ExtractorMetrics,
  ) {}

  register(table: TableModel): string {
    const schemas = tableSchemas(table);
    const topic = tableTopic(this.prefix, table.name);
    this.channels.set(table.name, { topic, codec: new ChangeEventCodec(schemas) });
    return topic;
  }

  topicOf(table: string): string {
    return this.channel(table).topic;
  }

  private channel(table: string): TableChannel {
    const channel = this.channels.get(table);
    if (!channel) throw new Error(`table ${table} was not registered with the dispatcher`);
    return channel;
  }

  /** Change events of the stream (not snapshot reads): encoded now, sent once the previous batch is acknowledged. */
  async dispatch(table: string, rows: readonly DispatchedRow[]): Promise<void> {
    const { codec } = this.channel(table);
    const tsMs = Date.now();
    const messages: OutgoingMessage[] = [];
    let read = 0;
    for (const r of rows) {
      if (r.row) read++;
      const key = codec.encodeKey(r.key);
      messages.push({ key, value: codec.encodeValue({ op: r.op, table, after: r.row, seq: r.seq, snapshot: false, tsMs }) });
      if (r.op === 'd') messages.push({ key, value: null });
    }
    await this.send(table, messages, read);
  }

  /**
   * Snapshot reads of rows as the table reader returns them, their key at `keyIndexes`.
   * Every row is encoded before this returns (the caller may drop them then); the promise
   * settles once the previous batch is acknowledged and this one is on its way.
   */
  async dispatchSnapshot(table: string, rows: readonly SqlValue[][], keyIndexes: readonly number[], watermark: bigint): Promise<void> {
    const { codec } = this.channel(table);
    const event: ChangeEvent = { op: 'r', table, after: null, seq: watermark, snapshot: true, tsMs: Date.now() };
    const key: SqlValue[] = new Array(keyIndexes.length);
    const messages: OutgoingMessage[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      for (let k = 0; k < keyIndexes.length; k++) key[k] = row[keyIndexes[k]!]!;
      event.after = row;
      messages[i] = { key: codec.encodeKey(key), value: codec.encodeValue(event) };
    }
    await this.send(table, messages, rows.length);
  }

  private async send(table: string, messages: OutgoingMessage[], read: number): Promise<void> {
    const { topic } = this.channel(table);
    // Taken before awaiting: a failed send is reported once, and the dispatcher stays
    // usable for the retry that follows.
    const previous = this.inFlight;
    this.inFlight = null;
    await previous;
    this.metrics?.read(table, read);
    const started = performance.now();
    const sending = this.producer.send(topic, messages).then(() => this.metrics?.produced(table, messages.length, (performance.now() - started) / 1000));
    // Marks the rejection handled until the next dispatch/flush awaits (and rethrows) it.
    sending.catch(() => undefined);
    this.inFlight = sending;
  }

  /** Waits until everything dispatched is acknowledged by Kafka. */
  async flush(): Promise<void> {
    const pending = this.inFlight;
    this.inFlight = null;
    await pending;
  }
}
