import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { ColumnProfile } from './model.js';
import { affinityOf, chooseType, epochUnit, familyOf, isIntegerName, numericParams, type TimestampMode } from './type-mapping.js';

/** A profile as the detailed profiling pass fills it: every count given, the rest zero. */
function profile(counts: Partial<ColumnProfile>): ColumnProfile {
  const base = { integers: 0, reals: 0, texts: 0, blobs: 0, nulls: 0, ...counts };
  const rows = counts.rows ?? base.integers + base.reals + base.texts + base.blobs + base.nulls;
  return { misfits: 0, detailed: true, ...base, rows };
}

describe('affinityOf', () => {
  it.each([
    ['INT', 'INTEGER'],
    ['INTEGER', 'INTEGER'],
    ['bigint', 'INTEGER'],
    ['UNSIGNED BIG INT', 'INTEGER'],
    ['TINYINT UNSIGNED', 'INTEGER'],
    // The INT rule comes first: anything containing "INT" is INTEGER, however it reads.
    ['FLOATING POINT', 'INTEGER'],
    ['POINT', 'INTEGER'],
    ['CHARINT', 'INTEGER'],
    ['VARCHAR(255)', 'TEXT'],
    ['NCHAR(10)', 'TEXT'],
    ['CLOB', 'TEXT'],
    ['text', 'TEXT'],
    ['LONGVARCHAR', 'TEXT'],
    ['BLOB', 'BLOB'],
    ['', 'BLOB'],
    ['   ', 'BLOB'],
    ['REAL', 'REAL'],
    ['FLOAT', 'REAL'],
    ['DOUBLE', 'REAL'],
    ['DOUBLE PRECISION', 'REAL'],
    ['NUMERIC', 'NUMERIC'],
    ['DECIMAL(10,2)', 'NUMERIC'],
    ['BOOLEAN', 'NUMERIC'],
    ['DATETIME', 'NUMERIC'],
    ['DATE', 'NUMERIC'],
    ['YEAR', 'NUMERIC'],
    // "STRING" contains none of the words: NUMERIC, the classic SQLite surprise.
    ['STRING', 'NUMERIC'],
  ])('%j has affinity %s', (declared, expected) => {
    expect(affinityOf(declared)).toBe(expected);
  });

  describe('agrees with SQLite itself', () => {
    const db = new Database(':memory:');
    afterAll(() => db.close());

    /**
     * SQLite's CAST uses the same affinity rules. Casting '1.5' and '2' tells the five
     * affinities apart: INTEGER (1, 2), NUMERIC (1.5, 2), REAL (1.5, 2.0), TEXT, BLOB.
     */
    function sqliteAffinity(declared: string): string {
      const row = db
        .prepare(`SELECT typeof(CAST('1.5' AS ${declared})) AS a, typeof(CAST('2' AS ${declared})) AS b`)
        .get() as { a: string; b: string };
      const pair = `${row.a}/${row.b}`;
      const byPair: Record<string, string> = {
        'integer/integer': 'INTEGER',
        'real/integer': 'NUMERIC',
        'real/real': 'REAL',
        'text/text': 'TEXT',
        'blob/blob': 'BLOB',
      };
      return byPair[pair] ?? pair;
    }

    it.each([
      'INT',
      'TINYINT UNSIGNED',
      'FLOATING POINT',
      'POINT',
      'CHARINT',
      'VARCHAR(255)',
      'LONGVARCHAR',
      'CLOB',
      'BLOB',
      'REAL',
      'FLOAT',
      'DOUBLE PRECISION',
      'NUMERIC',
      'DECIMAL(10,2)',
      'BOOLEAN',
      'DATETIME',
      'YEAR',
      'STRING',
    ])('%s', (declared) => {
      expect(affinityOf(declared)).toBe(sqliteAffinity(declared));
    });
  });
});

describe('familyOf and numericParams', () => {
  it('reads families beyond affinity', () => {
    expect(familyOf('BOOLEAN')).toBe('boolean');
    expect(familyOf('bool')).toBe('boolean');
    expect(familyOf('DATETIME')).toBe('timestamp');
    expect(familyOf('TIMESTAMP(3)')).toBe('timestamp');
    expect(familyOf('timestamptz')).toBe('timestamptz');
    expect(familyOf('DATE')).toBe('date');
    expect(familyOf('TIME')).toBe('time');
    expect(familyOf('DECIMAL(10,2)')).toBe('decimal');
    expect(familyOf('VARCHAR(10)')).toBe('plain');
  });

  it('takes precision and scale only when PostgreSQL can use them', () => {
    expect(numericParams('NUMERIC(10,2)')).toEqual({ precision: 10, scale: 2 });
    expect(numericParams('DECIMAL( 7 )')).toEqual({ precision: 7, scale: 0 });
    expect(numericParams('NUMERIC')).toBeNull();
    expect(numericParams('NUMERIC(2,5)')).toBeNull();
    expect(numericParams('NUMERIC(0)')).toBeNull();
    expect(numericParams('NUMERIC(1001)')).toBeNull();
  });
});

describe('chooseType', () => {
  it('INTEGER holding integers is bigint', () => {
    const choice = chooseType('INTEGER', profile({ integers: 10, nulls: 2 }));
    expect(choice).toMatchObject({ kind: 'integer', pgType: 'bigint' });
  });

  it('INTEGER whose cheap pass found nothing to look into is bigint', () => {
    const choice = chooseType('INTEGER', { rows: 5, misfits: 0, detailed: false, nulls: 0, integers: 0, reals: 0, texts: 0, blobs: 0 });
    expect(choice).toMatchObject({ kind: 'integer', pgType: 'bigint' });
    expect(choice.reason).toContain('INTEGER');
  });

  it('without a profile falls back on the declared type alone', () => {
    expect(chooseType('INTEGER')).toMatchObject({ kind: 'integer', pgType: 'bigint' });
    expect(chooseType('VARCHAR(10)')).toMatchObject({ kind: 'text', pgType: 'text' });
  });

  it('INTEGER holding text becomes text, and the reason says so', () => {
    const choice = chooseType('INTEGER', profile({ integers: 3, texts: 1 }));
    expect(choice).toMatchObject({ kind: 'text', pgType: 'text' });
    expect(choice.reason).toMatch(/INTEGER/);
    expect(choice.reason).toMatch(/1 text/);
  });

  it('INTEGER holding reals becomes double precision', () => {
    const choice = chooseType('INTEGER', profile({ integers: 3, reals: 2 }));
    expect(choice).toMatchObject({ kind: 'real', pgType: 'double precision' });
    expect(choice.reason).toMatch(/2 real/);
  });

  it('a rowid alias is a bigint identity', () => {
    const choice = chooseType('INTEGER', profile({ integers: 4 }), { rowidAlias: true });
    expect(choice).toMatchObject({ kind: 'integer', pgType: 'bigint' });
    expect(choice.reason).toMatch(/rowid alias/);
    expect(choice.reason).toMatch(/identity/);
  });

  describe('BOOLEAN', () => {
    it('holding 0/1 is boolean', () => {
      const choice = chooseType('BOOLEAN', profile({ integers: 7, nulls: 1, booleanMisfits: 0 }));
      expect(choice).toMatchObject({ kind: 'boolean', pgType: 'boolean' });
    });

    it('holding a 2 falls back to bigint and says why', () => {
      const choice = chooseType('BOOLEAN', profile({ integers: 7, booleanMisfits: 1 }));
      expect(choice).toMatchObject({ kind: 'integer', pgType: 'bigint' });
      expect(choice.reason).toMatch(/other than 0\/1/);
    });

    it('holding "yes" text falls back to text', () => {
      const choice = chooseType('BOOL', profile({ integers: 1, texts: 1, booleanMisfits: 1 }));
      expect(choice).toMatchObject({ kind: 'text', pgType: 'text' });
      expect(choice.reason).toMatch(/other than 0\/1/);
    });

    it('holding a real falls back', () => {
      const choice = chooseType('BOOLEAN', profile({ integers: 1, reals: 1 }));
      expect(choice.kind).toBe('real');
    });
  });

  describe('DATETIME, --timestamps naive', () => {
    const naive = { timestamps: 'naive' } as const;
    it('with ISO text is timestamp', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, textMisfits: 0, textWithZone: 0 }), naive);
      expect(choice).toMatchObject({ kind: 'timestamp', pgType: 'timestamp' });
      expect(choice.naiveUtc).toBeUndefined();
    });

    it('whose every value carries a zone is timestamptz', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, nulls: 2, textMisfits: 0, textWithZone: 5 }), naive);
      expect(choice).toMatchObject({ kind: 'timestamptz', pgType: 'timestamptz' });
      expect(choice.reason).toMatch(/time zone/);
    });

    it('where only some values carry a zone is text', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, textMisfits: 0, textWithZone: 2 }), naive);
      expect(choice).toMatchObject({ kind: 'text', pgType: 'text', widened: true });
      expect(choice.reason).toMatch(/2 text values with a time zone among 3 without/);
    });

    it('with text that is not a date is text, and says why', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, textMisfits: 1, textWithZone: 0 }), naive);
      expect(choice).toMatchObject({ kind: 'text', pgType: 'text' });
      expect(choice.reason).toMatch(/1 text value that is not ISO-8601 timestamps/);
    });

    it('holding epoch seconds is timestamp, read as UTC epochs', () => {
      const choice = chooseType('DATETIME', profile({ integers: 5, minInteger: '0', maxInteger: '1700000000', integersLikeYmd: 0 }), naive);
      expect(choice).toMatchObject({ kind: 'timestamp', pgType: 'timestamp', epoch: 'seconds' });
      expect(choice.reason).toMatch(/epochs in seconds \(1970-01-01 to 2023-11-14\)/);
    });

    it('holding epoch milliseconds is timestamp in milliseconds', () => {
      const choice = chooseType('TIMESTAMP', profile({ integers: 5, minInteger: '1600000000000', maxInteger: '1700000000123' }), naive);
      expect(choice).toMatchObject({ kind: 'timestamp', epoch: 'milliseconds' });
    });

    it('holding ISO text and epochs keeps both: each value parses', () => {
      const choice = chooseType('DATETIME', profile({ integers: 2, texts: 3, minInteger: '1', maxInteger: '2', textMisfits: 0, textWithZone: 0 }), naive);
      expect(choice).toMatchObject({ kind: 'timestamp', epoch: 'seconds' });
    });
  });

  describe('DATETIME, --timestamps utc (the default)', () => {
    it('with ISO text without an offset is timestamptz, the clock read as UTC, and the reason says so', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, textMisfits: 0, textWithZone: 0 }));
      expect(choice).toMatchObject({ kind: 'timestamptz', pgType: 'timestamptz', naiveUtc: 'adopt' });
      expect(choice.reason).toMatch(/timestamptz, the clock without an offset read as UTC \(--timestamps naive keeps timestamp\)$/);
      expect(chooseType('TIMESTAMP', profile({ rows: 3 }))).toMatchObject({ kind: 'timestamptz', naiveUtc: 'adopt' });
    });

    it('--timestamps convert: the same type, and an earlier run\'s timestamp column is to be converted', () => {
      expect(chooseType('DATETIME', profile({ texts: 5, textMisfits: 0, textWithZone: 0 }), { timestamps: 'convert' })).toMatchObject({
        kind: 'timestamptz',
        naiveUtc: 'convert',
      });
    });

    it('where only some values carry a zone is timestamptz: those keep their instant, the others are UTC', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, textMisfits: 0, textWithZone: 2 }));
      expect(choice).toMatchObject({ kind: 'timestamptz', naiveUtc: 'adopt' });
      expect(choice.widened).toBeUndefined();
      expect(choice.reason).toMatch(/2 text values with an offset keep their instant/);
    });

    it('whose every value carries a zone is timestamptz, as before (nothing naive to read)', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, textMisfits: 0, textWithZone: 5 }));
      expect(choice).toMatchObject({ kind: 'timestamptz' });
      expect(choice.naiveUtc).toBeUndefined();
    });

    it('holding epochs is timestamptz in their unit', () => {
      expect(chooseType('DATETIME', profile({ integers: 5, minInteger: '0', maxInteger: '1700000000', integersLikeYmd: 0 }))).toMatchObject({
        kind: 'timestamptz',
        epoch: 'seconds',
        naiveUtc: 'adopt',
      });
      expect(chooseType('TIMESTAMP', profile({ integers: 5, minInteger: '1600000000000', maxInteger: '1700000000123' }))).toMatchObject({
        kind: 'timestamptz',
        epoch: 'milliseconds',
      });
    });

    it('with text that is not a date is still text: the values decide before the zone does', () => {
      expect(chooseType('DATETIME', profile({ texts: 5, textMisfits: 1, textWithZone: 0 }))).toMatchObject({ kind: 'text', widened: true });
    });
  });

  describe('DATETIME, either way', () => {
    it('holding integers that are no plausible epochs (or YYYYMMDD) is bigint, and says why', () => {
      const huge = chooseType('DATETIME', profile({ integers: 5, minInteger: '0', maxInteger: '99999999999999999' }));
      expect(huge).toMatchObject({ kind: 'integer', pgType: 'bigint' });
      expect(huge.reason).toMatch(/not epochs/);
      const ymd = chooseType('DATE', profile({ integers: 2, minInteger: '20240101', maxInteger: '20241231', integersLikeYmd: 2 }));
      expect(ymd).toMatchObject({ kind: 'integer' });
      expect(ymd.reason).toMatch(/YYYYMMDD/);
    });

    it('holding reals is double precision (fractional epochs and Julian days stay numbers)', () => {
      expect(chooseType('DATETIME', profile({ reals: 2 }))).toMatchObject({ kind: 'real' });
    });

    it('TIMESTAMP WITH TIME ZONE is timestamptz', () => {
      expect(chooseType('TIMESTAMP WITH TIME ZONE', profile({ texts: 1, textMisfits: 0, textWithZone: 1 })).kind).toBe('timestamptz');
    });
  });

  it('DATE with ISO dates is date', () => {
    expect(chooseType('DATE', profile({ texts: 3, textMisfits: 0 }))).toMatchObject({ kind: 'date', pgType: 'date' });
  });

  it('DATE holding a non-date is text', () => {
    const choice = chooseType('DATE', profile({ texts: 3, textMisfits: 1 }));
    expect(choice).toMatchObject({ kind: 'text', pgType: 'text' });
    expect(choice.reason).toMatch(/ISO-8601 date/);
  });

  it('TIME with clock text is time', () => {
    expect(chooseType('TIME', profile({ texts: 3, textMisfits: 0 }))).toMatchObject({ kind: 'time', pgType: 'time' });
  });

  describe('NUMERIC / DECIMAL', () => {
    it('NUMERIC(10,2) whose values fit keeps its precision', () => {
      const choice = chooseType('NUMERIC(10,2)', profile({ integers: 2, reals: 3, numericMisfits: 0 }));
      expect(choice).toMatchObject({ kind: 'numeric', pgType: 'numeric(10,2)' });
    });

    it('NUMERIC(10,2) with values that do not fit becomes unconstrained numeric', () => {
      const choice = chooseType('NUMERIC(10,2)', profile({ reals: 3, numericMisfits: 1 }));
      expect(choice).toMatchObject({ kind: 'numeric', pgType: 'numeric' });
      expect(choice.reason).toMatch(/1 number that exceeds its precision or scale/);
    });

    it('DECIMAL holding text is text', () => {
      const choice = chooseType('DECIMAL(8,3)', profile({ reals: 3, texts: 1 }));
      expect(choice).toMatchObject({ kind: 'text', pgType: 'text' });
      expect(choice.reason).toMatch(/non-numeric/);
    });

    it('plain NUMERIC is unconstrained numeric', () => {
      expect(chooseType('NUMERIC', profile({ integers: 1 }))).toMatchObject({ kind: 'numeric', pgType: 'numeric' });
    });
  });

  describe('no declared type', () => {
    it('only integers → bigint', () => {
      expect(chooseType('', profile({ integers: 4 }))).toMatchObject({ kind: 'integer', pgType: 'bigint' });
    });

    it('text and integers → text', () => {
      const choice = chooseType('', profile({ integers: 4, texts: 2 }));
      expect(choice).toMatchObject({ kind: 'text', pgType: 'text' });
      expect(choice.reason).toMatch(/no declared type/);
    });

    it('only blobs → bytea', () => {
      expect(chooseType('', profile({ blobs: 4, nulls: 1 }))).toMatchObject({ kind: 'blob', pgType: 'bytea' });
    });

    it('only reals → double precision', () => {
      expect(chooseType('', profile({ reals: 4 }))).toMatchObject({ kind: 'real', pgType: 'double precision' });
    });

    it('no values → text', () => {
      const choice = chooseType('', profile({}));
      expect(choice).toMatchObject({ kind: 'text', pgType: 'text' });
      expect(choice.reason).toMatch(/no values/);
    });

    it('only NULLs → text', () => {
      expect(chooseType('', profile({ nulls: 3 }))).toMatchObject({ kind: 'text', pgType: 'text' });
    });
  });

  it('VARCHAR(255) is text (PostgreSQL text has no length to enforce)', () => {
    expect(chooseType('VARCHAR(255)', profile({ texts: 4 }))).toMatchObject({ kind: 'text', pgType: 'text' });
  });

  it('TEXT holding only blobs is bytea; mixed text and blobs stays text', () => {
    expect(chooseType('TEXT', profile({ blobs: 2 }))).toMatchObject({ kind: 'blob', pgType: 'bytea' });
    const mixed = chooseType('TEXT', profile({ texts: 2, blobs: 1 }));
    expect(mixed).toMatchObject({ kind: 'text', pgType: 'text' });
    expect(mixed.reason).toMatch(/blobs/);
  });

  it('BLOB holding blobs is bytea, holding text becomes text', () => {
    expect(chooseType('BLOB', profile({ blobs: 2 }))).toMatchObject({ kind: 'blob', pgType: 'bytea' });
    expect(chooseType('BLOB', profile({ blobs: 2, texts: 1 })).kind).toBe('blob');
    expect(chooseType('BLOB', profile({ texts: 1 })).kind).toBe('text');
  });

  it('REAL holding integers and reals is double precision; holding text becomes text', () => {
    expect(chooseType('REAL', profile({ reals: 2, integers: 1 }))).toMatchObject({ kind: 'real', pgType: 'double precision' });
    const choice = chooseType('DOUBLE', profile({ reals: 2, texts: 1 }));
    expect(choice).toMatchObject({ kind: 'text', pgType: 'text' });
    expect(choice.reason).toMatch(/holds 1 text/);
  });

  describe('unknown type names never throw and keep every value', () => {
    it.each<[string, Partial<ColumnProfile>, string]>([
      ['YEAR', { integers: 3 }, 'bigint'],
      ['YEAR', { integers: 3, texts: 1 }, 'text'],
      ["ENUM('a','b')", { texts: 3 }, 'text'],
      ['LONGVARCHAR', { texts: 3 }, 'text'],
      ['POINT', { blobs: 3 }, 'bytea'],
      ['POINT', { integers: 3 }, 'bigint'],
      ['TINYINT UNSIGNED', { integers: 3 }, 'bigint'],
      ['JSON', { texts: 3 }, 'text'],
      ['UUID', { blobs: 1 }, 'bytea'],
      ['MONEY', { reals: 1 }, 'numeric'],
      ['SOMETHING(WEIRD', {}, 'text'],
    ])('%s with %j → %s', (declared, counts, pgType) => {
      const choice = chooseType(declared, profile(counts));
      expect(choice.pgType).toBe(pgType);
      expect(choice.reason.length).toBeGreaterThan(0);
    });
  });
});

describe('DATE with epochs', () => {
  it('whole days stay a date; an epoch with a time of day makes it a timestamp', () => {
    const days = chooseType('DATE', profile({ integers: 2, minInteger: '0', maxInteger: '86400', integersOffDay: 0, integersOffDayMs: 2 }));
    expect(days).toMatchObject({ kind: 'date', epoch: 'seconds' });
    const offDay = profile({ integers: 2, minInteger: '0', maxInteger: '90000', integersOffDay: 1, integersOffDayMs: 2 });
    const times = chooseType('DATE', offDay, { timestamps: 'naive' });
    expect(times).toMatchObject({ kind: 'timestamp', pgType: 'timestamp', epoch: 'seconds' });
    expect(times.reason).toMatch(/time of day/);
    expect(chooseType('DATE', offDay)).toMatchObject({ kind: 'timestamptz', pgType: 'timestamptz', epoch: 'seconds', naiveUtc: 'adopt' });
  });
});

describe('epochUnit', () => {
  it('seconds between 1900 and 2200, else milliseconds, else none', () => {
    expect(epochUnit(profile({ integers: 1, minInteger: '-2208988800', maxInteger: '7258118400' }))).toBe('seconds');
    expect(epochUnit(profile({ integers: 1, minInteger: '0', maxInteger: '7258118401' }))).toBe('milliseconds');
    expect(epochUnit(profile({ integers: 1, minInteger: '0', maxInteger: '7258118400001' }))).toBeNull();
    expect(epochUnit(profile({ integers: 0 }))).toBeNull();
  });
});

describe('text PostgreSQL cannot hold', () => {
  it('TEXT holding NUL bytes or bytes that are not UTF-8 widens to bytea, keeping every byte', () => {
    const choice = chooseType('TEXT', profile({ texts: 5, textNotPg: 2 }));
    expect(choice).toMatchObject({ kind: 'blob', pgType: 'bytea', widened: true });
    expect(choice.reason).toMatch(/2 text values with a NUL byte or bytes that are not UTF-8/);
  });

  it('with --on-misfit reject stays text, and those rows are rejected', () => {
    const choice = chooseType('TEXT', profile({ texts: 5, textNotPg: 2 }), { onMisfit: 'reject' });
    expect(choice).toMatchObject({ kind: 'text', pgType: 'text', rejecting: true });
    expect(choice.reason).toMatch(/--on-misfit reject/);
  });

  it('TEXT holding UTF-8 blobs stays text; blobs that are not text make it bytea', () => {
    expect(chooseType('TEXT', profile({ texts: 2, blobs: 1, blobsNotText: 0 }))).toMatchObject({ kind: 'text' });
    expect(chooseType('TEXT', profile({ texts: 2, blobs: 1, blobsNotText: 1 }))).toMatchObject({ kind: 'blob', widened: true });
  });

  it('no declared type: integers and blobs that are text are text, else bytea', () => {
    expect(chooseType('', profile({ integers: 2, blobs: 1, blobsNotText: 0 }))).toMatchObject({ kind: 'text' });
    expect(chooseType('', profile({ integers: 2, blobs: 1, blobsNotText: 1 }))).toMatchObject({ kind: 'blob' });
    expect(chooseType('', profile({ texts: 2, textNotPg: 1 }))).toMatchObject({ kind: 'blob' });
  });
});

describe('integers beyond 2^53', () => {
  it('mixed with reals need numeric: double precision would change their digits', () => {
    const choice = chooseType('', profile({ integers: 1, reals: 1, minInteger: '9007199254740993', maxInteger: '9007199254740993' }));
    expect(choice).toMatchObject({ kind: 'numeric', pgType: 'numeric' });
    expect(choice.reason).toMatch(/2\^53/);
    expect(chooseType('', profile({ integers: 1, reals: 1, minInteger: '5', maxInteger: '5' })).kind).toBe('real');
  });

  it('alone stay bigint, whatever their size (every INTEGER column is bigint)', () => {
    expect(chooseType('INT', profile({ integers: 1, minInteger: '-9223372036854775808', maxInteger: '9223372036854775807' })).pgType).toBe('bigint');
    expect(chooseType('TINYINT UNSIGNED', profile({ integers: 1 })).pgType).toBe('bigint');
  });
});

describe('--on-misfit reject', () => {
  it.each<[string, Partial<ColumnProfile>, string, TimestampMode?]>([
    ['INTEGER', { integers: 3, texts: 1 }, 'bigint'],
    ['REAL', { reals: 3, texts: 1 }, 'double precision'],
    ['BOOLEAN', { integers: 3, texts: 1, booleanMisfits: 1 }, 'boolean'],
    ['DATETIME', { texts: 3, textMisfits: 1 }, 'timestamp', 'naive'],
    ['DATETIME', { texts: 3, textMisfits: 1 }, 'timestamptz'],
    ['DATETIME', { texts: 3, textWithZone: 1 }, 'timestamp', 'naive'],
    ['DECIMAL(5,2)', { reals: 3, numericMisfits: 1 }, 'numeric(5,2)'],
    ['DECIMAL(5,2)', { reals: 3, texts: 1 }, 'numeric(5,2)'],
  ])('%s holding %j keeps %s and rejects (--timestamps %s)', (declared, counts, pgType, timestamps) => {
    const choice = chooseType(declared, profile(counts), { onMisfit: 'reject', ...(timestamps ? { timestamps } : {}) });
    expect(choice).toMatchObject({ pgType, rejecting: true });
    expect(choice.widened).toBeUndefined();
  });

  it('has nothing to reject where the declared type names no kind (no type, BLOB, YEAR, POINT)', () => {
    for (const declared of ['', 'BLOB', 'YEAR', 'POINT', 'FLOATING POINT']) {
      const choice = chooseType(declared, profile({ integers: 1, texts: 1, blobs: 1, blobsNotText: 1 }), { onMisfit: 'reject' });
      expect(choice.rejecting, declared).toBeUndefined();
      expect(choice.kind, declared).toBe('blob');
    }
  });

  it('changes nothing where every value fits', () => {
    expect(chooseType('INTEGER', profile({ integers: 3 }), { onMisfit: 'reject' })).toMatchObject({ kind: 'integer' });
    expect(chooseType('INTEGER', profile({ integers: 3 }), { onMisfit: 'reject' }).rejecting).toBeUndefined();
  });
});

describe('isIntegerName', () => {
  it.each(['INT', 'integer', 'BIGINT(20) UNSIGNED', 'TINYINT UNSIGNED', 'MEDIUMINT', 'INT8', 'UNSIGNED BIG INT', 'SMALLINT ZEROFILL', 'integer auto_increment'])('%s is an integer type', (name) => {
    expect(isIntegerName(name)).toBe(true);
  });

  it.each(['POINT', 'FLOATING POINT', 'CHARINT', 'INTERVAL', 'YEAR'])('%s is not', (name) => {
    expect(isIntegerName(name)).toBe(false);
  });
});
