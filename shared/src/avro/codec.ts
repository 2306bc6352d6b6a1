import { AvroReader, AvroWriter, type SqlValue } from './binary.js';
import { OPS, type Op, type TableSchemas } from './change-event.js';

export interface ChangeEvent {
  op: Op;
  table: string;
  /** Column values in table-model order; null for a delete. */
  after: SqlValue[] | null;
  /** Changelog sequence, or the snapshot watermark for snapshot reads. */
  seq: bigint;
  snapshot: boolean;
  tsMs: number;
}

/**
 * Every change-event value starts with a wire prefix naming its writer schema: a magic
 * byte, then the 8 bytes of the schema fingerprint (published on the schema topic), then
 * the Avro payload. Cheaper than a Kafka header per message; keys carry no prefix, so a
 * key's bytes (hence its partition and compaction) never change with the schema.
 */
export const FRAME_MAGIC = 0x01;
export const FRAME_LENGTH = 9;

/** The fingerprint of the writer schema of a framed value, or null if it is not one of ours. */
export function writerFingerprint(value: Buffer): string | null {
  if (value.length < FRAME_LENGTH || value[0] !== FRAME_MAGIC) return null;
  return value.toString('hex', 1, FRAME_LENGTH);
}

/** Encodes and decodes one table's change events and keys with one writer schema. */
export class ChangeEventCodec {
  private readonly writer = new AvroWriter();
  readonly columnCount: number;
  readonly keyCount: number;

  private readonly frame: Buffer;

  constructor(readonly schemas: TableSchemas) {
    this.frame = Buffer.concat([Buffer.from([FRAME_MAGIC]), Buffer.from(schemas.fingerprint, 'hex')]);
    this.columnCount = schemas.fieldNames.length;
    this.keyCount = schemas.keyFieldNames.length;
  }

  encodeValue(event: ChangeEvent): Buffer {
    const w = this.writer;
    w.reset();
    w.writeRaw(this.frame);
    w.writeLong(OPS.indexOf(event.op));
    w.writeString(event.table);
    if (event.after === null) {
      w.writeLong(0);
    } else {
      if (event.after.length !== this.columnCount) throw new Error(`row has ${event.after.length} values, schema ${this.columnCount}`);
      w.writeLong(1);
      for (const value of event.after) w.writeValue(value);
    }
    w.writeLong(event.seq);
    w.writeBoolean(event.snapshot);
    w.writeLong(event.tsMs);
    return w.take();
  }

  encodeKey(values: readonly SqlValue[]): Buffer {
    const w = this.writer;
    w.reset();
    for (const value of values) w.writeValue(value);
    return w.take();
  }

  decodeValue(buf: Buffer): ChangeEvent {
    if (!this.framedWith(buf)) throw new Error('value is not framed with this writer schema');
    const r = new AvroReader(buf, FRAME_LENGTH);
    const op = OPS[r.readInt()];
    if (op === undefined) throw new Error('unknown op symbol');
    const table = r.readString();
    const branch = r.readInt();
    let after: SqlValue[] | null = null;
    if (branch === 1) {
      after = new Array<SqlValue>(this.columnCount);
      for (let i = 0; i < this.columnCount; i++) after[i] = r.readValue();
    } else if (branch !== 0) {
      throw new Error(`bad union branch ${branch} for after`);
    }
    const seqRaw = r.readLong();
    const seq = typeof seqRaw === 'number' ? BigInt(seqRaw) : seqRaw;
    const snapshot = r.readBoolean();
    const ts = r.readLong();
    if (!r.done) throw new Error('trailing bytes after change event');
    return { op, table, after, seq, snapshot, tsMs: Number(ts) };
  }

  /** True when `buf` starts with this writer schema's prefix: compared in place, no hex string per message. */
  framedWith(buf: Buffer): boolean {
    if (buf.length < FRAME_LENGTH) return false;
    const frame = this.frame;
    for (let i = 0; i < FRAME_LENGTH; i++) if (buf[i] !== frame[i]) return false;
    return true;
  }

  /**
   * Checks a framed value as decodeValue would, without making its values: where its row's
   * columns start (for a transcoder that reads them in place), or null for a delete.
   */
  locateRow(buf: Buffer): number | null {
    if (!this.framedWith(buf)) throw new Error('value is not framed with this writer schema');
    const r = new AvroReader(buf, FRAME_LENGTH);
    const op = OPS[r.readInt()];
    if (op === undefined) throw new Error('unknown op symbol');
    const tableLength = r.readLength();
    r.pos += tableLength;
    const branch = r.readInt();
    let at: number | null = null;
    if (branch === 1) {
      at = r.pos;
      for (let i = 0; i < this.columnCount; i++) r.skipValue();
    } else if (branch !== 0) {
      throw new Error(`bad union branch ${branch} for after`);
    }
    r.readLong();
    r.readBoolean();
    r.readLong();
    if (!r.done) throw new Error('trailing bytes after change event');
    return op === 'd' ? null : at;
  }

  /** Checks a key as decodeKey would, without making its values. */
  checkKey(buf: Buffer): void {
    const r = new AvroReader(buf);
    for (let i = 0; i < this.keyCount; i++) r.skipValue();
    if (!r.done) throw new Error('trailing bytes after key');
  }

  decodeKey(buf: Buffer): SqlValue[] {
    const r = new AvroReader(buf);
    const out: SqlValue[] = [];
    for (let i = 0; i < this.keyCount; i++) out.push(r.readValue());
    if (!r.done) throw new Error('trailing bytes after key');
    return out;
  }
}
