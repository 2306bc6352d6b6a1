/**
 * Whether a PostgreSQL column can change type keeping every value it holds. When the
 * extractor plans a column anew (a restart profiling other data, a table rebuilt by the
 * application with another type), the loader evolves the target column if the new type
 * widens the old one (ALTER COLUMN … TYPE), and otherwise stops applying that table.
 */

const ALIASES: Record<string, string> = {
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time',
  'character varying': 'varchar',
  int8: 'bigint',
  int4: 'integer',
  int: 'integer',
  int2: 'smallint',
  float8: 'double precision',
  float4: 'real',
  bool: 'boolean',
  decimal: 'numeric',
};

/** A type as liteshift names it, whether written by liteshift (`timestamptz`) or by format_type() (`timestamp with time zone`). */
export function normalPgType(type: string): string {
  const t = type.trim().toLowerCase().replace(/\s*\(\s*/g, '(').replace(/\s*,\s*/g, ',').replace(/\s*\)/g, ')').replace(/\s+/g, ' ');
  const base = /^([a-z0-9 ]+?)(\(.*\))?$/.exec(t);
  if (!base) return t;
  return `${ALIASES[base[1]!] ?? base[1]}${base[2] ?? ''}`;
}

/** Decimal digits left of the point each integer type can hold. */
const INTEGER_DIGITS: Record<string, number> = { smallint: 5, integer: 10, bigint: 19 };
const INTEGER_ORDER = ['smallint', 'integer', 'bigint'];

function numeric(type: string): { precision: number; scale: number } | 'unbounded' | null {
  if (type === 'numeric') return 'unbounded';
  const m = /^numeric\((\d+)(?:,(\d+))?\)$/.exec(type);
  return m ? { precision: Number(m[1]), scale: Number(m[2] ?? 0) } : null;
}

/** True when every value of type `from` is also a value of type `to` (the same type included). */
export function widens(from: string, to: string): boolean {
  const a = normalPgType(from);
  const b = normalPgType(to);
  if (a === b) return true;
  if (b === 'text') return a !== 'bytea';
  const target = numeric(b);
  if (a in INTEGER_DIGITS) {
    if (b in INTEGER_DIGITS) return INTEGER_ORDER.indexOf(a) < INTEGER_ORDER.indexOf(b);
    return target === 'unbounded' || (target !== null && target.precision - target.scale >= INTEGER_DIGITS[a]!);
  }
  const source = numeric(a);
  if (source !== null) {
    if (target === 'unbounded') return true;
    return source !== 'unbounded' && target !== null && target.scale >= source.scale && target.precision - target.scale >= source.precision - source.scale;
  }
  const varchar = /^varchar\((\d+)\)$/;
  if (varchar.test(a) && (b === 'varchar' || Number(varchar.exec(b)?.[1] ?? -1) >= Number(varchar.exec(a)![1]))) return true;
  return (a === 'real' && b === 'double precision') || (a === 'date' && (b === 'timestamp' || b === 'timestamptz')) || (a === 'timestamp' && b === 'timestamptz');
}
