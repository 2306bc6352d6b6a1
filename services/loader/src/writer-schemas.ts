/**
 * The writer schemas the loader knows, from the schema topic (read whole, or consumed as
 * it grows): the only reader of schema records in the loader. The newest writer schema of
 * a table defines its target table, created or altered here; batches are decoded for it
 * (decode.ts).
 */
import {
  isLiteshiftError,
  newestPerTable,
  parseSchemaRecord,
  postgresError,
  readSchemas,
  writerFingerprint,
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
  /** A table whose new writer schema the target cannot follow: it is no longer applied (told once). */
  onTableStopped: (table: string, error: LiteshiftError) => void;
}

export class WriterSchemas {
  private readonly decoder = new WriterDecoder();
  private readonly records = new Map<string, SchemaRecord>();
  private readonly tables = new Map<string, TargetTable>();
  private readonly topicTables = new Map<string, string>();
  private readonly stopped = new Set<string>();

  constructor(private readonly o: WriterSchemasOptions) {}

  /** Reads the schema topic whole; creates or adopts the target table of every table it names. Returns their topics. */
  async refresh(): Promise<string[]> {
    await this.take((await readSchemas(this.o.kafka, this.o.admin(), this.o.topicPrefix)).values());
    return this.topics();
  }

  /** Values consumed from the schema topic: records not known yet are taken in. */
  async takeValues(values: readonly (Buffer | null)[]): Promise<void> {
    const records = values.flatMap((v) => {
      const record = parseSchemaRecord(v);
      return record && !this.records.has(record.fingerprint) ? [record] : [];
    });
    await this.take(records);
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
  async decodeBatch(topic: string, messages: readonly KafkaMessage[]): Promise<{ target: TargetTable; decoded: DecodedChange[]; undecoded: UndecodedMessage[] }> {
    const tableName = this.topicTables.get(topic);
    let target = tableName === undefined ? undefined : this.tables.get(tableName);
    if (!tableName || !target) throw new Error(`no schema known for topic ${topic}`);
    let decoded: DecodedChange[] = [];
    let undecoded: UndecodedMessage[] = [];
    // A new writer schema met mid-batch (columns added) changes the target's columns:
    // decode the whole batch again against them.
    for (let attempt = 0; attempt < 2; attempt++) {
      decoded = [];
      undecoded = [];
      for (const message of messages) {
        let change = this.decoder.decode(message, { table: target.applier.table, fingerprint: target.fingerprint });
        if (change === UNKNOWN_WRITER) {
          await this.refresh();
          change = this.decoder.decode(message, { table: target.applier.table, fingerprint: target.fingerprint });
        }
        if (change === UNKNOWN_WRITER) undecoded.push({ message, reason: `unknown writer schema ${writerFingerprint(message.value!)}` });
        else if (typeof change === 'string') undecoded.push({ message, reason: change });
        else decoded.push(change);
      }
      if (this.tables.get(tableName) === target) break;
      target = this.tables.get(tableName)!;
    }
    return { target, decoded, undecoded };
  }
}
