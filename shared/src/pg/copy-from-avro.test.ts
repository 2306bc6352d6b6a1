import { describe, expect, it } from 'vitest';
import { tableSchemas } from '../avro/change-event.js';
import { ChangeEventCodec } from '../avro/codec.js';
import type { SqlValue } from '../avro/binary.js';
import type { ColumnModel, TableModel, ValueKind } from '../schema/model.js';
import { Rejection, toPgText } from '../values/to-pg.js';
import { ByteBuffer } from '../values/byte-buffer.js';
import { AvroCopyTranscoder } from './copy-from-avro.js';
import { copyRow } from './copy-text.js';

function column(name: string, kind: ValueKind, pgType: string, notNull = false): ColumnModel {
  return { name, declaredType: '', notNull, sqliteDefault: null, kind, pgType, pgDefault: null, identity: false, reason: 'test' };
}

const COLUMNS = [
  column('id', 'integer', 'bigint', true),
  column('small', 'integer', 'smallint'),
  column('title', 'text', 'text', true),
  column('due', 'timestamp', 'timestamp'),
  column('day', 'date', 'date'),
  column('done', 'boolean', 'boolean'),
  column('score', 'real', 'double precision'),
  column('zoned', 'timestamptz', 'timestamptz'),
  column('short', 'text', 'varchar(3)'),
  column('photo', 'blob', 'bytea'),
];
const TABLE: TableModel = { name: 'items', withoutRowid: false, columns: COLUMNS, key: ['id'], keyIsRowid: false, foreignKeys: [], indexes: [], checks: [] };
const codec = new ChangeEventCodec(tableSchemas(TABLE));
const transcoder = new AvroCopyTranscoder(COLUMNS);

/** What the general path makes of a row: toPgText per column, then copyRow; null when a value is refused. */
function general(row: readonly SqlValue[]): string | null {
  const texts: (string | null)[] = [];
  for (let i = 0; i < COLUMNS.length; i++) {
    const c = COLUMNS[i]!;
    if (row[i] === null && c.notNull) return null;
    const text = toPgText(c.kind, row[i]!, c);
    if (text instanceof Rejection) return null;
    texts.push(text);
  }
  return copyRow(texts);
}

/** The transcoder's line for a row, or null when it declines. */
function transcoded(row: SqlValue[]): string | null {
  const value = codec.encodeValue({ op: 'r', table: 'items', after: row, seq: 7n, snapshot: true, tsMs: 1 });
  const out = new ByteBuffer(8);
  out.text('before\n');
  const at = codec.locateRow(value);
  expect(at).not.toBeNull();
  if (!transcoder.append(value, at!, out)) {
    expect(out.bytes().toString()).toBe('before\n');
    return null;
  }
  return out.bytes().toString().slice('before\n'.length);
}

const base = (): SqlValue[] => [1n, 2n, 'Buy milk', '2024-02-20 14:51:34', '2024-02-29', 1n, 1.5, '2024-02-20 14:51:34', null, null];

describe('AvroCopyTranscoder', () => {
  it('writes what toPgText + copyRow write for the common shapes', () => {
    const rows: SqlValue[][] = [
      base(),
      [-42n, -32768n, 'tab\there, new\nline, cr\r, back\\slash', null, null, 0n, -0.000123, null, null, null],
      [9007199254740n, 32767n, 'crème brûlée 🍮 — 日本', '1999-12-31 23:59:59', '2000-01-01', null, 1e21, null, null, null],
      [0n, null, '', '2024-12-31 24:00:00', '1970-01-01', 0n, 123456789.125, null, null, null],
    ];
    for (const row of rows) {
      const line = transcoded(row);
      expect(line).not.toBeNull();
      expect(line).toBe(general(row));
    }
  });

  it('declines what the general path must decide, leaving nothing half-written', () => {
    const cases: [number, SqlValue][] = [
      [0, null], // NULL in NOT NULL: a reject
      [1, 40000n], // out of smallint
      [0, 2n ** 60n], // beyond what it reads as a number: the general path keeps it exact
      [0, 1.5], // a double in an integer column
      [2, 'nul\u0000byte'],
      [2, Buffer.from([0x63, 0x61, 0x66, 0xe9])], // text stored as bytes (not UTF-8)
      [2, 12n], // a number in a text column: SQLite's text of it
      [3, '2021-02-30 10:00:00'],
      [3, '2021-02-03 25:00:00'],
      [3, '2021-02-03'], // a valid timestamp the fast path does not know the shape of
      [3, '2024-02-20T14:51:34'],
      [3, '2024-01-01 10:00:é'], // 19 bytes, checked as bytes: é is no digit
      [4, '2024-01-é'],
      [4, '2021-13-01'],
      [5, 2n],
      [6, Number.POSITIVE_INFINITY],
      [8, 'abc'], // varchar(n) counts characters
      [9, Buffer.from('x')],
    ];
    for (const [i, value] of cases) {
      const row = base();
      row[i] = value;
      expect(transcoded(row), `column ${COLUMNS[i]!.name} = ${String(value)}`).toBeNull();
    }
  });

  it('agrees with the general path on random rows', () => {
    let seed = 42;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    let fast = 0;
    for (let n = 0; n < 2000; n++) {
      const row: SqlValue[] = [
        pick([BigInt(Math.floor(rand() * 1e12)), -5n, 0n, null]),
        pick([BigInt(Math.floor(rand() * 70000) - 35000), null]),
        pick(['x', 'a\\b\tc', 'é', '\r\n', '', 'ok']),
        pick(['2024-01-31 10:00:00', '2023-02-29 00:00:00', '2024-02-29 12:30:45', 'soon', null, 5n]),
        pick(['2024-04-31', '2024-04-30', null]),
        pick([0n, 1n, null]),
        pick([0.1, -2.5e-300, 7, null]),
        pick(['2024-01-01 00:00:00', null]),
        null,
        null,
      ];
      const line = transcoded(row);
      if (line !== null) {
        fast++;
        expect(line).toBe(general(row));
      }
    }
    expect(fast).toBeGreaterThan(100);
  });
});
