import { describe, expect, it } from 'vitest';
import { castTarget, findCast, parseCasts } from './casts.js';

describe('parseCasts', () => {
  it('reads table.column=type rules separated by commas or semicolons; a comma inside numeric(p,s) belongs to the type', () => {
    expect(parseCasts('orders.total=numeric(12, 2), users.age=int;events.at = timestamptz')).toEqual([
      { table: 'orders', column: 'total', kind: 'numeric', pgType: 'numeric(12,2)' },
      { table: 'users', column: 'age', kind: 'integer', pgType: 'integer' },
      { table: 'events', column: 'at', kind: 'timestamptz', pgType: 'timestamptz' },
    ]);
  });

  it('takes quoted names with dots, spaces, quotes and equal signs, in SQL quoting', () => {
    expect(parseCasts('"my.table"."a b"=text; [x=y].`c""d`=bytea')).toEqual([
      { table: 'my.table', column: 'a b', kind: 'text', pgType: 'text' },
      { table: 'x=y', column: 'c""d', kind: 'blob', pgType: 'bytea' },
    ]);
    expect(parseCasts('"q""t".c=json')[0]).toMatchObject({ table: 'q"t', column: 'c', pgType: 'json' });
  });

  it('an empty spec is no rule', () => {
    expect(parseCasts('')).toEqual([]);
    expect(parseCasts(' ; ,')).toEqual([]);
  });

  it('names every mistake at once', () => {
    expect(() => parseCasts('t.c=floaty, nodot=int, t.d')).toThrow(/unknown type "floaty".*table\.column.*not table\.column=type/);
  });
});

describe('castTarget', () => {
  it.each([
    ['BIGINT', 'integer', 'bigint'],
    ['int4', 'integer', 'integer'],
    ['smallint', 'integer', 'smallint'],
    ['double  precision', 'real', 'double precision'],
    ['decimal', 'numeric', 'numeric'],
    ['NUMERIC( 10 , 3 )', 'numeric', 'numeric(10,3)'],
    ['character varying(20)', 'text', 'varchar(20)'],
    ['varchar', 'text', 'text'],
    ['JSON', 'text', 'json'],
    ['blob', 'blob', 'bytea'],
    ['bool', 'boolean', 'boolean'],
    ['datetime', 'timestamp', 'timestamp'],
    ['timestamp with time zone', 'timestamptz', 'timestamptz'],
    ['date', 'date', 'date'],
    ['time', 'time', 'time'],
  ])('%s → %s %s', (type, kind, pgType) => {
    expect(castTarget(type)).toEqual({ kind, pgType });
  });

  it('refuses types the loader cannot convert to, and float4, which would lose digits', () => {
    expect(castTarget('jsonb')).toMatch(/unknown type "jsonb"/);
    expect(castTarget('real')).toMatch(/6 significant digits/);
    expect(castTarget('numeric(2,5)')).toMatch(/not a valid precision/);
    expect(castTarget('varchar(0)')).toMatch(/out of range/);
  });
});

describe('findCast', () => {
  const rules = parseCasts('Users.Age=int, users.name=text');
  it('matches exact names first, then without regard to ASCII case as SQLite does', () => {
    expect(findCast(rules, 'Users', 'Age')?.pgType).toBe('integer');
    expect(findCast(rules, 'USERS', 'NAME')?.pgType).toBe('text');
    expect(findCast(rules, 'users', 'email')).toBeUndefined();
  });
});
