import {
  Rejection,
  canonical,
  qualified,
  quoteIdent,
  rowidName,
  TableReader,
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


/** How each side orders a key column so that both orders agree with `compareKeyPart`. */
function sqliteOrder(column: ColumnModel, rowid: string): string {
  if (column.synthetic === 'rowid') return rowid;
  const c = quoteIdent(column.name);
  if (column.kind === 'text') return `CAST(${c} AS TEXT) COLLATE BINARY`;
  if (column.kind === 'integer' || column.kind === 'real' || column.kind === 'blob') return c;
  return `${c} COLLATE BINARY`;
}

function pgOrder(column: ColumnModel): string {
  const c = `t.${quoteIdent(column.name)}`;
  return column.kind === 'text' ? `${c} COLLATE "C"` : c;
}

function canonicalKey(kind: ValueKind, text: string | null): string | null {
  return text === null || text.startsWith('\u0000') ? text : canonical(kind, text);
}

function compareKeyPart(kind: ValueKind, a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  switch (kind) {
    case 'integer': {
      if (a.length < 16 && b.length < 16) return Number(a) - Number(b);
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

export interface DiffOptions {
  /** How many differences the result lists (all are counted). */
  limit?: number;
  /** Sees every difference, beyond the limit. */
  onDifference?: (difference: RowDifference) => void;
}

/** The table reduced to its key: comparing it finds missing and extra rows only, fast. */
export function keyOnly(table: TableModel): TableModel {
  return { ...table, columns: table.columns.filter((c) => table.key.includes(c.name)) };
}

/** A row as compared: each value's PostgreSQL text, and its key in canonical form for ordering. */
interface ComparedRow {
  texts: (string | null)[];
  key: (string | null)[];
}

/** The text the loader would have written for a SQLite value; a refused value stays distinct. */
function sourceText(column: ColumnModel, value: SqlValue): string | null {
  const text = toPgText(column.kind, value, column.pgType);
  return text instanceof Rejection ? `\u0000rejected: ${text.reason}` : text;
}

/** Equal texts are equal values; only texts that differ are normalised (the rare, slow path). */
function sameValue(kind: ValueKind, a: string | null, b: string | null): boolean {
  return a === b || (a !== null && b !== null && canonical(kind, a) === canonical(kind, b));
}

/**
 * Compares every row of one table on both sides, streaming both in key order and
 * merging (never loading a table). Used by the verifier and the tests.
 */
export async function diffTableRows(
  db: SqliteDatabase,
  pg: PgClient,
  schema: string,
  table: TableModel,
  options: DiffOptions = {},
): Promise<TableDiff> {
  const limit = options.limit ?? 100;
  const columns = table.columns;
  const keyIdx = table.key.map((k) => columns.findIndex((c) => c.name === k));
  const keyCols = keyIdx.map((i) => columns[i]!);
  const rowid = rowidName(table) ?? 'rowid';
  const select = columns.map((c) => (c.synthetic === 'rowid' ? rowid : quoteIdent(c.name))).join(', ');
  const sqliteSql = `SELECT ${select} FROM main.${quoteIdent(table.name)} ORDER BY ${keyCols.map((c) => sqliteOrder(c, rowid)).join(', ')}`;
  // Ordered through the table alias: a bare name would bind to the ::text output column
  // and sort integer keys as text (1, 10, 2).
  const pgSql = `SELECT ${columns.map((c) => `t.${quoteIdent(c.name)}::text`).join(', ')} FROM ${qualified(schema, table.name)} AS t ORDER BY ${keyCols.map(pgOrder).join(', ')}`;
  const keyOf = (texts: (string | null)[]) => keyIdx.map((k, i) => canonicalKey(keyCols[i]!.kind, texts[k]!));

  const reader = new TableReader(db, table);
  // Short chunked reads where they come in key order (most tables: keyed by their rowid);
  // otherwise one ordered scan.
  const sourceRows: Iterable<SqlValue[]> = reader.inKeyOrder
    ? (function* () {
        for (const chunk of reader.chunks(5000)) yield* chunk.rows;
      })()
    : (db.prepare(sqliteSql).raw(true).iterate() as IterableIterator<SqlValue[]>);
  const source = (function* (): Generator<ComparedRow> {
    for (const raw of sourceRows) {
      const texts = raw.map((v, i) => sourceText(columns[i]!, v));
      yield { texts, key: keyOf(texts) };
    }
  })();
  const target = (async function* (): AsyncGenerator<ComparedRow> {
    for await (const texts of pgRows(pg, pgSql)) yield { texts, key: keyOf(texts) };
  })();

  const result: TableDiff = { table: table.name, sourceRows: 0, targetRows: 0, missing: 0, extra: 0, changed: 0, differences: [] };
  const note = (d: RowDifference): void => {
    result[d.kind]++;
    if (result.differences.length < limit) result.differences.push(d);
    options.onDifference?.(d);
  };
  const compareKeys = (a: ComparedRow, b: ComparedRow): number => {
    for (let i = 0; i < keyCols.length; i++) {
      const c = compareKeyPart(keyCols[i]!.kind, a.key[i]!, b.key[i]!);
      if (c !== 0) return c;
    }
    return 0;
  };

  let s = source.next();
  let t = await target.next();
  while (!s.done || !t.done) {
    const cmp = s.done ? 1 : t.done ? -1 : compareKeys(s.value, t.value);
    if (cmp < 0) {
      result.sourceRows++;
      note({ kind: 'missing', key: s.value!.key });
      s = source.next();
    } else if (cmp > 0) {
      result.targetRows++;
      note({ kind: 'extra', key: t.value!.key });
      t = await target.next();
    } else {
      result.sourceRows++;
      result.targetRows++;
      const a = s.value!.texts;
      const b = t.value!.texts;
      let differing: string[] | null = null;
      for (let i = 0; i < columns.length; i++) {
        if (!sameValue(columns[i]!.kind, a[i]!, b[i]!)) (differing ??= []).push(columns[i]!.name);
      }
      if (differing) note({ kind: 'changed', key: s.value!.key, columns: differing });
      s = source.next();
      t = await target.next();
    }
  }
  return result;
}

async function* pgRows(pg: PgClient, sql: string): AsyncGenerator<(string | null)[]> {
  const cursor = quoteIdent(`liteshift_diff_${Math.random().toString(36).slice(2)}`);
  await pg.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await pg.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`);
    for (;;) {
      const batch = await pg.query({ text: `FETCH 5000 FROM ${cursor}`, rowMode: 'array' });
      if (batch.rows.length === 0) break;
      yield* batch.rows as (string | null)[][];
    }
  } finally {
    await pg.query('COMMIT').catch(() => undefined);
  }
}
