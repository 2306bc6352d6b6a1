import { describe, expect, it } from 'vitest';
import type { Notice } from '../schema/model.js';
import { chooseType } from '../schema/type-mapping.js';
import { modelFromCatalog, sqliteDefaultOf, sqliteTypeOf, type PgCatalogTable } from './catalog.js';

describe('the way back: SQLite types and defaults for tables created on PostgreSQL', () => {
  const column = (type: string, base: string, category = 'N') => ({ type, base, category });

  it('each PostgreSQL type gets a declared type whose kind SQLite reads back the same (what verify compares with)', () => {
    const cases = [
      column('bigint', 'int8'),
      column('integer', 'int4'),
      column('double precision', 'float8'),
      column('numeric(10,2)', 'numeric'),
      column('numeric', 'numeric'),
      column('boolean', 'bool', 'B'),
      column('bytea', 'bytea', 'U'),
      column('timestamp without time zone', 'timestamp', 'D'),
      column('timestamp with time zone', 'timestamptz', 'D'),
      column('date', 'date', 'D'),
      column('time without time zone', 'time', 'D'),
      column('character varying(80)', 'varchar', 'S'),
      column('text', 'text', 'S'),
      column('uuid', 'uuid', 'U'),
      column('jsonb', 'jsonb', 'U'),
      column('integer[]', 'int4', 'A'),
    ];
    for (const c of cases) {
      const { declaredType, kind } = sqliteTypeOf(c);
      // Naive DATETIME text is read as UTC (timestamptz) by default: PostgreSQL's timestamp is written back naive, so it compares the same.
      expect(chooseType(declaredType).kind, `${c.type} → ${declaredType}`).toBe(kind === 'timestamp' ? 'timestamptz' : kind);
    }
    expect(sqliteTypeOf(column('numeric(10,2)', 'numeric')).declaredType).toBe('NUMERIC(10,2)');
    expect(sqliteTypeOf(column('character varying(80)', 'varchar', 'S')).declaredType).toBe('VARCHAR(80)');
    expect(sqliteTypeOf(column('integer[]', 'int4', 'A'))).toMatchObject({ declaredType: 'TEXT', kind: 'text' });
  });

  it('defaults: literals, booleans, the clock; none for what SQLite has no equivalent of', () => {
    expect(sqliteDefaultOf("'pending'::character varying", 'text')).toBe("'pending'");
    expect(sqliteDefaultOf("'it''s'::text", 'text')).toBe("'it''s'");
    expect(sqliteDefaultOf('2', 'integer')).toBe('2');
    expect(sqliteDefaultOf("'1.50'::numeric", 'numeric')).toBe('1.50');
    expect(sqliteDefaultOf('(-1)', 'integer')).toBe('-1');
    expect(sqliteDefaultOf('false', 'boolean')).toBe('0');
    expect(sqliteDefaultOf('now()', 'timestamptz')).toBe('CURRENT_TIMESTAMP');
    expect(sqliteDefaultOf('CURRENT_DATE', 'date')).toBe('CURRENT_DATE');
    expect(sqliteDefaultOf('gen_random_uuid()', 'text')).toBeNull();
  });

  it('a single integer key is a rowid alias; a table without a key is not exported, saying why', () => {
    const table: PgCatalogTable = {
      name: 'projects',
      columns: [
        { name: 'id', type: 'bigint', base: 'int8', category: 'N', notNull: true, default: "nextval('projects_id_seq'::regclass)", identity: false, generated: false },
        { name: 'slug', type: 'text', base: 'text', category: 'S', notNull: true, default: "md5(random()::text)", identity: false, generated: false },
      ],
      key: ['id'],
      uniques: [['slug']],
      indexes: [],
      foreignKeys: [],
      dropped: [],
    };
    const notices: Notice[] = [];
    const model = modelFromCatalog(table, notices)!;
    expect(model.columns.map((c) => [c.name, c.declaredType, c.identity, c.sqliteDefault])).toEqual([
      ['id', 'INTEGER', true, null],
      ['slug', 'TEXT', false, null],
    ]);
    expect(model.indexes).toEqual([{ name: 'projects_slug_key', unique: true, columns: ['slug'], origin: 'u' }]);
    expect(notices.map((n) => n.message)).toEqual(['DEFAULT md5(random()::text) has no SQLite equivalent: not declared']);
    expect(modelFromCatalog({ ...table, key: [] }, notices)).toBeNull();
    expect(notices.at(-1)?.message).toMatch(/without a primary key: not exported/);
  });
});
