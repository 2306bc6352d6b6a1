import { describe, expect, it } from 'vitest';
import type { SqlValue } from '../avro/binary.js';
import type { ValueKind } from '../schema/model.js';
import { canonical } from './canonical.js';
import { Rejection, toPgText } from './to-pg.js';

/** What the verifier compares: PostgreSQL's `col::text` against the loader's conversion of the SQLite value. */
function meet(kind: ValueKind, pgOutput: string, sqliteValue: SqlValue, pgType = ''): void {
  const converted = toPgText(kind, sqliteValue, pgType);
  if (converted instanceof Rejection) throw new Error(`rejected: ${converted.reason}`);
  expect(canonical(kind, converted)).toBe(canonical(kind, pgOutput));
}

describe('canonical', () => {
  it('NULL stays NULL', () => {
    expect(canonical('integer', null)).toBeNull();
    expect(canonical('text', null)).toBeNull();
  });

  describe('timestamp', () => {
    it('a bare date is midnight', () => {
      expect(canonical('timestamp', '2024-01-01')).toBe('2024-01-01 00:00:00');
      meet('timestamp', '2024-01-01 00:00:00', '2024-01-01');
    });

    it('T and space, minutes without seconds', () => {
      meet('timestamp', '2024-03-05 10:20:00', '2024-03-05T10:20');
    });

    it('fractional seconds as PostgreSQL prints them', () => {
      expect(canonical('timestamp', '2024-01-01 10:00:00.500')).toBe('2024-01-01 10:00:00.5');
      meet('timestamp', '2024-01-01 10:00:00.5', '2024-01-01 10:00:00.500');
      meet('timestamp', '2024-01-01 10:00:00', '2024-01-01 10:00:00.000');
      meet('timestamp', '2024-01-01 10:00:00.123457', '2024-01-01 10:00:00.1234567');
    });

    it('rounding to microseconds carries into the next second, minute, day and year', () => {
      meet('timestamp', '2025-01-01 00:00:00', '2024-12-31 23:59:59.9999996');
    });

    it('different instants stay different', () => {
      expect(canonical('timestamp', '2024-01-01 10:00:00.5')).not.toBe(canonical('timestamp', '2024-01-01 10:00:00.05'));
      expect(canonical('timestamp', '2024-01-01')).not.toBe(canonical('timestamp', '2024-01-02'));
    });

    it('years below 100 keep their century', () => {
      expect(canonical('timestamp', '0099-03-01 12:00:00')).toBe('0099-03-01 12:00:00');
      expect(canonical('timestamp', '0001-01-01')).toBe('0001-01-01 00:00:00');
    });
  });

  describe('timestamptz', () => {
    it('an offset and PostgreSQL UTC output meet', () => {
      meet('timestamptz', '2024-01-01 08:00:00+00', '2024-01-01 10:00:00+02:00');
      meet('timestamptz', '2024-01-01 10:00:00+00', '2024-01-01T10:00:00Z');
      meet('timestamptz', '2024-01-01 15:30:00+00', '2024-01-01 10:00:00-0530');
      meet('timestamptz', '2024-01-01 09:00:00.25+00', '2024-01-01 10:00:00.250+01');
    });

    it('an offset can move the date', () => {
      meet('timestamptz', '2023-12-31 23:00:00+00', '2024-01-01 01:00:00+02:00');
    });

    it('the same wall clock in different zones differs', () => {
      expect(canonical('timestamptz', '2024-01-01 10:00:00+02')).not.toBe(canonical('timestamptz', '2024-01-01 10:00:00+03'));
    });
  });

  describe('time', () => {
    it('seconds and fractions as PostgreSQL prints them', () => {
      meet('time', '10:00:00', '10:00');
      meet('time', '10:00:00.5', '10:00:00.500');
      expect(canonical('time', '10:00:00.5')).not.toBe(canonical('time', '10:00:00.05'));
    });
  });

  describe('numeric', () => {
    it.each<[string, string]>([
      ['1.50', '1.5'],
      ['-0.0', '0'],
      ['1e3', '1000'],
      ['0001.2300', '1.23'],
      ['.5', '0.5'],
      ['-.5', '-0.5'],
      ['1.5e-3', '0.0015'],
      ['+7', '7'],
      ['100', '100'],
    ])('%s is %s', (input, expected) => {
      expect(canonical('numeric', input)).toBe(expected);
    });

    it('converted SQLite values meet numeric output', () => {
      meet('numeric', '1.50', 1.5, 'numeric(10,2)');
      meet('numeric', '1000', '1e3', 'numeric');
      meet('numeric', '0', -0, 'numeric');
      meet('numeric', '12345678901234567890', 12345678901234567890n, 'numeric');
    });

    it('different numbers stay different', () => {
      expect(canonical('numeric', '1.5')).not.toBe(canonical('numeric', '-1.5'));
      expect(canonical('numeric', '10')).not.toBe(canonical('numeric', '1'));
      expect(canonical('numeric', '0.01')).not.toBe(canonical('numeric', '0.1'));
    });

    it('NaN', () => {
      expect(canonical('numeric', 'NaN')).toBe(canonical('numeric', 'nan'));
    });
  });

  describe('real', () => {
    it('exponent spellings meet', () => {
      expect(canonical('real', '1e+21')).toBe(canonical('real', '1e21'));
      meet('real', '1e+21', 1e21);
      meet('real', '1', 1.0);
      meet('real', '0.1', 0.1);
      meet('real', '9.223372036854776e+18', 2n ** 63n);
    });

    it('infinities and NaN in both spellings', () => {
      expect(canonical('real', 'Infinity')).toBe('Infinity');
      expect(canonical('real', 'inf')).toBe('Infinity');
      expect(canonical('real', '-Infinity')).toBe('-Infinity');
      expect(canonical('real', '-inf')).toBe('-Infinity');
      expect(canonical('real', 'NaN')).toBe('NaN');
      meet('real', '-Infinity', Number.NEGATIVE_INFINITY);
      meet('real', 'NaN', Number.NaN);
    });

    it('different doubles stay different', () => {
      expect(canonical('real', '0.30000000000000004')).not.toBe(canonical('real', '0.3'));
    });
  });

  describe('integer', () => {
    it('exact beyond 2^53', () => {
      expect(canonical('integer', '9223372036854775807')).toBe('9223372036854775807');
      expect(canonical('integer', '9007199254740993')).not.toBe(canonical('integer', '9007199254740992'));
      meet('integer', '42', ' 42 ');
    });
  });

  describe('bytea', () => {
    it('hex case does not matter', () => {
      expect(canonical('blob', '\\xABCDEF')).toBe('\\xabcdef');
      meet('blob', '\\x00ff', Buffer.from([0, 255]));
      meet('blob', '\\xDEADBEEF', Buffer.from('deadbeef', 'hex'));
    });
  });

  describe('boolean', () => {
    it('t and true meet', () => {
      expect(canonical('boolean', 'true')).toBe('t');
      meet('boolean', 't', 1n);
      meet('boolean', 'f', 'no');
      expect(canonical('boolean', 't')).not.toBe(canonical('boolean', 'f'));
    });
  });

  describe('text and date', () => {
    it('are compared exactly', () => {
      expect(canonical('text', ' A ')).toBe(' A ');
      expect(canonical('text', 'a')).not.toBe(canonical('text', 'A'));
      meet('date', '2024-02-29', '2024-02-29');
    });
  });
});
