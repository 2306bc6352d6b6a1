import type pg from 'pg';
import type { ColumnModel, ForeignKeyModel, IndexModel, Notice, TableModel, ValueKind } from '../schema/model.js';
import { quoteLiteral } from '../schema/identifiers.js';
import { pgTypeOf } from '../schema/type-mapping.js';
import { META_SCHEMA } from '../contracts/meta-tables.js';

/**
 * PostgreSQL's own catalog, read into the schema model, for the way back: tables created
 * on PostgreSQL after the switch have no model of SQLite's, so the SQLite declared type
 * of each column is chosen here from its PostgreSQL type (and the kind that converts and
 * compares its values follows from the PostgreSQL type, as the loader's does).
 */
export interface PgCatalogColumn {
  name: string;
  /** format_type(): `integer`, `numeric(10,2)`, `character varying(20)`, `timestamp with time zone`, … */
  type: string;
  /** The base type's name (a domain's underlying type): int4, numeric, varchar, timestamptz, … */
  base: string;
  /** The base type's category: 'A' arrays, 'E' enums, 'U' user-defined, … */
  category: string;
  notNull: boolean;
  default: string | null;
  identity: boolean;
  generated: boolean;
}

export interface PgCatalogTable {
  name: string;
  columns: PgCatalogColumn[];
  key: string[];
  uniques: string[][];
  indexes: { name: string; unique: boolean; columns: string[] }[];
  foreignKeys: ForeignKeyModel[];
  /** Foreign keys to another schema, CHECKs, indexes on expressions: reported, not recreated. */
  dropped: string[];
}

const FK_ACTIONS: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

/** Every ordinary or partitioned table of `schema` (liteshift's own schema never). */
export async function readPgCatalog(client: pg.ClientBase, schema: string): Promise<PgCatalogTable[]> {
  if (schema === META_SCHEMA) return [];
  const tables = (
    await client.query<{ oid: number; name: string }>(
      `SELECT c.oid, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
      [schema],
    )
  ).rows;
  if (tables.length === 0) return [];
  const oids = tables.map((t) => t.oid);
  const columns = (
    await client.query<{ rel: number; num: number; name: string; type: string; base: string; category: string; not_null: boolean; dflt: string | null; identity: string; generated: string }>(
      `SELECT a.attrelid AS rel, a.attnum AS num, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
              COALESCE(b.typname, t.typname) AS base, COALESCE(b.typcategory, t.typcategory) AS category,
              a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attidentity AS identity, a.attgenerated AS generated
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum`,
      [oids],
    )
  ).rows;
  const constraints = (
    await client.query<{ rel: number; type: string; name: string; cols: number[]; ref: number | null; ref_schema: string | null; ref_name: string | null; ref_cols: number[] | null; upd: string; del: string; deferrable: boolean; deferred: boolean }>(
      `SELECT k.conrelid AS rel, k.contype AS type, k.conname AS name, k.conkey::int[] AS cols, k.confrelid AS ref, rn.nspname AS ref_schema, r.relname AS ref_name,
              k.confkey::int[] AS ref_cols, k.confupdtype AS upd, k.confdeltype AS del, k.condeferrable AS deferrable, k.condeferred AS deferred
       FROM pg_constraint k LEFT JOIN pg_class r ON r.oid = k.confrelid LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
       WHERE k.conrelid = ANY($1) AND k.contype IN ('p', 'u', 'f', 'c') ORDER BY k.conrelid, k.conname`,
      [oids],
    )
  ).rows;
  const indexes = (
    await client.query<{ rel: number; name: string; unique: boolean; cols: number[]; plain: boolean }>(
      `SELECT i.indrelid AS rel, c.relname AS name, i.indisunique AS unique, i.indkey::int[] AS cols, i.indexprs IS NULL AND i.indpred IS NULL AS plain
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE i.indrelid = ANY($1) AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY i.indrelid, c.relname`,
      [oids],
    )
  ).rows;
  // Referenced tables' column names, by (table, attnum).
  const refRels = [...new Set(constraints.flatMap((k) => (k.ref ? [k.ref] : [])))];
  const refNames = new Map<string, string>();
  if (refRels.length) {
    for (const r of (await client.query<{ rel: number; num: number; name: string }>('SELECT attrelid AS rel, attnum AS num, attname AS name FROM pg_attribute WHERE attrelid = ANY($1) AND attnum > 0', [refRels])).rows) {
      refNames.set(`${r.rel}:${r.num}`, r.name);
    }
  }
  return tables.map((t) => {
    const own = columns.filter((c) => c.rel === t.oid);
    const nameOf = (num: number): string => own.find((c) => c.num === num)?.name ?? `#${num}`;
    const mine = constraints.filter((k) => k.rel === t.oid);
    const dropped: string[] = [];
    const foreignKeys: ForeignKeyModel[] = [];
    for (const k of mine.filter((k) => k.type === 'f')) {
      if (k.ref_schema !== schema) {
        dropped.push(`foreign key to ${k.ref_schema}.${k.ref_name} (another schema): not recreated`);
        continue;
      }
      foreignKeys.push({
        columns: k.cols.map(nameOf),
        refTable: k.ref_name!,
        refColumns: (k.ref_cols ?? []).map((n) => refNames.get(`${k.ref}:${n}`) ?? `#${n}`),
        onUpdate: FK_ACTIONS[k.upd] ?? 'NO ACTION',
        onDelete: FK_ACTIONS[k.del] ?? 'NO ACTION',
        deferrable: k.deferrable,
        ...(k.deferrable ? { initiallyDeferred: k.deferred } : {}),
      });
    }
    for (const k of mine.filter((k) => k.type === 'c')) dropped.push(`CHECK constraint ${k.name}: not recreated (PostgreSQL's expression is not SQLite's)`);
    const plain = indexes.filter((i) => i.rel === t.oid);
    for (const i of plain.filter((i) => !i.plain)) dropped.push(`index ${i.name} on an expression or with a WHERE clause: not recreated`);
    return {
      name: t.name,
      columns: own.map((c) => ({
        name: c.name,
        type: c.type,
        base: c.base,
        category: c.category,
        notNull: c.not_null,
        default: c.dflt,
        identity: c.identity !== '',
        generated: c.generated !== '',
      })),
      key: (mine.find((k) => k.type === 'p')?.cols ?? []).map(nameOf),
      uniques: mine.filter((k) => k.type === 'u').map((k) => k.cols.map(nameOf)),
      indexes: plain.filter((i) => i.plain).map((i) => ({ name: i.name, unique: i.unique, columns: i.cols.map(nameOf) })),
      foreignKeys,
      dropped,
    };
  });
}

/** The SQLite declared type and the value kind of a PostgreSQL column. */
export function sqliteTypeOf(column: Pick<PgCatalogColumn, 'type' | 'base' | 'category'>): { declaredType: string; kind: ValueKind; note?: string } {
  const params = /\(([^)]*)\)/.exec(column.type)?.[1];
  if (column.category === 'A') return { declaredType: 'TEXT', kind: 'text', note: 'an array: its PostgreSQL text' };
  switch (column.base) {
    case 'int2':
    case 'int4':
    case 'int8':
      return { declaredType: 'INTEGER', kind: 'integer' };
    case 'float4':
    case 'float8':
      return { declaredType: 'REAL', kind: 'real' };
    case 'numeric':
      return { declaredType: params ? `NUMERIC(${params})` : 'NUMERIC', kind: 'numeric' };
    case 'bool':
      return { declaredType: 'BOOLEAN', kind: 'boolean', note: 'stored as 0/1' };
    case 'bytea':
      return { declaredType: 'BLOB', kind: 'blob' };
    case 'timestamp':
      return { declaredType: 'DATETIME', kind: 'timestamp', note: "text 'YYYY-MM-DD HH:MM:SS[.ffffff]'" };
    case 'timestamptz':
      return { declaredType: 'TIMESTAMPTZ', kind: 'timestamptz', note: "UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'" };
    case 'date':
      return { declaredType: 'DATE', kind: 'date' };
    case 'time':
      return { declaredType: 'TIME', kind: 'time' };
    case 'varchar':
    case 'bpchar':
      return { declaredType: params ? `${column.base === 'varchar' ? 'VARCHAR' : 'CHAR'}(${params})` : 'TEXT', kind: 'text' };
    case 'text':
      return { declaredType: 'TEXT', kind: 'text' };
    default:
      return { declaredType: 'TEXT', kind: 'text', note: `${column.type}: its PostgreSQL text` };
  }
}

const NOW = /^(now\(\)|CURRENT_TIMESTAMP|LOCALTIMESTAMP|transaction_timestamp\(\)|statement_timestamp\(\)|clock_timestamp\(\))(::timestamp(tz| with(out)? time zone)?)?$/i;

/** A PostgreSQL default as SQLite declares it, or null when SQLite has none like it. */
export function sqliteDefaultOf(expression: string, kind: ValueKind): string | null {
  const e = expression.trim();
  const literal = /^'((?:[^']|'')*)'(?:::[\w ."]+(?:\(\d+(?:,\d+)?\))?(?:\[\])?)?$/.exec(e);
  if (literal) {
    const text = literal[1]!.replace(/''/g, "'");
    if (kind === 'integer' || kind === 'real' || kind === 'numeric') return /^-?\d+(\.\d+)?$/.test(text) ? text : null;
    if (kind === 'boolean') return /^(t|true)$/i.test(text) ? '1' : /^(f|false)$/i.test(text) ? '0' : null;
    return quoteLiteral(text);
  }
  const number = /^\(?(-?\d+(?:\.\d+)?)\)?(?:::[\w ]+)?$/.exec(e);
  if (number) return number[1]!;
  if (/^true$/i.test(e)) return '1';
  if (/^false$/i.test(e)) return '0';
  if (NOW.test(e)) return kind === 'date' ? 'CURRENT_DATE' : 'CURRENT_TIMESTAMP';
  if (/^CURRENT_DATE$/i.test(e)) return 'CURRENT_DATE';
  if (/^(CURRENT_TIME|LOCALTIME)$/i.test(e)) return 'CURRENT_TIME';
  return null;
}

/**
 * The model of a table created on PostgreSQL, with SQLite's declared types. A table
 * without a primary key has no key to write its rows by: null, and a notice says so.
 */
export function modelFromCatalog(table: PgCatalogTable, notices: Notice[]): TableModel | null {
  if (table.key.length === 0) {
    notices.push({ level: 'warn', table: table.name, message: 'created on PostgreSQL without a primary key: not exported (add one, so that its rows can be written by key)' });
    return null;
  }
  const singleIntegerKey = table.key.length === 1 && ['int2', 'int4', 'int8'].includes(table.columns.find((c) => c.name === table.key[0])?.base ?? '');
  const columns: ColumnModel[] = table.columns.map((c) => {
    const { declaredType, kind, note } = sqliteTypeOf(c);
    const identity = singleIntegerKey && c.name === table.key[0];
    let sqliteDefault: string | null = null;
    if (c.default !== null && !c.identity && !/^nextval\(/i.test(c.default)) {
      sqliteDefault = sqliteDefaultOf(c.default, kind);
      if (sqliteDefault === null) notices.push({ level: 'warn', table: table.name, column: c.name, message: `DEFAULT ${c.default} has no SQLite equivalent: not declared` });
    }
    if (c.generated) notices.push({ level: 'info', table: table.name, column: c.name, message: 'generated column: written as plain values' });
    return {
      name: c.name,
      declaredType,
      notNull: c.notNull || table.key.includes(c.name),
      sqliteDefault,
      kind,
      // The type liteshift makes for these values (a model on a topic is checked for one); the
      // column's own type is the catalog's, kept beside the model by whoever reads the rows.
      pgType: pgTypeOf(kind, declaredType),
      pgDefault: null,
      identity,
      reason: `PostgreSQL ${c.type} → ${declaredType}${identity ? ' PRIMARY KEY (rowid alias)' : ''}${note ? `, ${note}` : ''}`,
    };
  });
  for (const why of table.dropped) notices.push({ level: 'warn', table: table.name, message: why });
  const indexes: IndexModel[] = [
    ...table.uniques.map((cols): IndexModel => ({ name: `${table.name}_${cols.join('_')}_key`, unique: true, columns: cols, origin: 'u' })),
    ...table.indexes.map((i): IndexModel => ({ name: i.name, unique: i.unique, columns: i.columns, origin: 'c' })),
  ];
  return { name: table.name, withoutRowid: false, columns, key: table.key, keyIsRowid: false, foreignKeys: table.foreignKeys, indexes, checks: [] };
}
