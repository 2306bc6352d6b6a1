import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AvroCopyTranscoder,
  ByteBuffer,
  ChangeEventCodec,
  Rejection,
  columnTypes,
  connectPostgres,
  copyRow,
  createTableSql,
  tableSchemas,
  toPgText,
  type ColumnModel,
  type SqlValue,
  type TableModel,
  type ValueKind,
} from '@liteshift/shared';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

/*
 * The loader's transcoder writes COPY's binary format when every column has a binary form
 * it knows. PostgreSQL is the judge: the same rows COPied as binary by the transcoder and as
 * text by the general path (toPgText + copyRow) must make the same table.
 */

function column(name: string, kind: ValueKind, pgType: string): ColumnModel {
  return { name, declaredType: '', notNull: false, sqliteDefault: null, kind, pgType, pgDefault: null, identity: false, reason: 'test' };
}

const COLUMNS = [
  column('id', 'integer', 'bigint'),
  column('n4', 'integer', 'integer'),
  column('n2', 'integer', 'smallint'),
  column('title', 'text', 'text'),
  column('due', 'timestamp', 'timestamp'),
  column('day', 'date', 'date'),
  column('done', 'boolean', 'boolean'),
  column('score', 'real', 'double precision'),
  column('zoned', 'timestamptz', 'timestamptz'),
  column('data', 'blob', 'bytea'),
];

function table(name: string): TableModel {
  return { name, withoutRowid: false, columns: COLUMNS, key: ['id'], keyIsRowid: false, foreignKeys: [], indexes: [], checks: [] };
}

const codec = new ChangeEventCodec(tableSchemas(table('t')));

/** Rows the transcoder takes, with the values most likely to be written wrong in binary. */
function rows(): SqlValue[][] {
  const out: SqlValue[][] = [
    [1n, 0n, 0n, '', '2000-01-01 00:00:00', '2000-01-01', 0n, 0, '2000-01-01 00:00:00', Buffer.alloc(0)],
    [2n, 2147483647n, 32767n, 'tab\there, new\nline, cr\r, back\\slash', '0001-01-01 00:00:00', '0001-01-01', 1n, -0, '9999-12-31 23:59:59', Buffer.from([0, 1, 2, 0x5c, 0xff])],
    [3n, -2147483648n, -32768n, 'crème brûlée 🍮 — 日本', '9999-12-31 23:59:59', '9999-12-31', null, 1e308, '1970-01-01 00:00:00', 'text in a blob 🍮'],
    [9007199254740991n, -1n, -1n, 'x'.repeat(70) + 'é'.repeat(40), '2024-12-31 24:00:00', '2024-02-29', 1n, -2.5e-300, '2016-12-31 23:59:60', Buffer.alloc(100, 0xab)],
    [-9007199254740991n, null, null, null, '1899-12-31 23:59:59', '1600-02-29', 0n, 123456789.125, null, null],
    [5n, 7n, 7n, '\\N', '1900-03-01 12:34:56', '2100-02-28', 1n, 5e-324, '2285-01-01 00:00:00', Buffer.from('\\N')],
  ];
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const digits = (n: number, width: number): string => String(n).padStart(width, '0');
  for (let id = 100; id < 2100; id++) {
    const y = 1 + Math.floor(rand() * 9999);
    const m = 1 + Math.floor(rand() * 12);
    const d = 1 + Math.floor(rand() * 28);
    const date = `${digits(y, 4)}-${digits(m, 2)}-${digits(d, 2)}`;
    const time = `${digits(Math.floor(rand() * 24), 2)}:${digits(Math.floor(rand() * 60), 2)}:${digits(Math.floor(rand() * 60), 2)}`;
    out.push([
      BigInt(id),
      BigInt(Math.floor(rand() * 2 ** 32) - 2 ** 31),
      BigInt(Math.floor(rand() * 2 ** 16) - 2 ** 15),
      rand() < 0.1 ? null : `row ${id} ${'ü'.repeat(Math.floor(rand() * 5))}`,
      `${date} ${time}`,
      date,
      BigInt(Math.floor(rand() * 2)),
      (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20),
      rand() < 0.5 ? null : `${date} ${time}`,
      rand() < 0.2 ? null : Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256))),
    ]);
  }
  return out;
}

async function copy(client: pg.ClientBase, sql: string, data: Buffer): Promise<void> {
  await pipeline(Readable.from([data]), client.query(copyFrom(sql)));
}

describe('COPY in binary from the transcoder', () => {
  let target: TestDatabase;
  let client: pg.Client;
  let transcoder: AvroCopyTranscoder;
  let types: Map<string, string>;

  beforeAll(async () => {
    target = await createTestDatabase(inject('adminDatabaseUrl'), 'copy-binary');
    client = await connectPostgres(target.url);
    await client.query(createTableSql('public', table('by_text')));
    await client.query(createTableSql('public', table('by_binary')));
    types = await columnTypes(client, 'by_binary');
    transcoder = new AvroCopyTranscoder(COLUMNS, types);
  });

  afterAll(async () => {
    await client?.end().catch(() => undefined);
    await target?.drop();
  });

  it('is chosen only where every column of the target has the type the model gives it, with a binary form', async () => {
    expect(transcoder.binary).toBe(true);
    // Without the target's types, or with a table the application made (integer for bigint, varchar for text).
    expect(new AvroCopyTranscoder(COLUMNS).binary).toBe(false);
    expect(new AvroCopyTranscoder(COLUMNS, new Map([...types, ['id', 'integer']])).binary).toBe(false);
    expect(new AvroCopyTranscoder(COLUMNS, new Map([...types, ['title', 'character varying(40)']])).binary).toBe(false);
    await client.query('CREATE TABLE odd (short varchar(3), f real)');
    const odd = [column('short', 'text', 'varchar(3)'), column('f', 'real', 'real')];
    expect(new AvroCopyTranscoder(odd, await columnTypes(client, 'odd')).binary).toBe(false);
  });

  it('makes the table the text lines of the general path make', async () => {
    const all = rows();
    const text = new ByteBuffer();
    const binary = new ByteBuffer();
    transcoder.begin(binary);
    for (const row of all) {
      const value = codec.encodeValue({ op: 'r', table: 't', after: row, seq: 1n, snapshot: true, tsMs: 1 });
      expect(transcoder.append(value, codec.locateRow(value)!, binary), `row ${String(row[0])}`).toBe(true);
      const texts = row.map((v, i) => toPgText(COLUMNS[i]!.kind, v, COLUMNS[i]!));
      expect(texts.some((t) => t instanceof Rejection)).toBe(false);
      text.text(copyRow(texts as (string | null)[]));
    }
    transcoder.end(binary);
    await copy(client, 'COPY by_text FROM STDIN', text.bytes());
    await copy(client, 'COPY by_binary FROM STDIN WITH (FORMAT binary)', binary.bytes());
    const count = async (sql: string): Promise<number> => (await client.query<{ n: number }>(sql)).rows[0]!.n;
    expect(await count('SELECT count(*)::int AS n FROM by_binary')).toBe(all.length);
    expect(await count('SELECT count(*)::int AS n FROM (SELECT * FROM by_text EXCEPT ALL SELECT * FROM by_binary) d')).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM (SELECT * FROM by_binary EXCEPT ALL SELECT * FROM by_text) d')).toBe(0);
    // Spot checks of what the rows should hold, in PostgreSQL's own words.
    const row = async (id: string): Promise<Record<string, string>> => (await client.query(`SELECT due::text, day::text, zoned::text, score::text, title FROM by_binary WHERE id = ${id}`)).rows[0];
    expect(await row('9007199254740991')).toMatchObject({ due: '2025-01-01 00:00:00', day: '2024-02-29', zoned: '2017-01-01 00:00:00+00' });
    expect(await row('2')).toMatchObject({ due: '0001-01-01 00:00:00', zoned: '9999-12-31 23:59:59+00', score: '0', title: 'tab\there, new\nline, cr\r, back\\slash' });
    expect(await row('-9007199254740991')).toMatchObject({ day: '1600-02-29', due: '1899-12-31 23:59:59' });
    const blobs = await client.query<{ hex: string | null }>("SELECT encode(data, 'hex') AS hex FROM by_binary WHERE id < 100 OR id = 9007199254740991 ORDER BY id");
    expect(blobs.rows.map((r) => r.hex)).toEqual([null, '', '0001025cff', Buffer.from('text in a blob 🍮').toString('hex'), '5c4e', 'ab'.repeat(100)]);
  });
});
