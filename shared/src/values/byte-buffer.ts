import { isUtf8 } from 'node:buffer';

/**
 * Bytes built straight into one growing Buffer: the loader's COPY data (text or binary),
 * the verifier's checksum input. Strings joined per row, then flattened and encoded, cost
 * more than the work PostgreSQL or the hash does with the bytes.
 */
export class ByteBuffer {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  /** What was written: a view, valid until the next write. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Drops everything written after `length` (a row abandoned half-way). */
  truncate(length: number): void {
    this.pos = length;
  }

  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A line already in COPY text (the general path's copyRow). */
  text(line: string): void {
    this.ensure(Buffer.byteLength(line));
    this.pos += this.buf.write(line, this.pos);
  }

  /** `s` when every character of it is ASCII (then true); else nothing is written. */
  tryAscii(s: string): boolean {
    if (s.length > 64) {
      // Long text (a blob's hex, say) natively: it is ASCII when its UTF-8 is one byte a character.
      this.ensure(s.length * 3);
      const written = this.buf.write(s, this.pos, 'utf8');
      if (written !== s.length) return false;
      this.pos += written;
      return true;
    }
    this.ensure(s.length);
    const start = this.pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = start;
        return false;
      }
      this.buf[this.pos++] = c;
    }
    return true;
  }

  /** ASCII that needs no escaping: digits, t/f, \N. */
  ascii(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  /** Bytes that need no escaping (checked by the caller), copied as they are. */
  copy(src: Uint8Array, start: number, end: number): void {
    this.ensure(end - start);
    // A loop beats a native copy call for short runs (dates, timestamps, most text).
    if (end - start > 64) {
      this.buf.set(src.subarray(start, end), this.pos);
      this.pos += end - start;
      return;
    }
    for (let i = start; i < end; i++) this.buf[this.pos++] = src[i]!;
  }

  /** Big-endian binary integers and doubles (COPY's binary format). */
  int16(n: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(n, this.pos);
  }

  int32(n: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(n, this.pos);
  }

  /** A safe integer as 64 bits. */
  int64(n: number): void {
    this.ensure(8);
    const high = Math.floor(n / 2 ** 32);
    this.buf.writeInt32BE(high, this.pos);
    this.pos = this.buf.writeUInt32BE(n - high * 2 ** 32, this.pos + 4);
  }

  int64Big(n: bigint): void {
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(n, this.pos);
  }

  float64(x: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(x, this.pos);
  }

  integer(n: number): void {
    this.ensure(21);
    if (n < 0) {
      this.buf[this.pos++] = 0x2d;
      n = -n;
    }
    let width = 1;
    for (let m = n; m >= 10; m = Math.floor(m / 10)) width++;
    let at = (this.pos += width);
    do {
      this.buf[--at] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /**
   * UTF-8 bytes as a binary COPY field: their length, then the bytes as they are. False,
   * with nothing written, when they hold a NUL or are not UTF-8 (as escaped()).
   */
  utf8Field(src: Buffer, start: number, end: number): boolean {
    let high = false;
    for (let i = start; i < end; i++) {
      const b = src[i]!;
      if (b === 0) return false;
      if (b >= 0x80) high = true;
    }
    if (high && !isUtf8(src.subarray(start, end))) return false;
    this.int32(end - start);
    this.copy(src, start, end);
    return true;
  }

  /**
   * UTF-8 bytes as a COPY field, escaping backslash, tab, newline and carriage return.
   * False when they hold a NUL or are not UTF-8: the general path decides about those.
   */
  escaped(src: Buffer, start: number, end: number): boolean {
    this.ensure((end - start) * 2);
    const buf = this.buf;
    let pos = this.pos;
    let high = false;
    for (let i = start; i < end; i++) {
      const b = src[i]!;
      if (b >= 0x20) {
        if (b === 0x5c) {
          buf[pos++] = 0x5c;
          buf[pos++] = 0x5c;
          continue;
        }
        if (b >= 0x80) high = true;
        buf[pos++] = b;
      } else if (b === 0x09) {
        buf[pos++] = 0x5c;
        buf[pos++] = 0x74;
      } else if (b === 0x0a) {
        buf[pos++] = 0x5c;
        buf[pos++] = 0x6e;
      } else if (b === 0x0d) {
        buf[pos++] = 0x5c;
        buf[pos++] = 0x72;
      } else if (b === 0) {
        return false;
      } else {
        buf[pos++] = b;
      }
    }
    if (high && !isUtf8(src.subarray(start, end))) return false;
    this.pos = pos;
    return true;
  }
}
