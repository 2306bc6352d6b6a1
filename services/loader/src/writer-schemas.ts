/**
 * The writer schemas the loader knows, from the schema topic (read whole, or consumed as
 * it grows): the only reader of schema records in the loader. The newest writer schema of
 * a table defines its target table, created or altered here; batches are decoded for it
 * (decode.ts).
 */
import {
  isLiteshiftError,
  newestPerTable,
  postgresError,
  readSchemaRecord,
  readSchemas,
  sleep,
  writerFingerprint,
  type InvalidSchemaMessage,
  type Admin,
  type Kafka,
  type KafkaMessage,
  type LiteshiftError,
  type Logger,
  type PgPool,
  type SchemaRecord,
  type TableModel,
  type UndecodedMessage,
} from '@liteshift/shared';
import { ensureTargetTable } from './target-tables.js';
import { beginResync } from './resync.js';
import { TableApplier } from './table-applier.js';
import { UNKNOWN_WRITER, WriterDecoder, type DecodedChange } from './decode.js';

/** A table as the loader applies it: with the target's writer schema. */
export interface TargetTable {
  applier: TableApplier;
  fingerprint: string;
}

export interface WriterSchemasOptions {
  kafka: Kafka;
  admin: () => Admin;
  pool: () => PgPool;
  topicPrefix: string;
  targetSchema: string;
  databaseUrl: string;
  log: Logger;
  /** Sends a schema-topic message that is no usable writer schema to the dead-letter topic. */
  deadLetter: (invalid: InvalidSchemaMessage) => Promise<void>;
  /** A table whose new writer schema the target cannot follow: it is no longer applied (told once). */
  onTableStopped: (table: string, error: LiteshiftError) => void;
}

/** A writer schema met again this soon after the schema topic was read is taken as unknown. */
const REFRESH_EVERY_MS = 2_000;

/** What decoding a batch gives: its changes, or that a writer schema it uses is invalid (the table must wait). */
export type DecodedBatch =
  | { target: TargetTable; decoded: DecodedChange[]; undecoded: UndecodedMessage[] }
  | { invalidWriter: { fingerprint: string; reason: string } };

export class WriterSchemas {
  private readonly decoder = new WriterDecoder();
  private readonly records = new Map<string, SchemaRecord>();
  private readonly tables = new Map<string, TargetTable>();
  private readonly topicTables = new Map<string, string>();
  /** Schema-topic keys (fingerprints) whose latest record is invalid, with why. */
  private readonly invalid = new Map<string, string>();
  /** Invalid records this process has dead-lettered (partition:offset). */
  private readonly deadLettered = new Set<string>();
  /** Table topics waiting for a valid record of the writer schema their next batch uses. */
  private readonly waiting = new Map<string, string>();
  private lastRefresh = 0;
  /** Tables whose target cannot follow their writer schema (target-tables.ts): no longer applied. */
  private readonly stopped = new Set<string>();

  constructor(private readonly o: WriterSchemasOptions) {}

  /** Reads the schema topic whole; creates or adopts the target table of every table it names. Returns their topics. */
  async refresh(): Promise<string[]> {
    this.lastRefresh = Date.now();
    const invalid: InvalidSchemaMessage[] = [];
    const records = await readSchemas(this.o.kafka, this.o.admin(), this.o.topicPrefix, (i) => invalid.push(i));
    for (const key of records.keys()) this.invalid.delete(key);
    for (const i of invalid) await this.reject(i);
    await this.take(records.values());
    return this.topics();
  }

  /** Messages consumed from the schema topic: records not known yet are taken in. Returns the waiting topics that may go on. */
  async takeMessages(partition: number, messages: readonly KafkaMessage[]): Promise<string[]> {
    const records: SchemaRecord[] = [];
    for (const message of messages) {
      const reading = readSchemaRecord(message.value, this.o.topicPrefix);
      if (reading === null) continue;
      if ('invalid' in reading) {
        await this.reject({ partition, message, reason: reading.invalid, ...(reading.table !== undefined ? { table: reading.table } : {}) });
        continue;
      }
      this.invalid.delete(reading.record.fingerprint);
      if (!this.records.has(reading.record.fingerprint)) records.push(reading.record);
    }
    await this.take(records);
    const ready = [...this.waiting].filter(([, fingerprint]) => !this.invalid.has(fingerprint)).map(([topic]) => topic);
    for (const topic of ready) this.waiting.delete(topic);
    return ready;
  }

  /** An invalid record is data: dead-lettered once, never turned into DDL, and no other table is touched. */
  private async reject(i: InvalidSchemaMessage): Promise<void> {
    if (i.message.key) this.invalid.set(i.message.key.toString(), i.reason);
    const id = `${i.partition}:${i.message.offset}`;
    if (this.deadLettered.has(id)) return;
    this.o.log.error({ table: i.table, offset: i.message.offset, reason: i.reason }, 'invalid writer schema on the schema topic: dead-lettered, not used');
    await this.o.deadLetter({ ...i, reason: `invalid writer schema: ${i.reason}` });
    this.deadLettered.add(id);
  }

  private async take(incoming: Iterable<SchemaRecord>): Promise<void> {
    for (const record of incoming) this.records.set(record.fingerprint, record);
    const latest = newestPerTable(this.records.values());
    const client = await this.o.pool().connect();
    try {
      for (const record of latest.values()) {
        const name = record.table.name;
        if (this.tables.get(name)?.fingerprint === record.fingerprint || this.stopped.has(name)) continue;
        // Known even when stopped below: its topic is consumed, and paused at its first batch.
        this.topicTables.set(record.topic, name);
        let target;
        try {
          target = await ensureTargetTable(client, this.o.targetSchema, record.table, record.fingerprint, this.o.log);
        } catch (error) {
          if (!isLiteshiftError(error) || error.code !== 'TABLE_STOPPED') throw error;
          this.stopped.add(name);
          this.o.onTableStopped(name, error);
          continue;
        }
        const applier = new TableApplier(target.table, this.o.targetSchema, record.fingerprint, target.types);
        // Before any row of a new re-synchronisation epoch is decoded (resync.ts).
        if ((target.table.resyncEpoch ?? 0) > 0) applier.recordingKeys = await beginResync(client, this.o.targetSchema, target.table);
        this.tables.set(name, { applier, fingerprint: record.fingerprint });
      }
    } catch (error) {
      throw postgresError(error, this.o.databaseUrl, 'create the target tables');
    } finally {
      client.release();
    }
    this.decoder.setWriters(this.records.values(), latest);
  }

  topics(): string[] {
    return [...this.topicTables.keys()];
  }

  /** Every table named on the schema topic, with its topic. */
  tableTopics(): { table: TableModel; topic: string }[] {
    return [...this.topicTables].flatMap(([topic, name]) => {
      const target = this.tables.get(name);
      return target ? [{ table: target.applier.table, topic }] : [];
    });
  }

  tableModels(): TableModel[] {
    return [...this.tables.values()].map((t) => t.applier.table);
  }

  tableOf(topic: string): string | undefined {
    return this.topicTables.get(topic);
  }

  /** Whether the table of `topic` is stopped (its target cannot follow its writer schema). */
  isStopped(topic: string): boolean {
    const name = this.topicTables.get(topic);
    return name !== undefined && this.stopped.has(name);
  }

  /** Tables whose re-synchronisation epoch still collects keys, with their topic: each is swept once its epoch is applied. */
  resyncing(): { table: TableModel; topic: string }[] {
    return this.tableTopics().filter(({ table }) => this.tables.get(table.name)!.applier.recordingKeys);
  }

  /** The table's epoch was swept (by this loader or another): its keys are no longer recorded. */
  swept(table: string): void {
    const target = this.tables.get(table);
    if (target) target.applier.recordingKeys = false;
  }

  /**
   * Decodes a batch of one table topic for its target table; what cannot be decoded is
   * returned with the reason. A writer schema not known yet makes it read the schema topic.
   */
  async decodeBatch(topic: string, messages: readonly KafkaMessage[]): Promise<DecodedBatch> {
    const tableName = this.topicTables.get(topic);
    let target = tableName === undefined ? undefined : this.tables.get(tableName);
    if (!tableName || !target) throw new Error(`no schema known for topic ${topic}`);
    let decoded: DecodedChange[] = [];
    let undecoded: UndecodedMessage[] = [];
    let refreshed = false;
    // A new writer schema met mid-batch (columns added) changes the target's columns:
    // decode the whole batch again against them.
    for (let attempt = 0; attempt < 2; attempt++) {
      decoded = [];
      undecoded = [];
      for (const message of messages) {
        let change = this.decoder.decode(message, { table: target.applier.table, fingerprint: target.fingerprint });
        if (change === UNKNOWN_WRITER && !refreshed) {
          // At most once a batch, and once every REFRESH_EVERY_MS: messages naming writers
          // nobody published cannot make the loader read the schema topic per message.
          await sleep(this.lastRefresh + REFRESH_EVERY_MS - Date.now());
          await this.refresh();
          refreshed = true;
          change = this.decoder.decode(message, { table: target.applier.table, fingerprint: target.fingerprint });
        }
        if (change === UNKNOWN_WRITER) {
          const fingerprint = writerFingerprint(message.value!)!;
          // Its data is good but cannot be applied safely: the table waits, nothing is dead-lettered.
          if (this.invalid.has(fingerprint)) {
            this.waiting.set(topic, fingerprint);
            return { invalidWriter: { fingerprint, reason: this.invalid.get(fingerprint)! } };
          }
          undecoded.push({ message, reason: `unknown writer schema ${fingerprint}` });
        } else if (typeof change === 'string') {
          undecoded.push({ message, reason: change });
        } else {
          decoded.push(change);
        }
      }
      if (this.tables.get(tableName) === target) break;
      target = this.tables.get(tableName)!;
    }
    return { target, decoded, undecoded };
  }
}
