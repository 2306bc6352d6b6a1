import { describe, expect, it } from 'vitest';
import type { TableModel } from '../schema/model.js';
import { offsetsBehind, partitionId } from './loader-offsets.js';
import { newestPerTable, readSchemaRecord, schemaRecord, SCHEMA_RECORD_VERSION } from './schema-record.js';

const table = (name: string): TableModel => ({
  name,
  withoutRowid: false,
  columns: [{ name: 'id', declaredType: 'INTEGER', notNull: true, sqliteDefault: null, kind: 'integer', pgType: 'bigint', pgDefault: null, identity: true, reason: '' }],
  key: ['id'],
  keyIsRowid: false,
  foreignKeys: [],
  indexes: [],
  checks: [],
});

describe('loader offsets', () => {
  it('counts the messages before the end offsets that the applied positions do not cover', () => {
    const applied = new Map([
      [partitionId('app.tasks', 0), 10n],
      [partitionId('app.tasks', 1), 50n],
    ]);
    // Partition 1 is past the end asked for: it counts nothing, not a negative.
    expect(offsetsBehind(applied, { 'app.tasks': { 0: '15', 1: '40', 2: '3' } })).toBe(5 + 0 + 3);
    expect(offsetsBehind(applied, { 'app.tasks': { 0: '10' } })).toBe(0);
  });

  it('keys one topic-partition by a separator no topic name can hold', () => {
    expect(partitionId('a.b', 1)).not.toBe(partitionId('a', 1));
    expect(partitionId('t:1', 2)).not.toBe(partitionId('t', 12));
  });
});

describe('schema records', () => {
  it('reads its own version, and nothing else (a tombstone, another version)', () => {
    const record = schemaRecord(table('tasks'), 'app.tasks');
    expect(record.version).toBe(SCHEMA_RECORD_VERSION);
    expect(readSchemaRecord(Buffer.from(JSON.stringify(record)), 'app')).toEqual({ record });
    expect(readSchemaRecord(null, 'app')).toBeNull();
    expect(readSchemaRecord(Buffer.from(JSON.stringify({ ...record, version: SCHEMA_RECORD_VERSION + 1 })), 'app')).toBeNull();
  });

  it('says why a record cannot be used, naming its table when it can', () => {
    const record = schemaRecord(table('tasks'), 'app.tasks');
    const read = (r: unknown) => readSchemaRecord(Buffer.from(typeof r === 'string' ? r : JSON.stringify(r)), 'app');
    expect(read('{not json')).toEqual({ invalid: 'not JSON' });
    expect(read({ ...record, fingerprint: '0000000000000000' })).toMatchObject({ invalid: expect.stringMatching(/fingerprint 0000000000000000 is not that of its schema/), table: 'tasks' });
    expect(read({ ...record, topic: 'app.users' })).toMatchObject({ invalid: "topic app.users is not table tasks's topic", table: 'tasks' });
    expect(read({ ...record, table: { ...record.table, columns: [{ ...record.table.columns[0], pgType: 'int); DROP TABLE x; --' }] } })).toMatchObject({
      invalid: expect.stringMatching(/is not a type liteshift makes for integer values/),
      table: 'tasks',
    });
  });

  it('the newest record of a table defines it', () => {
    const a = { ...schemaRecord(table('tasks'), 'app.tasks'), publishedAt: '2026-01-02T00:00:00Z', fingerprint: 'new' };
    const b = { ...schemaRecord(table('tasks'), 'app.tasks'), publishedAt: '2026-01-01T00:00:00Z', fingerprint: 'old' };
    const c = { ...schemaRecord(table('users'), 'app.users'), publishedAt: '2026-01-01T00:00:00Z', fingerprint: 'u' };
    const newest = newestPerTable([a, b, c]);
    expect(newest.get('tasks')!.fingerprint).toBe('new');
    expect(newest.get('users')!.fingerprint).toBe('u');
  });
});
