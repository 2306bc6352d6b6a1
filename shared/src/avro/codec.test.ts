import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import type { ColumnModel, TableModel } from '../schema/model.js';
import { AvroReader, AvroWriter, type SqlValue } from './binary.js';
import { avroFieldNames, tableSchemas } from './change-event.js';
import { ChangeEventCodec } from './codec.js';
import { FRAME_LENGTH, FRAME_MAGIC, writerFingerprint, type ChangeEvent } from '../contracts/change-event.js';

function column(name: string, kind: ColumnModel['kind'], pgType: string): ColumnModel {
  return { name, declaredType: '', notNull: false, sqliteDefault: null, kind, pgType, pgDefault: null, identity: false, reason: 'test' };
}

function table(name: string, columns: ColumnModel[], key: string[]): TableModel {
  return { name, withoutRowid: false, columns, key, keyIsRowid: false, foreignKeys: [], indexes: [], checks: [] };
}

/** Columns named the way SQLite allows and Avro does not. */
const ITEMS = table(
  'line items',
  [
    column('order id', 'integer', 'bigint'),
    column('line', 'integer', 'bigint'),
    column('price', 'real', 'double precision'),
    column('note', 'text', 'text'),
    column('1st-image', 'blob', 'bytea'),
  ],
  ['order id', 'line'],
);
const schemas = tableSchemas(ITEMS);
const codec = new ChangeEventCodec(schemas);

/** avsc with longs as BigInt (its default long type refuses anything above 2^53). */
const bigLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (json: unknown) => BigInt(json as string),
  toJSON: (n: bigint) => n.toString(),
  isValid: (n: unknown) => typeof n === 'bigint' && n >= -(2n ** 63n) && n < 2n ** 63n,
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});
const forSchema = (schema: unknown) =>
  avro.Type.forSchema(schema as avro.Schema, { registry: { long: bigLong } as unknown as Record<string, avro.Type>, wrapUnions: true });
const avscValue = forSchema(schemas.value);
const avscKey = forSchema(schemas.key);
const ROW_BRANCH = 'liteshift.tables.line_items.Row';

/** avsc's wrapped union → the plain value our codec returns. */
function unwrap(value: Record<string, unknown> | null): unknown {
  if (value === null) return null;
  const [branch, inner] = Object.entries(value)[0]!;
  return branch === 'long' ? BigInt(inner as bigint) : inner;
}

function wrap(value: SqlValue): Record<string, unknown> | null {
  if (value === null) return null;
  if (typeof value === 'bigint') return { long: value };
  if (typeof value === 'number') return { double: value };
  if (typeof value === 'string') return { string: value };
  return { bytes: Buffer.from(value) };
}

function event(after: SqlValue[] | null, op: ChangeEvent['op'] = 'c', seq = 1n): ChangeEvent {
  return { op, table: 'line items', after, seq, snapshot: op === 'r', tsMs: 1_700_000_000_123 };
}

const LONGS: bigint[] = [0n, -1n, 1n, 63n, -64n, 64n, 2n ** 31n, 2n ** 52n, 2n ** 53n + 1n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n];
const DOUBLES: number[] = [0, -0, 1.5, -2.25, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-300, 5e-324, Number.MAX_VALUE];
const STRINGS: string[] = ['', 'plain', 'emoji 😀🇫🇷', 'nul\u0000inside', 'naïve café', 'x'.repeat(10_000)];
const BUFFERS: Buffer[] = [Buffer.alloc(0), Buffer.from([0, 255, 128, 0]), Buffer.alloc(5000, 7)];

function expectSameValue(actual: unknown, expected: SqlValue): void {
  if (typeof expected === 'number') {
    expect(typeof actual).toBe('number');
    expect(Object.is(actual, expected)).toBe(true);
  } else if (expected instanceof Uint8Array) {
    expect(Buffer.isBuffer(actual)).toBe(true);
    expect(Buffer.compare(actual as Buffer, Buffer.from(expected))).toBe(0);
  } else {
    expect(actual).toStrictEqual(expected);
  }
}

describe('ChangeEventCodec', () => {
  it('round-trips longs exactly, far beyond 2^53', () => {
    for (const value of LONGS) {
      const decoded = codec.decodeValue(codec.encodeValue(event([value, value, null, null, null])));
      expect(decoded.after![0]).toBe(value);
      expect(typeof decoded.after![1]).toBe('bigint');
    }
    // 2^53 + 1 is not a double: a number round trip would come back as 2^53.
    const big = BigInt(2 ** 53) + 1n;
    expect(codec.decodeValue(codec.encodeValue(event([big, 0n, null, null, null]))).after![0]).toBe(9007199254740993n);
  });

  it('round-trips doubles bit for bit, including -0, NaN, infinities and subnormals', () => {
    for (const value of DOUBLES) {
      const decoded = codec.decodeValue(codec.encodeValue(event([1n, 1n, value, null, null])));
      expectSameValue(decoded.after![2], value);
    }
  });

  it('round-trips strings: empty, emoji, NUL, long', () => {
    for (const value of STRINGS) {
      const decoded = codec.decodeValue(codec.encodeValue(event([1n, 1n, null, value, null])));
      expect(decoded.after![3]).toBe(value);
    }
  });

  it('round-trips bytes, including empty and plain Uint8Array', () => {
    for (const value of [...BUFFERS, new Uint8Array([1, 2, 3])]) {
      const decoded = codec.decodeValue(codec.encodeValue(event([1n, 1n, null, null, value])));
      expectSameValue(decoded.after![4], value);
    }
  });

  it('keeps the storage class of every value, whatever the column (an INTEGER column may hold text)', () => {
    const row: SqlValue[] = ['text in an integer column', 1.5, 42n, Buffer.from('b'), 'text in a blob column'];
    const decoded = codec.decodeValue(codec.encodeValue(event(row)));
    expect(decoded.after).toStrictEqual(row);
  });

  it('round-trips every op, the envelope and a null after', () => {
    for (const op of ['r', 'c', 'u', 'd'] as const) {
      const e: ChangeEvent = {
        op,
        table: 'line items',
        after: op === 'd' ? null : [2n ** 63n - 1n, -1n, 0.5, 'x', Buffer.from([9])],
        seq: 2n ** 60n + 7n,
        snapshot: op === 'r',
        tsMs: 1_700_000_000_123,
      };
      expect(codec.decodeValue(codec.encodeValue(e))).toStrictEqual(e);
    }
  });

  it('refuses rows of the wrong width, unknown ops, truncated and trailing bytes', () => {
    expect(() => codec.encodeValue(event([1n, 2n]))).toThrow(/2 values/);
    const good = codec.encodeValue(event([1n, 2n, 3.5, 'note', Buffer.from('img')]));
    expect(() => codec.decodeValue(good.subarray(0, good.length - 1))).toThrow();
    expect(() => codec.decodeValue(Buffer.concat([good, Buffer.from([0])]))).toThrow(/trailing/);
    const badOp = Buffer.from(good);
    badOp[FRAME_LENGTH] = 8; // zigzag 4: past the four symbols
    expect(() => codec.decodeValue(badOp)).toThrow(/op/);
  });

  it('locateRow and checkKey accept and refuse exactly what decodeValue and decodeKey do', () => {
    const row: SqlValue[] = [1n, 2n ** 62n, 3.5, 'nöte', Buffer.from('img')];
    const good = codec.encodeValue(event(row));
    const at = codec.locateRow(good)!;
    expect(at).toBeGreaterThan(FRAME_LENGTH);
    expect(good[at - 1]).toBe(2); // the union branch of a present row, zigzag 1
    expect(codec.locateRow(codec.encodeValue({ ...event(null), op: 'd' }))).toBeNull();
    const badOp = Buffer.from(good);
    badOp[FRAME_LENGTH] = 8;
    const variants = [good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([0])]), badOp];
    for (let cut = FRAME_LENGTH; cut < good.length; cut += 3) variants.push(good.subarray(0, cut));
    for (const bytes of variants) {
      expect(() => codec.decodeValue(bytes)).toThrow();
      expect(() => codec.locateRow(bytes)).toThrow();
    }
    const key = codec.encodeKey([7n, 2n ** 63n - 1n]);
    expect(() => codec.checkKey(key)).not.toThrow();
    for (const bytes of [key.subarray(0, key.length - 1), Buffer.concat([key, Buffer.from([0])]), Buffer.from([10, 2])]) {
      expect(() => codec.decodeKey(bytes)).toThrow();
      expect(() => codec.checkKey(bytes)).toThrow();
    }
  });

  it('AvroWriter: every value taken stays intact as slabs fill and new ones start mid-value', () => {
    const strings = ['a', 'é', 'crème', 'x'.repeat(63), '日本語', '', 'twenty-six ascii, then é', 'é'.repeat(40), 'y'.repeat(200)];
    for (let slab = 1; slab <= 64; slab++) {
      const writer = new AvroWriter(slab);
      const taken = Array.from({ length: 400 }, (_, i) => {
        writer.writeValue(strings[i % strings.length]!);
        writer.writeValue(BigInt(i) * 1_000_003n);
        return writer.take();
      });
      taken.forEach((bytes, i) => {
        const reader = new AvroReader(bytes);
        expect(reader.readValue()).toBe(strings[i % strings.length]);
        expect(reader.readValue()).toBe(BigInt(i) * 1_000_003n);
        expect(reader.done).toBe(true);
      });
    }
  });

  it('keeps every value intact while many share the writer\'s slabs (short, non-ASCII, long strings)', () => {
    const notes = ['a', 'crème', 'x'.repeat(63), '日本語'.repeat(30), '', 'ascii then é', 'y'.repeat(5000)];
    const events = Array.from({ length: 20_000 }, (_, i) => event([BigInt(i), -BigInt(i), i / 7, notes[i % notes.length]!, Buffer.alloc(i % 50, i)]));
    const values = events.map((e) => codec.encodeValue(e));
    const keys = events.map((e) => codec.encodeKey(e.after!.slice(0, 2)));
    values.forEach((value, i) => expect(codec.decodeValue(value)).toStrictEqual(events[i]));
    keys.forEach((key, i) => expect(codec.decodeKey(key)).toStrictEqual(events[i]!.after!.slice(0, 2)));
  }, 30_000); // 20,000 events encoded and compared: seconds on a loaded 2-core machine

  it('frames every value with its writer schema, and refuses another schema\'s frame', () => {
    const bytes = codec.encodeValue(event([1n, 2n, 3.5, 'note', Buffer.from('img')]));
    expect(bytes[0]).toBe(FRAME_MAGIC);
    expect(writerFingerprint(bytes)).toBe(codec.schemas.fingerprint);
    const foreign = Buffer.from(bytes);
    foreign[1] = foreign[1]! ^ 0xff;
    expect(() => codec.decodeValue(foreign)).toThrow(/writer schema/);
    expect(writerFingerprint(Buffer.from('plain text'))).toBeNull();
  });

  describe('agrees with avsc on the declared schema', () => {
    it('the schemas are valid Avro', () => {
      expect(avscValue.name).toBe('liteshift.tables.line_items.Envelope');
      expect(avscKey.name).toBe('liteshift.tables.line_items.Key');
    });

    const rows: SqlValue[][] = [
      [0n, -1n, -0, '', Buffer.alloc(0)],
      [2n ** 62n, -(2n ** 63n), Number.NaN, 'emoji 😀', Buffer.from([0, 255])],
      [2n ** 63n - 1n, BigInt(2 ** 53) + 1n, 1e-300, 'nul\u0000', null],
      [null, null, Number.NEGATIVE_INFINITY, null, Buffer.alloc(300, 1)],
      ['text', 1.25, 7n, Buffer.from('x'), 'y'],
    ];

    it('avsc decodes our value bytes to the same event', () => {
      for (const [i, row] of rows.entries()) {
        const op = (['r', 'c', 'u', 'd'] as const)[i % 4]!;
        const bytes = codec.encodeValue(event(row, op, BigInt(i) + 2n ** 55n));
        const decoded = avscValue.fromBuffer(bytes.subarray(FRAME_LENGTH)) as {
          op: string;
          table: string;
          after: Record<string, Record<string, Record<string, unknown> | null>> | null;
          source: { seq: bigint; snapshot: boolean };
          ts_ms: bigint;
        };
        expect(decoded.op).toBe(op);
        expect(decoded.table).toBe('line items');
        expect(decoded.source.seq).toBe(BigInt(i) + 2n ** 55n);
        expect(decoded.source.snapshot).toBe(op === 'r');
        expect(decoded.ts_ms).toBe(1_700_000_000_123n);
        const after = decoded.after![ROW_BRANCH]!;
        schemas.fieldNames.forEach((field, c) => expectSameValue(unwrap(after[field]!), row[c]!));
      }
    });

    it('avsc decodes a null after (a delete)', () => {
      const decoded = avscValue.fromBuffer(codec.encodeValue(event(null, 'd')).subarray(FRAME_LENGTH)) as { op: string; after: unknown };
      expect(decoded).toMatchObject({ op: 'd', after: null });
    });

    it('we decode avsc-encoded bytes to the same event', () => {
      for (const row of rows) {
        const fields = Object.fromEntries(schemas.fieldNames.map((f, c) => [f, wrap(row[c]!)]));
        const bytes = avscValue.toBuffer({
          op: 'u',
          table: 'line items',
          after: { [ROW_BRANCH]: fields },
          source: { seq: 2n ** 63n - 1n, snapshot: false },
          ts_ms: 5n,
        });
        expect(Buffer.compare(bytes, codec.encodeValue({ ...event(row, 'u', 2n ** 63n - 1n), tsMs: 5, snapshot: false }).subarray(FRAME_LENGTH))).toBe(0);
        const decoded = codec.decodeValue(Buffer.concat([codec.encodeValue(event(null, 'd')).subarray(0, FRAME_LENGTH), bytes]));
        expect(decoded.seq).toBe(2n ** 63n - 1n);
        decoded.after!.forEach((value, c) => expectSameValue(value, row[c]!));
      }
    });

    it('avsc decodes our key bytes to the same key values', () => {
      for (const key of [[1n, 2n], [-(2n ** 63n), 2n ** 63n - 1n], ['abc', 0n], [null, Buffer.from([1])]] as SqlValue[][]) {
        const decoded = avscKey.fromBuffer(codec.encodeKey(key)) as Record<string, Record<string, unknown> | null>;
        schemas.keyFieldNames.forEach((field, i) => expectSameValue(unwrap(decoded[field]!), key[i]!));
        expect(codec.decodeKey(codec.encodeKey(key))).toStrictEqual(key.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v)));
      }
    });
  });

  describe('key bytes', () => {
    it('are deterministic: same values, identical bytes, whatever was encoded in between', () => {
      const first = codec.encodeKey([42n, 7n]);
      codec.encodeValue(event([1n, 2n, 3.5, 'x'.repeat(9000), Buffer.alloc(9000)]));
      const again = new ChangeEventCodec(tableSchemas(ITEMS)).encodeKey([42n, 7n]);
      expect(Buffer.compare(first, codec.encodeKey([42n, 7n]))).toBe(0);
      expect(Buffer.compare(first, again)).toBe(0);
    });

    it('differ for different keys', () => {
      const keys: SqlValue[][] = [[1n, 2n], [2n, 1n], [1n, 3n], [12n, 0n], [1n, 20n], ['1', 2n], [1, 2n], [null, 2n]];
      const encoded = keys.map((k) => codec.encodeKey(k).toString('hex'));
      expect(new Set(encoded).size).toBe(keys.length);
    });

    it('are a copy the next encode does not overwrite', () => {
      const first = codec.encodeKey([1n, 1n]);
      const copy = Buffer.from(first);
      codec.encodeKey([999n, 999n]);
      expect(first.equals(copy)).toBe(true);
    });
  });
});

describe('tableSchemas', () => {
  it('names fields validly and in column order, keeping the SQLite names', () => {
    expect(schemas.fieldNames).toEqual(['order_id', 'line', 'price', 'note', '_1st_image']);
    expect(schemas.keyFieldNames).toEqual(['order_id', 'line']);
    const row = (schemas.value.fields as { name: string; type: unknown[] }[]).find((f) => f.name === 'after')!;
    const rowFields = (row.type[1] as { fields: Record<string, unknown>[] }).fields;
    expect(rowFields.map((f) => f['liteshift.column'])).toEqual(ITEMS.columns.map((c) => c.name));
  });

  it("names a column's kind and type, and the table's re-synchronisation epoch, in the fingerprint", () => {
    const base = table('t', [column('a', 'text', 'text'), column('n', 'integer', 'bigint')], ['a']);
    const retyped = table('t', [column('a', 'text', 'text'), column('n', 'text', 'text')], ['a']);
    const fingerprints = [base, retyped, { ...base, resyncEpoch: 1 }, { ...base, resyncEpoch: 2 }].map((t) => tableSchemas(t).fingerprint);
    expect(new Set(fingerprints).size).toBe(4);
  });

  it('gives tables differing only in column names different fingerprints', () => {
    const a = tableSchemas(table('t', [column('a b', 'text', 'text')], ['a b']));
    const b = tableSchemas(table('t', [column('a_b', 'text', 'text')], ['a_b']));
    expect(a.fieldNames).toEqual(b.fieldNames);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(tableSchemas(table('t', [column('a b', 'text', 'text')], ['a b'])).fingerprint).toBe(a.fingerprint);
  });
});

describe('avroFieldNames', () => {
  it('sanitises and dedupes', () => {
    expect(avroFieldNames(['a b', 'a_b', '1x', 'ok'])).toEqual(['a_b', 'a_b_2', '_1x', 'ok']);
  });

  it('never produces a duplicate, even against names that look like its suffixes', () => {
    const names = avroFieldNames(['a_b_2', 'a b', 'a_b', 'a-b', 'é', 'ü', '']);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
  });
});
