/**
 * Avro binary encoding for the change event's fixed shape: records of
 * [null, long, double, string, bytes] unions. Hand-written because it is the hot path
 * (one call per row) and because longs must stay exact above 2^53, which a JavaScript
 * number cannot; avsc checks it against the schema in the tests.
 */

/** Union branches, in this order, for every column of a change event's row and key. */
export const VALUE_UNION = ['null', 'long', 'double', 'string', 'bytes'] as const;
export const enum ValueClass {
  Null = 0,
  Long = 1,
  Double = 2,
  String = 3,
  Bytes = 4,
}

export type SqlValue = null | number | bigint | string | Buffer | Uint8Array;

const SAFE_SMALL = 2 ** 52;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** Bytes per slab: values are views into it, so a million rows cost a few thousand allocations. */
const SLAB = 256 * 1024;

/**
 * Writes values one after another into a slab and hands each out as a view of it: no
 * copy and no allocation per value. A full slab is left to the views that hold it.
 */
export class AvroWriter {
  private buf: Buffer;
  /** Where the value being written starts. */
  private start = 0;
  private pos = 0;

  constructor(private readonly slab = SLAB) {
    this.buf = Buffer.allocUnsafe(slab);
  }

  /** Forgets what was written since the last take (a value abandoned half-way). */
  reset(): void {
    this.pos = this.start;
  }

  /** What was written since the last take or reset; later writes never touch it. */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const written = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.slab, 2 * (written + bytes)));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = written;
  }

  writeLong(value: number | bigint): void {
    if (typeof value === 'number') {
      if (Math.abs(value) < SAFE_SMALL) return this.writeZigZagNumber(value);
      return this.writeZigZagBigInt(BigInt(value));
    }
    if (value >= MIN_SAFE / 2n && value <= MAX_SAFE / 2n) return this.writeZigZagNumber(Number(value));
    this.writeZigZagBigInt(value);
  }

  private writeZigZagNumber(n: number): void {
    let z = n >= 0 ? n * 2 : -n * 2 - 1;
    this.ensure(10);
    while (z >= 0x80) {
      this.buf[this.pos++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    this.buf[this.pos++] = z;
  }

  private writeZigZagBigInt(n: bigint): void {
    let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
    this.ensure(10);
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.pos++] = Number(z);
  }

  writeRaw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  writeBoolean(value: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  writeDouble(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  writeString(value: string): void {
    // Most text is short ASCII: written here, it skips two calls into C++ per string.
    if (value.length < 64) {
      this.ensure(value.length + 1);
      const from = this.pos;
      this.buf[this.pos++] = value.length << 1;
      let i = 0;
      for (; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[this.pos++] = c;
      }
      if (i === value.length) return;
      this.pos = from;
    }
    const length = Buffer.byteLength(value, 'utf8');
    this.writeZigZagNumber(length);
    this.ensure(length);
    this.buf.write(value, this.pos, length, 'utf8');
    this.pos += length;
  }

  writeBytes(value: Uint8Array): void {
    this.writeZigZagNumber(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** One column: the union branch, then the value. */
  writeValue(value: SqlValue): void {
    if (value === null || value === undefined) return this.writeZigZagNumber(ValueClass.Null);
    switch (typeof value) {
      case 'bigint':
        this.writeZigZagNumber(ValueClass.Long);
        return this.writeLong(value);
      case 'number':
        this.writeZigZagNumber(ValueClass.Double);
        return this.writeDouble(value);
      case 'string':
        this.writeZigZagNumber(ValueClass.String);
        return this.writeString(value);
      default:
        this.writeZigZagNumber(ValueClass.Bytes);
        return this.writeBytes(value);
    }
  }
}

export class AvroReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** A long as a number when exact, else as a BigInt. */
  readLong(): number | bigint {
    let z = 0;
    let multiplier = 1;
    const start = this.pos;
    for (let shift = 0; shift < 49; shift += 7) {
      const byte = this.byte();
      z += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      multiplier *= 0x80;
    }
    this.pos = start;
    let big = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = this.byte();
      big |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      if (shift > 63n) throw new Error('Avro long longer than 10 bytes');
    }
    const value = (big >> 1n) ^ -(big & 1n);
    return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
  }

  readInt(): number {
    const value = this.readLong();
    if (typeof value !== 'number') throw new Error('Avro int out of range');
    return value;
  }

  readBoolean(): boolean {
    return this.byte() !== 0;
  }

  readDouble(): number {
    if (this.pos + 8 > this.buf.length) throw new Error('Avro double truncated');
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  readString(): string {
    const length = this.readLength();
    const value = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  readBytes(): Buffer {
    const length = this.readLength();
    const value = Buffer.from(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
    return value;
  }

  /** One column: integers come back as BigInt and reals as number, as better-sqlite3 returns them. */
  readValue(): SqlValue {
    const branch = this.readInt();
    switch (branch) {
      case ValueClass.Null:
        return null;
      case ValueClass.Long: {
        const v = this.readLong();
        return typeof v === 'number' ? BigInt(v) : v;
      }
      case ValueClass.Double:
        return this.readDouble();
      case ValueClass.String:
        return this.readString();
      case ValueClass.Bytes:
        return this.readBytes();
      default:
        throw new Error(`Avro union branch ${branch} out of range`);
    }
  }

  /** Steps over one column as readValue would read it, checking it, without making a value. */
  skipValue(): void {
    const branch = this.readInt();
    switch (branch) {
      case ValueClass.Null:
        return;
      case ValueClass.Long:
        this.readLong();
        return;
      case ValueClass.Double:
        if (this.pos + 8 > this.buf.length) throw new Error('Avro double truncated');
        this.pos += 8;
        return;
      case ValueClass.String:
      case ValueClass.Bytes: {
        const length = this.readLength();
        this.pos += length;
        return;
      }
      default:
        throw new Error(`Avro union branch ${branch} out of range`);
    }
  }

  /** The byte length of a string or bytes value; the reader is left at its first byte. */
  readLength(): number {
    const length = this.readInt();
    if (length < 0 || this.pos + length > this.buf.length) throw new Error('Avro string/bytes length out of range');
    return length;
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw new Error('Avro data truncated');
    return this.buf[this.pos++]!;
  }
}
