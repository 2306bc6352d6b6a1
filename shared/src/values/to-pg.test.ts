import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { SqlValue } from '../avro/binary.js';
import type { ValueKind } from '../schema/model.js';
import { Rejection, decimalParts, epochText, sqliteRealText, toPgText, type PgTarget } from './to-pg.js';

function accepted(kind: ValueKind, value: SqlValue, pgType: string | PgTarget = ''): string | null {
  const out = toPgText(kind, value, pgType);
  if (out instanceof Rejection) throw new Error(`unexpectedly rejected: ${out.reason}`);
  return out;
}

function rejected(kind: ValueKind, value: SqlValue, pgType: string | PgTarget = ''): string {
  const out = toPgText(kind, value, pgType);
  expect(out).toBeInstanceOf(Rejection);
  const reason = (out as Rejection).reason;
  expect(reason.length).toBeGreaterThan(0);
  return reason;
}

describe('toPgText', () => {
  it('NULL is NULL for every kind', () => {
    for (const kind of ['integer', 'real', 'numeric', 'text', 'blob', 'boolean', 'timestamp', 'timestamptz', 'date', 'time'] as const) {
      expect(toPgText(kind, null)).toBeNull();
    }
  });

  describe('integer', () => {
    it('takes BigInt exactly, at both ends of the bigint range', () => {
      expect(accepted('integer', 2n ** 63n - 1n)).toBe('9223372036854775807');
      expect(accepted('integer', -(2n ** 63n))).toBe('-9223372036854775808');
      expect(accepted('integer', 0n)).toBe('0');
    });

    it('takes integral numbers', () => {
      expect(accepted('integer', 42)).toBe('42');
      expect(accepted('integer', -3)).toBe('-3');
    });

    it('takes integer text, trimmed', () => {
      expect(accepted('integer', '  42 ')).toBe('42');
      expect(accepted('integer', '-7')).toBe('-7');
      expect(accepted('integer', '+7')).toBe('7');
      expect(accepted('integer', '007')).toBe('7');
    });

    it('refuses a real with a fraction', () => {
      expect(rejected('integer', 1.5)).toMatch(/1\.5 is not an integer/);
    });

    it('refuses integral numbers outside bigint', () => {
      rejected('integer', 1e20);
      rejected('integer', -1e19);
      rejected('integer', Number.POSITIVE_INFINITY);
      rejected('integer', Number.NaN);
    });

    it('refuses text that is not an integer, or is out of range', () => {
      expect(rejected('integer', 'abc')).toMatch(/"abc" is not an integer/);
      rejected('integer', '1.5');
      rejected('integer', '');
      expect(rejected('integer', '9223372036854775808')).toMatch(/out of bigint range/);
    });

    it('refuses blobs', () => {
      rejected('integer', Buffer.from([1]));
    });
  });

  describe('real', () => {
    it('takes numbers, including the special values PostgreSQL spells its own way', () => {
      expect(accepted('real', 1.5)).toBe('1.5');
      expect(accepted('real', 1e21)).toBe('1e+21');
      expect(accepted('real', Number.NaN)).toBe('NaN');
      expect(accepted('real', Number.POSITIVE_INFINITY)).toBe('Infinity');
      expect(accepted('real', Number.NEGATIVE_INFINITY)).toBe('-Infinity');
    });

    it('takes integers and numeric text', () => {
      expect(accepted('real', 2n ** 62n)).toBe('4611686018427387904');
      expect(accepted('real', ' 3.25 ')).toBe('3.25');
      expect(accepted('real', '1e-3')).toBe('1e-3');
    });

    it('refuses text that is not a number, and blobs', () => {
      expect(rejected('real', 'abc')).toMatch(/not a number/);
      rejected('real', Buffer.from('1'));
    });

    it('refuses numeric text beyond double precision, which COPY would refuse', () => {
      expect(rejected('real', '1e400')).toMatch(/double precision/);
    });
  });

  describe('numeric', () => {
    it('takes numbers that fit numeric(p,s) as they are', () => {
      expect(accepted('numeric', 123.45, 'numeric(5,2)')).toBe('123.45');
      expect(accepted('numeric', '-999.99', 'numeric(5,2)')).toBe('-999.99');
      expect(accepted('numeric', 99999n, 'numeric(5,0)')).toBe('99999');
      expect(accepted('numeric', '1e2', 'numeric(5,2)')).toBe('1e2');
      expect(accepted('numeric', '1.500', 'numeric(5,2)')).toBe('1.500');
    });

    it('refuses digits PostgreSQL would round away, which would change the value', () => {
      expect(rejected('numeric', 123.456, 'numeric(5,2)')).toMatch(/more than 2 decimal place\(s\)/);
      rejected('numeric', '0.001', 'numeric(5,2)');
      rejected('numeric', 0.1 + 0.2, 'numeric(10,2)');
      rejected('numeric', '1e-3', 'numeric(5,2)');
    });

    it('refuses numbers whose integer part overflows numeric(p,s)', () => {
      expect(rejected('numeric', 12345.6, 'numeric(5,2)')).toMatch(/12345\.6 overflows numeric\(5,2\)/);
      rejected('numeric', 1000, 'numeric(5,2)');
      rejected('numeric', 100000n, 'numeric(5,0)');
      rejected('numeric', '1e3', 'numeric(5,2)');
    });

    it('refuses numbers that would overflow once rounded to the scale (never taken at all)', () => {
      // numeric(5,2) would round 999.995 to 1000.00, which has four integer digits.
      rejected('numeric', 999.995, 'numeric(5,2)');
      rejected('numeric', '-999.999', 'numeric(5,2)');
      rejected('numeric', '9.5', 'numeric(1,0)');
      expect(accepted('numeric', '999.99', 'numeric(5,2)')).toBe('999.99');
      expect(accepted('numeric', '0.99', 'numeric(2,2)')).toBe('0.99');
      expect(accepted('numeric', '9', 'numeric(1,0)')).toBe('9');
    });

    it('unconstrained numeric takes any finite number', () => {
      expect(accepted('numeric', 2n ** 63n - 1n, 'numeric')).toBe('9223372036854775807');
      expect(accepted('numeric', 1e300, 'numeric')).toBe('1e+300');
    });

    it('refuses infinities, NaN, text and blobs', () => {
      rejected('numeric', Number.POSITIVE_INFINITY, 'numeric');
      rejected('numeric', Number.NaN, 'numeric');
      rejected('numeric', 'twelve', 'numeric');
      rejected('numeric', Buffer.from([1]), 'numeric');
    });
  });

  describe('text', () => {
    it('takes text as is, numbers as SQLite writes them', () => {
      expect(accepted('text', 'héllo\ttab\nline')).toBe('héllo\ttab\nline');
      expect(accepted('text', '')).toBe('');
      expect(accepted('text', 42n)).toBe('42');
      expect(accepted('text', 1.5)).toBe('1.5');
      expect(accepted('text', 2.0)).toBe('2.0');
    });

    it('refuses a NUL byte, saying why', () => {
      expect(rejected('text', 'a\u0000b')).toMatch(/NUL/);
    });

    it('takes a UTF-8 blob as its text', () => {
      expect(accepted('text', Buffer.from('naïve 😀', 'utf8'))).toBe('naïve 😀');
    });

    it('refuses a blob that is not UTF-8, or holds NUL', () => {
      expect(rejected('text', Buffer.from([0x61, 0xff, 0xfe]))).toMatch(/not valid UTF-8/);
      expect(rejected('text', Buffer.from([0xc3]))).toMatch(/UTF-8/);
      expect(rejected('text', Buffer.from([0x61, 0x00]))).toMatch(/NUL/);
    });
  });

  describe('blob', () => {
    it('writes bytea hex', () => {
      expect(accepted('blob', Buffer.from([0x00, 0xff, 0x10]))).toBe('\\x00ff10');
      expect(accepted('blob', Buffer.alloc(0))).toBe('\\x');
      expect(accepted('blob', new Uint8Array([1, 2]))).toBe('\\x0102');
    });

    it('reads only the bytes of a view into a larger buffer', () => {
      const view = Buffer.from('xxab yy').subarray(2, 4);
      expect(accepted('blob', view)).toBe('\\x6162');
    });

    it('stores text and numbers as their UTF-8 bytes', () => {
      expect(accepted('blob', 'ab')).toBe('\\x6162');
      expect(accepted('blob', 5n)).toBe('\\x35');
    });
  });

  describe('boolean', () => {
    it.each<[SqlValue, string]>([
      [1n, 't'],
      [0n, 'f'],
      [1, 't'],
      [0, 'f'],
      ['t', 't'],
      ['yes', 't'],
      [' TRUE ', 't'],
      ['on', 't'],
      ['f', 'f'],
      ['no', 'f'],
      ['0', 'f'],
      ['OFF', 'f'],
    ])('%s → %s', (value, expected) => {
      expect(accepted('boolean', value)).toBe(expected);
    });

    it.each<SqlValue>([2n, -1n, 0.5, 'maybe', '', Buffer.from([1])])('refuses %s', (value) => {
      expect(rejected('boolean', value)).toMatch(/not a boolean/);
    });
  });

  describe('timestamp', () => {
    it.each(['2024-01-01 10:00:00', '2024-01-01T10:00:00.123456', '2024-01-01', '2024-01-01 10:00', '2024-02-29 00:00:00', '2000-02-29', '2024-01-01 24:00:00', '9999-12-31 23:59:59'])(
      'takes %s',
      (value) => {
        expect(accepted('timestamp', value)).toBe(value);
      },
    );

    it('trims', () => {
      expect(accepted('timestamp', ' 2024-01-01 10:00:00 ')).toBe('2024-01-01 10:00:00');
    });

    it.each([
      '2023-02-30 00:00:00',
      '2023-02-29',
      '1900-02-29',
      '0000-01-01 00:00:00',
      '2024-13-01',
      '2024-01-01 25:00:00',
      '2024-01-01 24:00:01',
      '2024-01-01 10:60:00',
      // the 19-character shape checked without the regular expression
      '1900-02-29 00:00:00',
      '2100-02-29 12:00:00',
      '2024-04-31 00:00:00',
      '2024-0a-01 10:00:00',
      '2024-01-01 1a:00:00',
      '2024-01-01 10-00:00',
      '2024-01-01_10:00:00',
      '2024-01-01 10:00:6¹',
      'yesterday',
      '2024/01/01',
      '',
    ])('refuses %j', (value) => {
      expect(rejected('timestamp', value)).toMatch(/ISO-8601/);
    });

    it('refuses numbers unless the column holds epochs', () => {
      rejected('timestamp', 1_700_000_000n);
      rejected('timestamp', 1.5);
    });

    it('reads epoch seconds and milliseconds as UTC, without a JavaScript number on the way', () => {
      expect(accepted('timestamp', 1_700_000_000n, { pgType: 'timestamp', epoch: 'seconds' })).toBe('2023-11-14 22:13:20');
      expect(accepted('timestamp', 1_700_000_000_123n, { pgType: 'timestamp', epoch: 'milliseconds' })).toBe('2023-11-14 22:13:20.123');
      expect(accepted('timestamp', 0n, { pgType: 'timestamp', epoch: 'seconds' })).toBe('1970-01-01 00:00:00');
      expect(accepted('timestamp', -1n, { pgType: 'timestamp', epoch: 'milliseconds' })).toBe('1969-12-31 23:59:59.999');
      expect(accepted('timestamptz', 86_400n, { pgType: 'timestamptz', epoch: 'seconds' })).toBe('1970-01-02 00:00:00+00');
      // ISO text in the same column still reads as ISO text.
      expect(accepted('timestamp', '2024-01-01 10:00:00', { pgType: 'timestamp', epoch: 'seconds' })).toBe('2024-01-01 10:00:00');
    });

    it('refuses epochs beyond the year 9999 and reals', () => {
      expect(rejected('timestamp', 2n ** 62n, { pgType: 'timestamp', epoch: 'seconds' })).toMatch(/epoch/);
      rejected('timestamp', 1.5, { pgType: 'timestamp', epoch: 'seconds' });
    });
  });

  describe('timestamptz', () => {
    it.each(['2024-01-01T10:00:00Z', '2024-01-01 10:00:00+02:00', '2024-01-01 10:00:00.5-0530', '2024-01-01 10:00:00 +01', '2024-01-01 10:00:00'])(
      'takes %s',
      (value) => {
        expect(accepted('timestamptz', value)).toBe(value);
      },
    );

    it.each(['2024-02-30T10:00:00Z', '0000-01-01T00:00:00Z', '2024-01-01T10:00:00 CET'])('refuses %s', (value) => {
      rejected('timestamptz', value);
    });
  });

  describe('date', () => {
    it('takes ISO dates', () => {
      expect(accepted('date', '2024-02-29')).toBe('2024-02-29');
    });

    it.each(['2023-02-30', '0000-01-01', '2024-1-1', '2024-01-01 10:00:00', '2024-04-31', '2024-0a-01', '2024/01/01', '2024-01-0¹'])('refuses %s', (value) => {
      expect(rejected('date', value)).toMatch(/date/);
    });

    it('refuses numbers', () => {
      rejected('date', 20240101n);
    });

    it('reads whole-day epochs as dates, and refuses an epoch with a time of day', () => {
      expect(accepted('date', 19_723n * 86_400n, { pgType: 'date', epoch: 'seconds' })).toBe('2024-01-01');
      expect(rejected('date', 19_723n * 86_400n + 1n, { pgType: 'date', epoch: 'seconds' })).toMatch(/not a whole day/);
    });
  });

  describe('time', () => {
    it.each(['10:00', '10:00:00', '23:59:59.999', '24:00:00'])('takes %s', (value) => {
      expect(accepted('time', value)).toBe(value);
    });

    it.each(['25:00', '10:60', '24:00:01', '10', 'noon'])('refuses %s', (value) => {
      expect(rejected('time', value)).toMatch(/time/);
    });
  });
});

describe('toPgText with the narrower types a --cast may choose', () => {
  it('checks integer ranges of integer and smallint, and keeps bigint exact', () => {
    expect(accepted('integer', 2n ** 31n - 1n, 'integer')).toBe('2147483647');
    expect(rejected('integer', 2n ** 31n, 'integer')).toMatch(/out of integer range/);
    expect(rejected('integer', -32769n, 'smallint')).toMatch(/out of smallint range/);
    expect(accepted('integer', '9223372036854775807', 'bigint')).toBe('9223372036854775807');
  });

  it('checks the length of varchar(n) in characters, not bytes', () => {
    expect(accepted('text', 'héllo', 'varchar(5)')).toBe('héllo');
    expect(accepted('text', '😀😀', 'varchar(2)')).toBe('😀😀');
    expect(rejected('text', 'toolong', 'varchar(3)')).toMatch(/7 characters do not fit varchar\(3\)/);
  });

  it('takes JSON text for json and refuses anything else', () => {
    expect(accepted('text', '{"a": [1, 2.5, null]}', 'json')).toBe('{"a": [1, 2.5, null]}');
    expect(rejected('text', '{a: 1}', 'json')).toMatch(/not JSON/);
    expect(rejected('text', '"\\ud800"', 'json')).toMatch(/surrogate/);
    expect(accepted('text', '"\\ud83d\\ude00"', 'json')).toBe('"\\ud83d\\ude00"');
  });

  it('refuses integers that double precision cannot hold exactly', () => {
    expect(accepted('real', 2n ** 53n)).toBe('9007199254740992');
    expect(rejected('real', 2n ** 53n + 1n)).toMatch(/lose digits/);
  });

  it('says text read as bytes is not UTF-8 (a column read with CAST(x AS BLOB))', () => {
    expect(rejected('text', Buffer.from([0x61, 0xff, 0x62]))).toMatch(/3 byte\(s\) that are not valid UTF-8/);
    expect(accepted('text', Buffer.from('ok', 'utf8'))).toBe('ok');
  });
});

describe('epochText', () => {
  it('writes UTC as SQLite does, with milliseconds only when there are any', () => {
    expect(epochText(1_700_000_000n, 'seconds')).toBe('2023-11-14 22:13:20');
    expect(epochText(1_700_000_000_010n, 'milliseconds')).toBe('2023-11-14 22:13:20.010');
    expect(epochText(253_402_300_800n, 'seconds')).toBeNull();
    expect(epochText(-62_135_596_800n, 'seconds')).toBe('0001-01-01 00:00:00');
  });
});

describe('sqliteRealText', () => {
  const db = new Database(':memory:');
  afterAll(() => db.close());
  const cast = db.prepare('SELECT CAST(? AS TEXT) AS t');

  it.each([1.0, 0.1, 1e20, 1.5e-7, 123456789012345.0, -2.5, 1e-5, 100.0, 0.0001, 3.14159265358979, 1e100, -1e-100, 0.5, 12.375, 1 / 7, 0.1 + 0.2, 1e16, 1e17, 2 ** 53, 123456.78901234567])(
    'matches SQLite CAST(%s AS TEXT)',
    (value) => {
      const sqlite = (cast.get(value) as { t: string }).t;
      expect(sqliteRealText(value)).toBe(sqlite);
    },
  );

  it('spells the SQLite forms exactly', () => {
    expect(sqliteRealText(1)).toBe('1.0');
    expect(sqliteRealText(1e20)).toBe('1.0e+20');
    expect(sqliteRealText(1.5e-7)).toBe('1.5e-07');
    expect(sqliteRealText(1e100)).toBe('1.0e+100');
    expect(sqliteRealText(-2.5)).toBe('-2.5');
    expect(sqliteRealText(-0)).toBe('0.0');
  });

  it('always reads back as the exact double (17 digits where 15 do not)', () => {
    for (let i = 0; i < 2000; i++) {
      const n = (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 60 - 30);
      expect(Number(sqliteRealText(n))).toBe(n);
    }
    expect(sqliteRealText(1 / 3)).toBe('0.33333333333333331');
  });

  it('names the non-finite values', () => {
    expect(sqliteRealText(Number.POSITIVE_INFINITY)).toBe('Inf');
    expect(sqliteRealText(Number.NEGATIVE_INFINITY)).toBe('-Inf');
    expect(sqliteRealText(Number.NaN)).toBe('NaN');
  });
});

describe('decimalParts', () => {
  it.each<[string, { negative: boolean; integer: string; fraction: string }]>([
    ['1.50', { negative: false, integer: '1', fraction: '50' }],
    ['-0.25', { negative: true, integer: '0', fraction: '25' }],
    ['.5', { negative: false, integer: '0', fraction: '5' }],
    ['1e3', { negative: false, integer: '1000', fraction: '' }],
    ['1.5e-3', { negative: false, integer: '0', fraction: '0015' }],
    ['+12.5E+1', { negative: false, integer: '125', fraction: '' }],
  ])('%s', (text, parts) => {
    expect(decimalParts(text)).toEqual(parts);
  });
});
