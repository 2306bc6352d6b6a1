import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { SqlValue } from '../avro/binary.js';
import type { ColumnProfile, TemporalForm, ValueKind } from '../schema/model.js';
import { booleanFormOf, DEFAULT_TEMPORAL_FORM, temporalFormOf } from '../sqlite/stored-forms.js';
import { canonical } from './canonical.js';
import { Rejection, toPgText } from './to-pg.js';
import { sqliteWriteExpr, toSqliteValue, type SqliteColumn } from './to-sqlite.js';

function back(column: SqliteColumn, text: string | null): SqlValue {
  const out = toSqliteValue(column, text);
  if (out instanceof Rejection) throw new Error(`unexpectedly refused: ${out.reason}`);
  return out;
}

function refused(column: SqliteColumn, text: string): string {
  const out = toSqliteValue(column, text);
  expect(out, String(out)).toBeInstanceOf(Rejection);
  return (out as Rejection).reason;
}

const profile = (p: Partial<ColumnProfile>): ColumnProfile => ({ rows: 1, misfits: 0, detailed: true, nulls: 0, integers: 0, reals: 0, texts: 0, blobs: 0, ...p });
const form = (f: Partial<TemporalForm>): TemporalForm => ({ ...DEFAULT_TEMPORAL_FORM, ...f });

describe('temporalFormOf: the form the application wrote its date-times in', () => {
  it("SQLite's datetime(): space, seconds, no fraction, no zone", () => {
    expect(temporalFormOf(['2024-01-02 03:04:05', '2025-12-31 23:59:59'])).toEqual(form({}));
  });

  it("JavaScript's toISOString(): 'T', three digits always, 'Z'", () => {
    expect(temporalFormOf(['2024-01-02T03:04:05.000Z', '2024-01-02T03:04:05.120Z'])).toEqual(form({ separator: 'T', fractionDigits: 3, fractionAlways: true, zone: 'Z' }));
  });

  it("Python's isoformat(): microseconds only when not zero, '+00:00'", () => {
    expect(temporalFormOf(['2024-01-02T03:04:05+00:00', '2024-01-02T03:04:05.123456+00:00'])).toEqual(
      form({ separator: 'T', fractionDigits: 6, fractionAlways: false, zone: '+00:00' }),
    );
  });

  it('minutes only, dates only, and the form most values share', () => {
    expect(temporalFormOf(['2024-01-02 03:04', '2024-01-02 05:06'])).toMatchObject({ seconds: false });
    expect(temporalFormOf(['2024-01-02', '2024-01-03'])).toMatchObject({ dateOnly: true });
    expect(temporalFormOf(['2024-01-02T03:04:05', '2024-01-02T03:04:06', '2024-01-02 03:04:07'])).toMatchObject({ separator: 'T' });
    expect(temporalFormOf(['10:00', '11:30'], true)).toMatchObject({ seconds: false });
  });

  it('null when nothing reads as a date-time', () => {
    expect(temporalFormOf(['soon', 'never'])).toBeNull();
    expect(temporalFormOf([])).toBeNull();
  });
});

describe('booleanFormOf: 0/1 or the spelling the application stored', () => {
  it('integers, text spellings, and the missing half of a pair', () => {
    expect(booleanFormOf([1n, 0n, 1n])).toEqual({ type: 'boolean', true: 1, false: 0 });
    expect(booleanFormOf(['t', 'f', 't'])).toEqual({ type: 'boolean', true: 't', false: 'f' });
    expect(booleanFormOf(['TRUE', 'TRUE'])).toEqual({ type: 'boolean', true: 'TRUE', false: 'FALSE' });
    expect(booleanFormOf(['no'])).toEqual({ type: 'boolean', true: 'yes', false: 'no' });
    expect(booleanFormOf([])).toBeNull();
  });
});

describe('toSqliteValue: PostgreSQL text output back into what SQLite stored', () => {
  const col = (kind: ValueKind, declaredType: string, extra: Partial<SqliteColumn> = {}): SqliteColumn => ({ kind, declaredType, ...extra });

  it('integers as 64-bit integers, beyond 2^53 exactly', () => {
    expect(back(col('integer', 'INTEGER'), '9223372036854775807')).toBe(2n ** 63n - 1n);
    expect(back(col('integer', 'INTEGER'), null)).toBeNull();
  });

  it('booleans as 0/1, or as the spelling the column held', () => {
    expect(back(col('boolean', 'BOOLEAN'), 't')).toBe(1n);
    expect(back(col('boolean', 'BOOLEAN'), 'f')).toBe(0n);
    expect(back(col('boolean', 'BOOLEAN', { storedForm: { type: 'boolean', true: 'true', false: 'false' } }), 'f')).toBe('false');
  });

  it('date-times in the text form of the column, a timestamptz as its UTC time', () => {
    const datetime = col('timestamp', 'DATETIME');
    expect(back(datetime, '2024-01-02 03:04:05')).toBe('2024-01-02 03:04:05');
    expect(back(datetime, '2024-01-02 03:04:05.25')).toBe('2024-01-02 03:04:05.25');
    const js = col('timestamptz', 'TEXT', { storedForm: form({ separator: 'T', fractionDigits: 3, fractionAlways: true, zone: 'Z' }) });
    expect(back(js, '2024-01-02 03:04:05+00')).toBe('2024-01-02T03:04:05.000Z');
    // Never cut to the form's digits: a value PostgreSQL holds in microseconds keeps them.
    expect(back(js, '2024-01-02 03:04:05.123456+00')).toBe('2024-01-02T03:04:05.123456Z');
    // A session in another zone still gives the UTC time (#17: naive SQLite text read as UTC).
    expect(back(col('timestamptz', 'DATETIME'), '2024-01-02 05:04:05+02')).toBe('2024-01-02 03:04:05');
    const python = col('timestamp', 'DATETIME', { storedForm: form({ separator: 'T', fractionDigits: 6, zone: '+00:00' }) });
    expect(back(python, '2024-01-02 03:04:05')).toBe('2024-01-02T03:04:05+00:00');
    expect(back(python, '2024-01-02 03:04:05.5')).toBe('2024-01-02T03:04:05.500000+00:00');
    expect(back(col('timestamp', 'DATETIME', { storedForm: form({ dateOnly: true }) }), '2024-01-02 00:00:00')).toBe('2024-01-02');
    expect(back(col('timestamp', 'DATETIME', { storedForm: form({ dateOnly: true }) }), '2024-01-02 10:00:00')).toBe('2024-01-02 10:00:00');
    expect(back(col('timestamp', 'DATETIME'), '0044-03-15 12:00:00')).toBe('0044-03-15 12:00:00');
  });

  it('date-times kept as epochs go back as epochs; a fraction the unit cannot hold is refused', () => {
    expect(back(col('timestamp', 'DATETIME', { epoch: 'seconds' }), '2024-01-02 03:04:05')).toBe(1704164645n);
    expect(back(col('timestamp', 'DATETIME', { epoch: 'milliseconds' }), '2024-01-02 03:04:05.123')).toBe(1704164645123n);
    expect(back(col('date', 'DATE', { epoch: 'seconds' }), '2024-01-02')).toBe(1704153600n);
    expect(refused(col('timestamp', 'DATETIME', { epoch: 'seconds' }), '2024-01-02 03:04:05.5')).toMatch(/fraction of a second/);
  });

  it('refuses what SQLite cannot hold as the column declares', () => {
    expect(refused(col('timestamp', 'DATETIME'), 'infinity')).toMatch(/0000 to 9999/);
    expect(refused(col('timestamp', 'DATETIME'), '0044-03-15 00:00:00 BC')).toMatch(/0000 to 9999/);
    expect(refused(col('timestamp', 'DATETIME'), '12024-01-01 00:00:00')).toMatch(/0000 to 9999/);
    expect(refused(col('date', 'DATE'), 'infinity')).toMatch(/DATE/);
    expect(refused(col('real', 'REAL'), 'NaN')).toMatch(/NULL/);
    expect(refused(col('numeric', 'DECIMAL(30,10)'), '12345678901234567890.0123456789')).toMatch(/digits/);
  });

  it('numbers: whole ones as integers, others as REALs, infinities kept', () => {
    expect(back(col('numeric', 'DECIMAL(10,2)'), '5.00')).toBe(5n);
    expect(back(col('numeric', 'DECIMAL(10,2)'), '12.50')).toBe(12.5);
    expect(back(col('real', 'REAL'), 'Infinity')).toBe(Infinity);
    expect(back(col('real', 'REAL'), '0.1')).toBe(0.1);
    // Without a type SQLite keeps what it is given: whole numbers of a column that held integers are integers.
    expect(back(col('real', '', { profile: profile({ integers: 3, reals: 2 }) }), '5')).toBe(5n);
    expect(back(col('real', 'REAL', { profile: profile({ integers: 3, reals: 2 }) }), '5')).toBe(5);
  });

  it('text of a column without a type that also held numbers: the numbers come back as numbers', () => {
    const mixed = col('text', '', { profile: profile({ integers: 5, reals: 1, texts: 3 }) });
    expect(back(mixed, '42')).toBe(42n);
    expect(back(mixed, '1.5')).toBe(1.5);
    expect(back(mixed, '042')).toBe('042');
    expect(back(mixed, 'abc')).toBe('abc');
    expect(back(col('text', 'VARCHAR(10)'), '42')).toBe('42');
  });

  it('bytea as bytes; text that was not UTF-8 goes back as text with the same bytes', () => {
    expect(back(col('blob', 'BLOB'), '\\x00ff41')).toEqual(Buffer.from([0, 0xff, 0x41]));
    const expr = sqliteWriteExpr({ readAs: 'blob', profile: profile({ texts: 3, textNotPg: 1 }) });
    expect(expr).toBe('CAST(? AS TEXT)');
    const db = new Database(':memory:');
    const row = db.prepare(`SELECT typeof(v) AS t, hex(v) AS h FROM (SELECT ${expr} AS v)`).get(Buffer.from([0xff, 0x41])) as { t: string; h: string };
    expect(row).toEqual({ t: 'text', h: 'FF41' });
    db.close();
    expect(sqliteWriteExpr({})).toBe('?');
  });

  it('the verifier reads every value given back as PostgreSQL holds it', () => {
    const cases: [SqliteColumn, string][] = [
      [col('timestamp', 'DATETIME'), '2024-02-29 23:59:59.999999'],
      [col('timestamptz', 'DATETIME'), '2024-02-29 23:59:59.5+00'],
      [col('timestamptz', 'TEXT', { storedForm: form({ separator: 'T', fractionDigits: 3, fractionAlways: true, zone: 'Z' }) }), '1999-12-31 23:59:59+00'],
      [col('time', 'TIME'), '12:34:56.789'],
      [col('time', 'TIME', { storedForm: form({ seconds: false }) }), '12:34:00'],
      [col('date', 'DATE'), '2024-02-29'],
      [col('numeric', 'NUMERIC(12,4)'), '-0.0001'],
      [col('real', 'DOUBLE'), '-1.7976931348623157e+308'],
      [col('boolean', 'BOOL', { storedForm: { type: 'boolean', true: 'yes', false: 'no' } }), 't'],
      [col('blob', 'BLOB'), '\\xdeadbeef'],
    ];
    for (const [column, text] of cases) {
      const value = back(column, text);
      const asPg = toPgText(column.kind, value, column.epoch ? { pgType: '', epoch: column.epoch } : '');
      expect(asPg, `${column.kind} ${text}`).not.toBeInstanceOf(Rejection);
      expect(canonical(column.kind, asPg as string), `${column.kind} ${text} → ${String(value)}`).toBe(canonical(column.kind, text));
    }
  });
});
