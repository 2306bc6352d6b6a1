import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ColumnModel, ValueKind } from '@liteshift/shared';
import { ByteBuffer, canonical } from '@liteshift/shared';
import { checksumText, doubleHex, pgChecksumField, pgChecksumText, writeChecksumField } from './checksum.js';

function column(kind: ValueKind, name = 'c'): ColumnModel {
  return { name, declaredType: '', notNull: false, sqliteDefault: null, kind, pgType: kind, pgDefault: null, identity: false, reason: '' };
}

describe('checksumText: one form per type, whatever text the value arrived as', () => {
  it('reals by their bits: two spellings of one double agree, neighbours do not', () => {
    // JavaScript prints this double with 16 digits, PostgreSQL with 17.
    expect(checksumText(column('real'), '100000000000119800')).toBe(checksumText(column('real'), '1.0000000000011981e+17'));
    expect(checksumText(column('real'), '0.1')).not.toBe(checksumText(column('real'), '0.10000000000000002'));
    expect(doubleHex(1.5)).toBe('3ff8000000000000');
    expect(doubleHex(Number('NaN'))).toBe('7ff8000000000000');
    expect(checksumText(column('real'), 'Infinity')).toBe('7ff0000000000000');
  });

  it('numerics without the scale PostgreSQL pads them to', () => {
    expect(checksumText(column('numeric'), '0')).toBe('0');
    expect(checksumText(column('numeric'), '1.50')).toBe('1.5');
    expect(checksumText(column('numeric'), '12.30')).toBe(checksumText(column('numeric'), '12.3'));
  });

  it('timestamps and times as PostgreSQL prints them', () => {
    expect(checksumText(column('timestamp'), '2019-08-08 08:15:30')).toBe('2019-08-08 08:15:30');
    expect(checksumText(column('timestamp'), '2019-08-08T08:15:30.250')).toBe('2019-08-08 08:15:30.25');
    expect(checksumText(column('timestamp'), '2019-08-08')).toBe('2019-08-08 00:00:00');
    expect(checksumText(column('timestamptz'), '2024-01-01T12:00:00+02:00')).toBe('2024-01-01 10:00:00+00');
    // Naive text is UTC (--timestamps utc): the same text as the parse gives, without the parse.
    for (const naive of ['2024-01-01 12:00:00', '2024-02-29 23:59:59', '2024-01-01 12:00:00.250', '2024-01-01T12:00:00', '2024-01-01']) {
      expect(checksumText(column('timestamptz'), naive), naive).toBe(canonical('timestamptz', naive));
    }
    expect(checksumText(column('time'), '08:30')).toBe('08:30:00');
    expect(checksumText(column('time'), '08:30:00')).toBe('08:30:00');
  });

  it('leaves NULL, refused values and the other types alone', () => {
    expect(checksumText(column('timestamp'), null)).toBeNull();
    expect(checksumText(column('real'), '\u0000rejected: x')).toBe('\u0000rejected: x');
    expect(checksumText(column('text'), ' a\tb ')).toBe(' a\tb ');
    expect(checksumText(column('blob'), '\\x00ff')).toBe('\\x00ff');
  });
});

describe('checksumText of bytea', () => {
  const bytea = (): ColumnModel => ({ ...column('blob'), pgType: 'bytea' });
  it('keeps the hex of short values and takes the md5 of long ones, as pgChecksumText does', () => {
    const short = Buffer.alloc(64, 7);
    const long = Buffer.alloc(65, 7);
    expect(checksumText(bytea(), `\\x${short.toString('hex')}`)).toBe(`\\x${short.toString('hex')}`);
    expect(checksumText(bytea(), `\\x${long.toString('hex')}`)).toBe(`md5:${createHash('md5').update(long).digest('hex')}`);
    expect(pgChecksumText(bytea())).toBe(`CASE WHEN octet_length(t."c") > 64 THEN 'md5:' || md5(t."c") ELSE t."c"::text END`);
  });
});

describe('writeChecksumField', () => {
  const field = (text: string | null): string => {
    const out = new ByteBuffer(4);
    writeChecksumField(out, text);
    return out.bytes().toString('utf8');
  };

  it('length-prefixes in bytes, so no value can pass for two', () => {
    expect(field(null)).toBe('~');
    expect(field('é')).toBe('2:é');
    // the length is UTF-8 bytes, as PostgreSQL's octet_length counts them, short or long
    for (const text of ['', 'a', 'ü', '€', '🍮', 'x🍮y', 'a'.repeat(300), 'x'.repeat(100) + 'é', '日本'.repeat(40), 'crème brûlée'.repeat(9)]) {
      expect(field(text)).toBe(`${Buffer.byteLength(text, 'utf8')}:${text}`);
    }
    // a lone surrogate is hashed as U+FFFD, as the text PostgreSQL received would hold it
    expect(field('a\ud800b')).toBe('5:a\ufffdb');
    expect(field(`${'a'.repeat(100)}\ud800`)).toBe(`103:${'a'.repeat(100)}\ufffd`);
    expect(field('1:a') + field('')).not.toBe(field('1') + field('a'));
  });
});

describe('the PostgreSQL side', () => {
  it('computes the same forms in SQL', () => {
    expect(pgChecksumText(column('real', 'w'))).toBe(`encode(float8send(t."w"::float8), 'hex')`);
    expect(pgChecksumText(column('boolean', 'b'))).toBe(`CASE WHEN t."b" THEN 't' ELSE 'f' END`);
    expect(pgChecksumText(column('timestamptz', 'at'))).toContain(`AT TIME ZONE 'UTC'`);
    expect(pgChecksumText(column('text', 'x'))).toBe('t."x"::text');
    expect(pgChecksumField(column('text', 'x'))).toBe(`CASE WHEN t."x" IS NULL THEN '~' ELSE octet_length(t."x"::text)::text || ':' || t."x"::text END`);
  });
});
