import { describe, expect, it } from 'vitest';
import { ChangeEventCodec, schemaRecord, tableSchemas, type ColumnModel, type KafkaMessage, type SchemaRecord, type SqlValue, type TableModel } from '@liteshift/shared';
import { UNKNOWN_WRITER, WriterDecoder } from './decode.js';

function column(name: string, pgType = 'text'): ColumnModel {
  return { name, declaredType: '', notNull: false, sqliteDefault: null, kind: pgType === 'bigint' ? 'integer' : 'text', pgType, pgDefault: null, identity: false, reason: 'test' };
}

function table(name: string, columns: ColumnModel[]): TableModel {
  return { name, withoutRowid: false, columns, key: ['id'], keyIsRowid: false, foreignKeys: [], indexes: [], checks: [] };
}

const V1 = table('tasks', [column('id', 'bigint'), column('title')]);
/** The same table after `ALTER TABLE tasks ADD COLUMN note`. */
const V2 = table('tasks', [column('id', 'bigint'), column('title'), column('note')]);
const OTHER = table('users', [column('id', 'bigint'), column('name')]);

const record = (t: TableModel, publishedAt: string): SchemaRecord => ({ ...schemaRecord(t, `liteshift.${t.name}`), publishedAt });
const r1 = record(V1, '2026-01-01T00:00:00Z');
const r2 = record(V2, '2026-01-02T00:00:00Z');
const rOther = record(OTHER, '2026-01-01T00:00:00Z');

function message(t: TableModel, op: 'r' | 'u' | 'd', key: SqlValue[], after: SqlValue[] | null, offset = '7'): KafkaMessage {
  const codec = new ChangeEventCodec(tableSchemas(t));
  return {
    key: Buffer.from(codec.encodeKey(key)),
    value: Buffer.from(codec.encodeValue({ op, table: t.name, after, seq: 1n, snapshot: op === 'r', tsMs: 0 })),
    offset,
    timestamp: '0',
    attributes: 0,
    headers: {},
  } as KafkaMessage;
}

function decoder(records: SchemaRecord[]): WriterDecoder {
  const d = new WriterDecoder();
  const latest = new Map<string, SchemaRecord>();
  for (const r of records) if (!latest.has(r.table.name) || latest.get(r.table.name)!.publishedAt < r.publishedAt) latest.set(r.table.name, r);
  d.setWriters(records, latest);
  return d;
}

const target = { table: V2, fingerprint: r2.fingerprint };

describe('WriterDecoder', () => {
  it('an upsert in the target writer schema stays encoded, its key and row decoded only when asked', () => {
    const change = decoder([r1, r2]).decode(message(V2, 'r', [1n], [1n, 'milk', 'today'], '42'), target);
    if (typeof change !== 'object') throw new Error(`not decoded: ${String(change)}`);
    expect(change.encoded).toBeDefined();
    expect(change.offset).toBe('42');
    expect(change.key).toEqual([1n]);
    expect(change.row).toEqual([1n, 'milk', 'today']);
    expect(change.columns).toBeUndefined();
  });

  it('an event of an older writer schema is mapped onto the target columns, naming the ones it has', () => {
    const change = decoder([r1, r2]).decode(message(V1, 'u', [2n], [2n, 'eggs']), target);
    if (typeof change !== 'object') throw new Error(`not decoded: ${String(change)}`);
    expect(change.encoded).toBeUndefined();
    expect(change.row).toEqual([2n, 'eggs', null]);
    expect(change.columns).toEqual([0, 1]);
  });

  it('a delete and a tombstone are deletes of their key', () => {
    const d = decoder([r1, r2]);
    const del = d.decode(message(V1, 'd', [3n], null), target);
    expect(del).toMatchObject({ key: [3n], row: null });
    const tombstone = { ...message(V2, 'd', [3n], null), value: null };
    expect(d.decode(tombstone, target)).toMatchObject({ key: [3n], row: null });
  });

  it('a writer schema not read yet is unknown (the caller reads the schema topic and asks again)', () => {
    expect(decoder([r1]).decode(message(V2, 'r', [1n], [1n, 'a', 'b']), { table: V1, fingerprint: r1.fingerprint })).toBe(UNKNOWN_WRITER);
  });

  it('says why a message cannot be decoded', () => {
    const d = decoder([r1, r2, rOther]);
    const good = message(V2, 'r', [1n], [1n, 'a', 'b']);
    expect(d.decode({ ...good, key: null }, target)).toBe('message has no key');
    expect(d.decode({ ...good, value: Buffer.from('{"json": true}') }, target)).toBe('value does not start with a liteshift writer-schema prefix');
    expect(d.decode(message(OTHER, 'r', [1n], [1n, 'ann']), target)).toBe(`writer schema ${rOther.fingerprint} is for table users`);
    expect(d.decode({ ...good, value: good.value!.subarray(0, good.value!.length - 2) }, target)).toMatch(/^cannot decode: /);
    expect(d.decode({ ...good, key: Buffer.concat([good.key!, Buffer.from([0])]) }, target)).toMatch(/^cannot decode: .*trailing bytes after key/);
  });
});
