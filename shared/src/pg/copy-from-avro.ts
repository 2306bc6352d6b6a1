import { AvroReader } from '../avro/binary.js';
import { ValueClass } from '../avro/change-event.js';
import type { ColumnModel } from '../schema/model.js';
import { isSqliteDateAt, isSqliteDatetimeAt } from '../values/to-pg.js';
import type { TextBuffer } from '../values/text-buffer.js';

const enum Fast {
  None,
  Integer,
  Real,
  Text,
  Boolean,
  Timestamp,
  Date,
}

interface ColumnPlan {
  fast: Fast;
  notNull: boolean;
  min: number;
  max: number;
}

const INTEGER_BOUNDS: Record<string, readonly [number, number]> = {
  smallint: [-(2 ** 15), 2 ** 15 - 1],
  integer: [-(2 ** 31), 2 ** 31 - 1],
};

function planColumn(column: ColumnModel): ColumnPlan {
  const plan = (fast: Fast, [min, max] = [-Infinity, Infinity] as readonly [number, number]): ColumnPlan => ({ fast, notNull: column.notNull, min, max });
  switch (column.kind) {
    case 'integer':
      return column.pgType === 'bigint' ? plan(Fast.Integer) : INTEGER_BOUNDS[column.pgType] ? plan(Fast.Integer, INTEGER_BOUNDS[column.pgType]) : plan(Fast.None);
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
    default:
      return plan(Fast.None);
  }
}

/**
 * Turns a change event's row, still Avro-encoded, into its COPY line without making a
 * JavaScript value per column. It covers the shapes most rows have (integers, UTF-8
 * text, canonical dates and timestamps, booleans, doubles) and writes exactly what
 * toPgText + copyRow would; for anything else it declines and the caller takes the
 * general path (which also finds the rows to reject).
 */
export class AvroCopyTranscoder {
  private readonly plans: ColumnPlan[];

  constructor(columns: readonly ColumnModel[]) {
    this.plans = columns.map(planColumn);
  }

  /** Appends the COPY line of the row whose columns start at `at`; false, with nothing appended, when it declines. */
  append(value: Buffer, at: number, out: TextBuffer): boolean {
    const start = out.length;
    const r = new AvroReader(value, at);
    for (let i = 0; i < this.plans.length; i++) {
      if (i > 0) out.byte(0x09);
      if (!this.column(this.plans[i]!, r, out)) {
        out.truncate(start);
        return false;
      }
    }
    out.byte(0x0a);
    return true;
  }

  private column(plan: ColumnPlan, r: AvroReader, out: TextBuffer): boolean {
    const branch = r.readInt();
    if (branch === ValueClass.Null) {
      if (plan.notNull) return false;
      out.byte(0x5c);
      out.byte(0x4e);
      return true;
    }
    switch (plan.fast) {
      case Fast.Integer: {
        if (branch !== ValueClass.Long) return false;
        const n = r.readLong();
        if (typeof n !== 'number' || n < plan.min || n > plan.max) return false;
        out.integer(n);
        return true;
      }
      case Fast.Boolean: {
        if (branch !== ValueClass.Long) return false;
        const n = r.readLong();
        if (n !== 0 && n !== 1) return false;
        out.byte(n === 1 ? 0x74 : 0x66);
        return true;
      }
      case Fast.Real: {
        if (branch !== ValueClass.Double) return false;
        const n = r.readDouble();
        if (!Number.isFinite(n)) return false;
        out.ascii(String(n));
        return true;
      }
      case Fast.Text: {
        if (branch !== ValueClass.String) return false;
        const length = r.readLength();
        const from = r.pos;
        r.pos += length;
        return out.escaped(r.buf, from, from + length);
      }
      case Fast.Timestamp:
      case Fast.Date: {
        if (branch !== ValueClass.String) return false;
        const length = r.readLength();
        const from = r.pos;
        r.pos += length;
        if (length !== (plan.fast === Fast.Date ? 10 : 19)) return false;
        if (!(plan.fast === Fast.Date ? isSqliteDateAt(r.buf, from) : isSqliteDatetimeAt(r.buf, from))) return false;
        out.copy(r.buf, from, from + length);
        return true;
      }
      default:
        return false;
    }
  }
}
