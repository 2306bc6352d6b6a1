import type pg from 'pg';
import { AvroReader, ValueClass } from '../avro/binary.js';
import { pgColumnName, type ColumnModel } from '../schema/model.js';
import { digitsAt, isSqliteDateAt, isSqliteDatetimeAt } from '../values/to-pg.js';
import type { ByteBuffer } from '../values/byte-buffer.js';

const enum Fast {
  None,
  Integer,
  Real,
  Text,
  Boolean,
  Timestamp,
  Date,
  /** A bytea column: its bytes as they are (binary COPY only; text COPY leaves it to the general path). */
  Bytes,
}

interface ColumnPlan {
  fast: Fast;
  notNull: boolean;
  min: number;
  max: number;
  /** Bytes of an integer in COPY's binary format (8, 4, 2); 0 for other kinds. */
  width: number;
}

/**
 * The PostgreSQL types whose binary form the transcoder writes, by the model's pgType, as
 * format_type() names them. A float4 target rounds the decimal text itself, so only float8
 * takes the double's bits.
 */
const BINARY_TYPES: Record<string, string> = {
  bigint: 'bigint',
  integer: 'integer',
  smallint: 'smallint',
  text: 'text',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  date: 'date',
  boolean: 'boolean',
  'double precision': 'double precision',
  bytea: 'bytea',
};

const INTEGER_TYPES: Record<string, { bounds: readonly [number, number]; width: number }> = {
  bigint: { bounds: [-Infinity, Infinity], width: 8 },
  integer: { bounds: [-(2 ** 31), 2 ** 31 - 1], width: 4 },
  smallint: { bounds: [-(2 ** 15), 2 ** 15 - 1], width: 2 },
};

function planColumn(column: ColumnModel): ColumnPlan {
  const plan = (fast: Fast, [min, max] = [-Infinity, Infinity] as readonly [number, number], width = 0): ColumnPlan => ({ fast, notNull: column.notNull, min, max, width });
  switch (column.kind) {
    case 'integer': {
      const type = INTEGER_TYPES[column.pgType];
      return type ? plan(Fast.Integer, type.bounds, type.width) : plan(Fast.None);
    }
    case 'real':
      return plan(Fast.Real);
    case 'text':
      return plan(column.pgType === 'text' ? Fast.Text : Fast.None);
    case 'boolean':
      return plan(Fast.Boolean);
    case 'timestamp':
    case 'timestamptz':
      return plan(Fast.Timestamp);
    case 'date':
      return plan(Fast.Date);
    case 'blob':
      return plan(column.pgType === 'bytea' ? Fast.Bytes : Fast.None);
    default:
      return plan(Fast.None);
  }
}

/** A table's column types as the transcoder compares them: name → format_type(). `table` is qualified and quoted. */
export async function columnTypes(client: pg.ClientBase, table: string): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; type: string }>(
    'SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped',
    [table],
  );
  return new Map(rows.map((r) => [r.name, r.type]));
}

/** What starts COPY's binary format: the signature, no flags, no header extension. */
const BINARY_HEADER = Buffer.from([...Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), 0, 0, 0, 0, 0, 0, 0, 0]);

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  if (m <= 2) y--;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

/** PostgreSQL's dates and timestamps count from 2000-01-01. */
const PG_EPOCH_DAYS = daysFromCivil(2000, 1, 1);

/** The days since PostgreSQL's epoch of a 'YYYY-MM-DD' isSqliteDateAt accepted. */
function pgDays(bytes: Uint8Array, at: number): number {
  return daysFromCivil(digitsAt(bytes, at, 4), digitsAt(bytes, at + 5, 2), digitsAt(bytes, at + 8, 2)) - PG_EPOCH_DAYS;
}

/**
 * Writes a 'YYYY-MM-DD HH:MM:SS' isSqliteDatetimeAt accepted as PostgreSQL's binary
 * timestamp: microseconds since its epoch. 24:00:00 and a 60th second roll over, as
 * PostgreSQL's own input does.
 */
function writePgTimestamp(bytes: Uint8Array, at: number, out: ByteBuffer): void {
  const seconds = pgDays(bytes, at) * 86400 + digitsAt(bytes, at + 11, 2) * 3600 + digitsAt(bytes, at + 14, 2) * 60 + digitsAt(bytes, at + 17, 2);
  out.int32(8);
  // Exact as a double within ±285 years of 2000; beyond, BigInt keeps every microsecond.
  if (Math.abs(seconds) < 9e9) out.int64(seconds * 1e6);
  else out.int64Big(BigInt(seconds) * 1_000_000n);
}

/**
 * Turns a change event's row, still Avro-encoded, into COPY data without making a
 * JavaScript value per column. It covers the shapes most rows have (integers, UTF-8 text,
 * canonical dates and timestamps, booleans, doubles, blobs); for anything else it declines and
 * the caller takes the general path (which also finds the rows to reject). Where every
 * column of the target table has the type the model gives it and that type has a binary
 * form it knows, it writes COPY's binary format (PostgreSQL then parses no text: its COPY
 * takes ~40 % less CPU); otherwise — a table the application created with types of its
 * own, say — it writes the text lines toPgText + copyRow would, which PostgreSQL converts.
 */
export class AvroCopyTranscoder {
  private readonly plans: ColumnPlan[];
  /** COPY's binary format (else text): the caller starts and ends the data with begin() and end(). */
  readonly binary: boolean;

  /** `targetTypes`: the target table's column types by column name, as format_type() gives them; without them, text. */
  constructor(columns: readonly ColumnModel[], targetTypes?: ReadonlyMap<string, string>) {
    this.plans = columns.map(planColumn);
    this.binary =
      targetTypes !== undefined &&
      columns.every((c, i) => this.plans[i]!.fast !== Fast.None && BINARY_TYPES[c.pgType] !== undefined && targetTypes.get(pgColumnName(c)) === BINARY_TYPES[c.pgType]);
  }

  /** What goes before the first row. */
  begin(out: ByteBuffer): void {
    if (this.binary) out.copy(BINARY_HEADER, 0, BINARY_HEADER.length);
  }

  /** What goes after the last row. */
  end(out: ByteBuffer): void {
    if (this.binary) out.int16(-1);
  }

  /** Appends the row whose columns start at `at`; false, with nothing appended, when it declines. */
  append(value: Buffer, at: number, out: ByteBuffer): boolean {
    const start = out.length;
    const r = new AvroReader(value, at);
    if (this.binary) out.int16(this.plans.length);
    for (let i = 0; i < this.plans.length; i++) {
      if (i > 0 && !this.binary) out.byte(0x09);
      if (!this.column(this.plans[i]!, r, out)) {
        out.truncate(start);
        return false;
      }
    }
    if (!this.binary) out.byte(0x0a);
    return true;
  }

  private column(plan: ColumnPlan, r: AvroReader, out: ByteBuffer): boolean {
    const binary = this.binary;
    const branch = r.readInt();
    if (branch === ValueClass.Null) {
      if (plan.notNull) return false;
      if (binary) {
        out.int32(-1);
      } else {
        out.byte(0x5c);
        out.byte(0x4e);
      }
      return true;
    }
    switch (plan.fast) {
      case Fast.Integer: {
        if (branch !== ValueClass.Long) return false;
        const n = r.readLong();
        if (typeof n !== 'number' || n < plan.min || n > plan.max) return false;
        if (!binary) {
          out.integer(n);
        } else if (plan.width === 8) {
          out.int32(8);
          out.int64(n);
        } else {
          out.int32(plan.width);
          if (plan.width === 4) out.int32(n);
          else out.int16(n);
        }
        return true;
      }
      case Fast.Boolean: {
        if (branch !== ValueClass.Long) return false;
        const n = r.readLong();
        if (n !== 0 && n !== 1) return false;
        if (binary) {
          out.int32(1);
          out.byte(n);
        } else {
          out.byte(n === 1 ? 0x74 : 0x66);
        }
        return true;
      }
      case Fast.Real: {
        if (branch !== ValueClass.Double) return false;
        const n = r.readDouble();
        if (!Number.isFinite(n)) return false;
        if (binary) {
          out.int32(8);
          // The text path prints -0 as 0.
          out.float64(n === 0 ? 0 : n);
        } else {
          out.ascii(String(n));
        }
        return true;
      }
      case Fast.Text: {
        if (branch !== ValueClass.String) return false;
        const length = r.readLength();
        const from = r.pos;
        r.pos += length;
        return binary ? out.utf8Field(r.buf, from, from + length) : out.escaped(r.buf, from, from + length);
      }
      case Fast.Timestamp:
      case Fast.Date: {
        if (branch !== ValueClass.String) return false;
        const length = r.readLength();
        const from = r.pos;
        r.pos += length;
        const date = plan.fast === Fast.Date;
        if (length !== (date ? 10 : 19)) return false;
        if (!(date ? isSqliteDateAt(r.buf, from) : isSqliteDatetimeAt(r.buf, from))) return false;
        if (!binary) {
          out.copy(r.buf, from, from + length);
        } else if (date) {
          out.int32(4);
          out.int32(pgDays(r.buf, from));
        } else {
          writePgTimestamp(r.buf, from, out);
        }
        return true;
      }
      case Fast.Bytes: {
        // Blobs, and text stored in a BLOB column: the general path sends the UTF-8 of
        // that text, which is what Avro holds.
        if (!binary || (branch !== ValueClass.Bytes && branch !== ValueClass.String)) return false;
        const length = r.readLength();
        out.int32(length);
        out.copy(r.buf, r.pos, r.pos + length);
        r.pos += length;
        return true;
      }
      default:
        return false;
    }
  }
}
