import { AvroReader, AvroWriter, type SqlValue } from './binary.js';
import type { TableSchemas } from './change-event.js';
import { FRAME_LENGTH, FRAME_MAGIC, readEnvelope, writeEnvelope, type ChangeEvent } from '../contracts/change-event.js';

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
    writeEnvelope(w, event, this.writeRow);
    return w.take();
  }

  private readonly writeRow = (after: readonly SqlValue[]): void => {
    if (after.length !== this.columnCount) throw new Error(`row has ${after.length} values, schema ${this.columnCount}`);
    for (const value of after) this.writer.writeValue(value);
  };

  private readonly readRow = (r: AvroReader): SqlValue[] => {
    const row = new Array<SqlValue>(this.columnCount);
    for (let i = 0; i < this.columnCount; i++) row[i] = r.readValue();
    return row;
  };

  /** Skips the row's values, answering where they start. */
  private readonly skipRow = (r: AvroReader): number => {
    const at = r.pos;
    for (let i = 0; i < this.columnCount; i++) r.skipValue();
    return at;
  };

  encodeKey(values: readonly SqlValue[]): Buffer {
    const w = this.writer;
    w.reset();
    for (const value of values) w.writeValue(value);
    return w.take();
  }

  decodeValue(buf: Buffer): ChangeEvent {
    if (!this.framedWith(buf)) throw new Error('value is not framed with this writer schema');
    const e = readEnvelope(new AvroReader(buf, FRAME_LENGTH), this.readRow);
    return { op: e.op, table: e.table!, after: e.row, seq: e.seq, snapshot: e.snapshot, tsMs: e.tsMs };
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
    const e = readEnvelope(new AvroReader(buf, FRAME_LENGTH), this.skipRow, false);
    return e.op === 'd' ? null : e.row;
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
