import type { AvroReader, AvroWriter, SqlValue } from '../avro/binary.js';

/**
 * The change event (DESIGN contract 2), version 1: the envelope every table topic's
 * values share, stated here once — its Avro schema and its byte layout (write, and one
 * read that both decoding and locating a row use). Only the row inside depends on the
 * table (avro/change-event.ts). A new version states what differs beside this one.
 *
 *   op: enum r|c|u|d · table: string · after: null | Row · source: {seq: long, snapshot: boolean} · ts_ms: long
 */
export const CHANGE_EVENT_VERSION = 1;

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

export type Op = 'r' | 'c' | 'u' | 'd';
export const OPS: readonly Op[] = ['r', 'c', 'u', 'd'];

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

/** The envelope's Avro record around a table's row record. */
export function envelopeSchema(namespace: string, table: string, row: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'record',
    name: 'Envelope',
    namespace,
    'liteshift.table': table,
    'liteshift.version': CHANGE_EVENT_VERSION,
    fields: [
      { name: 'op', type: { type: 'enum', name: 'Op', namespace: 'liteshift', symbols: [...OPS] } },
      { name: 'table', type: 'string' },
      { name: 'after', type: ['null', row], default: null },
      {
        name: 'source',
        type: {
          type: 'record',
          name: 'Source',
          namespace: 'liteshift',
          fields: [
            { name: 'seq', type: 'long', doc: 'changelog sequence, or the snapshot watermark for snapshot reads' },
            { name: 'snapshot', type: 'boolean' },
          ],
        },
      },
      { name: 'ts_ms', type: 'long' },
    ],
  };
}

/** Writes the envelope in schema order; `writeRow` writes the row's fields when there is one. */
export function writeEnvelope(w: AvroWriter, event: ChangeEvent, writeRow: (after: readonly SqlValue[]) => void): void {
  w.writeLong(OPS.indexOf(event.op));
  w.writeString(event.table);
  if (event.after === null) {
    w.writeLong(0);
  } else {
    w.writeLong(1);
    writeRow(event.after);
  }
  w.writeLong(event.seq);
  w.writeBoolean(event.snapshot);
  w.writeLong(event.tsMs);
}

export interface Envelope<Row> {
  op: Op;
  /** The table name; only read when asked for (locating a row skips it). */
  table: string | null;
  row: Row | null;
  seq: bigint;
  snapshot: boolean;
  tsMs: number;
}

/**
 * Reads the envelope in schema order, checking it is whole; `readRow` reads (or skips)
 * the row's fields. Throws on anything that is not a version-1 envelope.
 */
export function readEnvelope<Row>(r: AvroReader, readRow: (r: AvroReader) => Row, withTable = true): Envelope<Row> {
  const op = OPS[r.readInt()];
  if (op === undefined) throw new Error('unknown op symbol');
  let table: string | null = null;
  if (withTable) {
    table = r.readString();
  } else {
    const length = r.readLength();
    r.pos += length;
  }
  const branch = r.readInt();
  let row: Row | null = null;
  if (branch === 1) row = readRow(r);
  else if (branch !== 0) throw new Error(`bad union branch ${branch} for after`);
  const seqRaw = r.readLong();
  const snapshot = r.readBoolean();
  const tsMs = Number(r.readLong());
  if (!r.done) throw new Error('trailing bytes after change event');
  return { op, table, row, seq: typeof seqRaw === 'number' ? BigInt(seqRaw) : seqRaw, snapshot, tsMs };
}
