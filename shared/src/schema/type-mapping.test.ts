import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { ColumnProfile } from './model.js';
import { affinityOf, chooseType, familyOf, numericParams } from './type-mapping.js';

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

  describe('DATETIME', () => {
    it('with ISO text is timestamp', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, textMisfits: 0, textWithZone: 0 }));
      expect(choice).toMatchObject({ kind: 'timestamp', pgType: 'timestamp' });
    });

    it('whose every value carries a zone is timestamptz', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, nulls: 2, textMisfits: 0, textWithZone: 5 }));
      expect(choice).toMatchObject({ kind: 'timestamptz', pgType: 'timestamptz' });
      expect(choice.reason).toMatch(/time zone/);
    });

    it('where only some values carry a zone is text', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, textMisfits: 0, textWithZone: 2 }));
      expect(choice).toMatchObject({ kind: 'text', pgType: 'text' });
      expect(choice.reason).toMatch(/only some values carry a time zone/);
    });

    it('with text that is not a date is text, and says why', () => {
      const choice = chooseType('DATETIME', profile({ texts: 5, textMisfits: 1, textWithZone: 0 }));
      expect(choice).toMatchObject({ kind: 'text', pgType: 'text' });
      expect(choice.reason).toMatch(/not every value is an ISO-8601 timestamp/);
    });

    it('holding integers (epoch seconds) is bigint, not a date', () => {
      const choice = chooseType('DATETIME', profile({ integers: 5, textMisfits: 0, textWithZone: 0 }));
      expect(choice).toMatchObject({ kind: 'integer', pgType: 'bigint' });
      expect(choice.reason).toMatch(/not every value is an ISO-8601/);
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
      expect(choice.reason).toMatch(/exceed its precision or scale/);
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
    expect(choice.reason).toMatch(/holds text/);
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
