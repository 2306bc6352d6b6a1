import { describe, expect, it } from 'vitest';
import { normalPgType, widens } from './widening.js';

describe('widens', () => {
  it('takes every value the old type holds into the new one', () => {
    for (const [from, to] of [
      ['bigint', 'bigint'],
      ['bigint', 'text'],
      ['integer', 'bigint'],
      ['bigint', 'numeric'],
      ['bigint', 'numeric(20,0)'],
      ['numeric(10,2)', 'numeric(12,3)'],
      ['numeric(10,2)', 'numeric'],
      ['real', 'double precision'],
      ['double precision', 'text'],
      ['boolean', 'text'],
      ['date', 'timestamp'],
      ['timestamp without time zone', 'timestamptz'],
      ['timestamp', 'timestamp without time zone'],
      ['character varying(120)', 'varchar(500)'],
      ['varchar(120)', 'text'],
    ]) {
      expect(widens(from!, to!), `${from} → ${to}`).toBe(true);
    }
  });

  it('refuses what would lose or refuse values', () => {
    for (const [from, to] of [
      ['text', 'bigint'],
      ['bigint', 'integer'],
      ['bigint', 'double precision'],
      ['bigint', 'numeric(10,2)'],
      ['numeric(10,2)', 'numeric(10,1)'],
      ['numeric', 'numeric(30,2)'],
      ['double precision', 'numeric'],
      ['boolean', 'bigint'],
      ['timestamptz', 'timestamp'],
      ['bytea', 'text'],
      ['varchar(500)', 'varchar(120)'],
    ]) {
      expect(widens(from!, to!), `${from} → ${to}`).toBe(false);
    }
  });

  it('names types as liteshift writes them', () => {
    expect(normalPgType('timestamp with time zone')).toBe('timestamptz');
    expect(normalPgType('NUMERIC(10, 2)')).toBe('numeric(10,2)');
    expect(normalPgType('double precision')).toBe('double precision');
  });
});
