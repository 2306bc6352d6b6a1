/**
 * Decoding change events with the writer schemas the loader knows, for a target table:
 * pure, no I/O. The target is the newest writer schema of its table; an older writer's
 * columns are mapped onto the target's (schemas evolve by adding columns).
 */
import {
  ChangeEventCodec,
  errorMessage,
  tableSchemas,
  writerFingerprint,
  type KafkaMessage,
  type SchemaRecord,
  type SqlValue,
  type TableModel,
} from '@liteshift/shared';
import type { KeyedChange } from './table-applier.js';

interface WriterSchema {
  record: SchemaRecord;
  codec: ChangeEventCodec;
  /** Index in the target's columns of each writer column. */
  toTarget: number[];
  /** Target columns this writer has, when it lacks some (written before columns were added). */
  covers?: number[];
}

/** What a message is decoded for: the target table and the fingerprint of its writer schema. */
export interface DecodeTarget {
  table: TableModel;
  fingerprint: string;
}

export type DecodedChange = KeyedChange & { keyBytes: Buffer };

const epochOf = (writer: WriterSchema): number => writer.record.table.resyncEpoch ?? 0;

/** decode()'s answer for a value whose writer schema this loader has not read yet. */
export const UNKNOWN_WRITER = Symbol('unknown writer schema');

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
    readonly epoch: number,
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

export class WriterDecoder {
  private readonly writers = new Map<string, WriterSchema>();

  /** Every writer schema known, each mapped onto the target of its table (the newest record per table in `latest`). */
  setWriters(records: Iterable<SchemaRecord>, latest: ReadonlyMap<string, SchemaRecord>): void {
    for (const record of records) {
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

  /**
   * Decodes one message for the target's columns, or says why it cannot be. Synchronous
   * (a promise per message cost more than the decoding): a writer schema not known yet
   * answers UNKNOWN_WRITER, and the caller reads the schema topic and asks again.
   */
  decode(message: KafkaMessage, target: DecodeTarget): DecodedChange | string | typeof UNKNOWN_WRITER {
    if (!message.key) return 'message has no key';
    if (message.value === null) {
      // A tombstone carries no schema: its key is in the table's key schema, which a
      // schema change that adds columns leaves as it was.
      try {
        return { key: this.writers.get(target.fingerprint)!.codec.decodeKey(message.key), keyBytes: message.key, row: null, offset: message.offset };
      } catch (error) {
        return `cannot decode the key of a tombstone: ${errorMessage(error)}`;
      }
    }
    // Nearly every message is in the target's own writer schema: checked in place first.
    let writer = this.writers.get(target.fingerprint)!;
    if (!writer.codec.framedWith(message.value)) {
      const fingerprint = writerFingerprint(message.value);
      if (!fingerprint) return 'value does not start with a liteshift writer-schema prefix';
      const other = this.writers.get(fingerprint);
      if (!other) return UNKNOWN_WRITER;
      writer = other;
    }
    if (writer.record.table.name !== target.table.name) return `writer schema ${writer.record.fingerprint} is for table ${writer.record.table.name}`;
    try {
      if (writer.record.fingerprint === target.fingerprint) {
        // The common case: checked here (a bad message is a dead letter), decoded only if
        // the COPY transcoder declines a value.
        writer.codec.checkKey(message.key);
        const at = writer.codec.locateRow(message.value);
        if (at !== null) return new EncodedUpsert(message.key, message.value, at, message.offset, writer.codec, epochOf(writer));
      }
      const key = writer.codec.decodeKey(message.key);
      const event = writer.codec.decodeValue(message.value);
      if (event.op === 'd' || event.after === null) return { key, keyBytes: message.key, row: null, offset: message.offset, epoch: epochOf(writer) };
      let row: SqlValue[] = event.after;
      if (writer.record.fingerprint !== target.fingerprint) {
        row = new Array<SqlValue>(target.table.columns.length).fill(null);
        writer.toTarget.forEach((to, from) => {
          if (to >= 0) row[to] = event.after![from]!;
        });
      }
      return { key, keyBytes: message.key, row, offset: message.offset, epoch: epochOf(writer), ...(writer.covers ? { columns: writer.covers } : {}) };
    } catch (error) {
      return `cannot decode: ${errorMessage(error)}`;
    }
  }
}
