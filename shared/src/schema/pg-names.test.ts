import { describe, expect, it } from 'vitest';
import { LiteshiftError } from '../errors.js';
import { PG_NAME_BYTES, fitPgName, pgNameFits } from './identifiers.js';
import type { ColumnModel, Notice, TableModel } from './model.js';
import { nameColumns, nameTables, parseRenames } from './pg-names.js';

const LONG_63 = 'accounts_receivable_ledger_entries_for_the_fiscal_year_2026_of_';

function table(name: string): TableModel {
  return { name, withoutRowid: false, columns: [], key: [], keyIsRowid: false, foreignKeys: [], indexes: [], checks: [] };
}

function column(name: string, extra: Partial<ColumnModel> = {}): ColumnModel {
  return { name, declaredType: '', notNull: false, sqliteDefault: null, kind: 'text', pgType: 'text', pgDefault: null, identity: false, reason: '', ...extra };
}

describe('fitPgName', () => {
  it('keeps a name of 1 to 63 bytes as it is', () => {
    expect(LONG_63).toHaveLength(PG_NAME_BYTES);
    expect(fitPgName(LONG_63)).toBe(LONG_63);
    expect(fitPgName('Order Items')).toBe('Order Items');
  });

  it('shortens a longer one to 63 bytes: its first bytes and a hash of the whole, distinct for names equal in their first 63 bytes', () => {
    const a = fitPgName(`${LONG_63}parent_one`);
    const b = fitPgName(`${LONG_63}parent_two`);
    expect(a).toMatch(/^accounts_receivable_ledger_entries_for_the_fiscal_year_[0-9a-f]{8}$/);
    expect(Buffer.byteLength(a)).toBe(63);
    expect(a).not.toBe(b);
    expect(fitPgName(`${LONG_63}parent_one`)).toBe(a);
  });

  it('cuts between characters, never inside one, and names an empty name', () => {
    const name = 'é'.repeat(40);
    const short = fitPgName(name);
    expect(Buffer.byteLength(short)).toBeLessThanOrEqual(63);
    expect(short.startsWith('é'.repeat(27))).toBe(true);
    expect(short).not.toContain('\uFFFD');
    expect(pgNameFits('')).toBe(false);
    expect(fitPgName('')).toMatch(/^_[0-9a-f]{8}$/);
  });
});

describe('parseRenames', () => {
  it('reads table=name and table.column=name rules, quoted as in SQL', () => {
    expect(parseRenames('"Order Details"=order_details; orders."Ship Via"="shipper id", [a.b].c=d')).toEqual([
      { table: 'Order Details', name: 'order_details' },
      { table: 'orders', column: 'Ship Via', name: 'shipper id' },
      { table: 'a.b', column: 'c', name: 'd' },
    ]);
  });

  it('names every mistake at once: no =, two names, a name PostgreSQL would cut', () => {
    expect(() => parseRenames(`t, a.b.c=x, t=two words, t=${'x'.repeat(64)}`)).toThrow(
      /"t" is not table=name.*"a\.b\.c=x": name the table.*"t=two words": the new name is one name.*64 bytes; PostgreSQL takes 1 to 63/,
    );
  });
});

describe('nameTables and nameColumns', () => {
  it('gives names PostgreSQL would cut a short form of their own, with a notice saying why', () => {
    const tables = ['parent_one', 'parent_two', 'orders'].map((t) => table(t === 'orders' ? t : `${LONG_63}${t}`));
    const notices: Notice[] = [];
    nameTables(tables, {}, notices);
    expect(tables[2]!.pgName).toBeUndefined();
    expect(tables[0]!.pgName).toBe(fitPgName(tables[0]!.name));
    expect(tables[1]!.pgName).toBe(fitPgName(tables[1]!.name));
    expect(notices).toEqual([
      expect.objectContaining({ level: 'info', table: tables[0]!.name, message: expect.stringMatching(/^name of 73 bytes, PostgreSQL keeps 63: created as "accounts_/) }),
      expect.objectContaining({ level: 'info', table: tables[1]!.name }),
    ]);
  });

  it('shortens after folding, and takes the user\'s name as it is', () => {
    const columns = [column(`${LONG_63.toUpperCase()}_A`), column('ShipVia'), column('liteshift_rowid', { synthetic: 'rowid' })];
    const notices: Notice[] = [];
    nameColumns('Orders', columns, { foldIdentifiers: 'lower', renames: parseRenames('orders.shipvia="Shipper"') }, notices);
    expect(columns[0]!.pgName).toBe(fitPgName(`${LONG_63}_a`));
    expect(columns[1]!.pgName).toBe('Shipper');
    expect(columns[2]!.pgName).toBeUndefined();
    expect(notices.map((n) => n.message)).toEqual([expect.stringMatching(/^name of 65 bytes/), 'named "Shipper" in PostgreSQL by --rename']);
  });

  it('refuses two names that would be one in PostgreSQL, naming both and the flag that separates them', () => {
    const columns = [column('a'), column('b')];
    const clash = (): void => nameColumns('t', columns, { renames: parseRenames('t.b=a') }, []);
    expect(clash).toThrow(LiteshiftError);
    expect(clash).toThrow('columns t.a and t.b would both be "a" in PostgreSQL');
    try {
      clash();
    } catch (error) {
      expect((error as LiteshiftError).hint).toBe('give t.b another name: --rename t.b=<name>');
    }
    // Folding: a column LITESHIFT_ROWID beside liteshift's own key column.
    const folded = (): void => nameColumns('t', [column('LITESHIFT_ROWID'), column('liteshift_rowid', { synthetic: 'rowid' })], { foldIdentifiers: 'lower' }, []);
    expect(folded).toThrow('columns t.LITESHIFT_ROWID and t.liteshift_rowid would both be "liteshift_rowid" in PostgreSQL');
    try {
      folded();
    } catch (error) {
      expect((error as LiteshiftError).hint).toBe('give t.LITESHIFT_ROWID another name: --rename t.LITESHIFT_ROWID=<name>');
    }
  });
});
