import {
  Rejection,
  canonical,
  qualified,
  quoteIdent,
  rowidName,
  toPgText,
  type ColumnModel,
  type PgClient,
  type SqlValue,
  type SqliteDatabase,
  type TableModel,
  type ValueKind,
} from '@liteshift/shared';

export type RowDifferenceKind = 'missing' | 'extra' | 'changed';

export interface RowDifference {
  kind: RowDifferenceKind;
  /** Canonical key values. */
  key: (string | null)[];
  /** For `changed`: the columns that differ. */
  columns?: string[];
}

export interface TableDiff {
  table: string;
  sourceRows: number;
  targetRows: number;
  missing: number;
  extra: number;
  changed: number;
  /** The first `limit` differences. */
  differences: RowDifference[];
}

type CanonicalRow = (string | null)[];

/** How each side orders a key column so that both orders agree with `compareKeyPart`. */
function sqliteOrder(column: ColumnModel, rowid: string): string {
  if (column.synthetic === 'rowid') return rowid;
  const c = quoteIdent(column.name);
  if (column.kind === 'text') return `CAST(${c} AS TEXT) COLLATE BINARY`;
  if (column.kind === 'integer' || column.kind === 'real' || column.kind === 'blob') return c;
  return `${c} COLLATE BINARY`;
}

function pgOrder(column: ColumnModel): string {
  const c = quoteIdent(column.name);
  return column.kind === 'text' ? `${c} COLLATE "C"` : c;
}

function compareKeyPart(kind: ValueKind, a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  switch (kind) {
    case 'integer': {
      const x = BigInt(a);
      const y = BigInt(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'real':
    case 'numeric':
      return Number(a) - Number(b);
    default:
      return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  }
}

/** Canonical text of a SQLite value as the loader would have written it; rejected values stay distinct. */
function sourceCanonical(column: ColumnModel, value: SqlValue): string | null {
  const text = toPgText(column.kind, value, column.pgType);
  if (text instanceof Rejection) return `\u0000rejected: ${text.reason}`;
  return canonical(column.kind, text);
}

/**
 * Compares every row of one table on both sides, streaming both in key order and
 * merging (never loading a table). Used by the tests and by the deep verification.
 */
export async function diffTableRows(
  db: SqliteDatabase,
  pg: PgClient,
  schema: string,
  table: TableModel,
  limit = 100,
): Promise<TableDiff> {
  const columns = table.columns;
  const keyIdx = table.key.map((k) => columns.findIndex((c) => c.name === k));
  const keyCols = keyIdx.map((i) => columns[i]!);
  const rowid = rowidName(table) ?? 'rowid';
  const select = columns.map((c) => (c.synthetic === 'rowid' ? rowid : quoteIdent(c.name))).join(', ');
  const sqliteSql = `SELECT ${select} FROM main.${quoteIdent(table.name)} ORDER BY ${keyCols.map((c) => sqliteOrder(c, rowid)).join(', ')}`;
  const pgSql = `SELECT ${columns.map((c) => `${quoteIdent(c.name)}::text`).join(', ')} FROM ${qualified(schema, table.name)} ORDER BY ${keyCols.map(pgOrder).join(', ')}`;

  const source = (function* () {
    for (const raw of db.prepare(sqliteSql).raw(true).iterate() as IterableIterator<SqlValue[]>) {
      yield raw.map((v, i) => sourceCanonical(columns[i]!, v));
    }
  })();
  const target = pgRows(pg, pgSql, columns);

  const result: TableDiff = { table: table.name, sourceRows: 0, targetRows: 0, missing: 0, extra: 0, changed: 0, differences: [] };
  const note = (d: RowDifference): void => {
    result[d.kind]++;
    if (result.differences.length < limit) result.differences.push(d);
  };
  const compareKeys = (a: CanonicalRow, b: CanonicalRow): number => {
    for (let i = 0; i < keyIdx.length; i++) {
      const c = compareKeyPart(keyCols[i]!.kind, a[keyIdx[i]!]!, b[keyIdx[i]!]!);
      if (c !== 0) return c;
    }
    return 0;
  };
  const keyOf = (row: CanonicalRow) => keyIdx.map((i) => row[i]!);

  let s = source.next();
  let t = await target.next();
  while (!s.done || !t.done) {
    const cmp = s.done ? 1 : t.done ? -1 : compareKeys(s.value, t.value);
    if (cmp < 0) {
      result.sourceRows++;
      note({ kind: 'missing', key: keyOf(s.value!) });
      s = source.next();
    } else if (cmp > 0) {
      result.targetRows++;
      note({ kind: 'extra', key: keyOf(t.value!) });
      t = await target.next();
    } else {
      result.sourceRows++;
      result.targetRows++;
      const differing = columns.filter((_, i) => s.value![i] !== t.value![i]).map((c) => c.name);
      if (differing.length > 0) note({ kind: 'changed', key: keyOf(s.value!), columns: differing });
      s = source.next();
      t = await target.next();
    }
  }
  return result;
}

async function* pgRows(pg: PgClient, sql: string, columns: readonly ColumnModel[]): AsyncGenerator<CanonicalRow> {
  const cursor = quoteIdent(`liteshift_diff_${Math.random().toString(36).slice(2)}`);
  await pg.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await pg.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`);
    for (;;) {
      const batch = await pg.query({ text: `FETCH 5000 FROM ${cursor}`, rowMode: 'array' });
      if (batch.rows.length === 0) break;
      for (const row of batch.rows as (string | null)[][]) yield row.map((v, i) => canonical(columns[i]!.kind, v));
    }
  } finally {
    await pg.query('COMMIT').catch(() => undefined);
  }
}
