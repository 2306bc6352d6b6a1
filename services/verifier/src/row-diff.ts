import { createHash } from 'node:crypto';
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
  /** Key ranges checksummed on both sides, and those whose checksums differed (compared row by row). */
  ranges: { checked: number; rechecked: number };
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

/** Rows per checksummed key range: small enough to re-compare row by row when they differ. */
const RANGE_ROWS = 10_000;

/** One value in the checksummed text: length-prefixed, so no separator can be forged by data. */
function checksumField(text: string | null): string {
  return text === null ? '~' : `${Buffer.byteLength(text, 'utf8')}:${text}`;
}

/** The same text, computed by PostgreSQL from a column. */
function pgChecksumField(column: ColumnModel): string {
  const c = `t.${quoteIdent(column.name)}`;
  // boolean::text is 'true'/'false'; the loader writes (and PostgreSQL prints) 't'/'f'.
  const text = column.kind === 'boolean' ? `CASE WHEN ${c} THEN 't' ELSE 'f' END` : `${c}::text`;
  return `CASE WHEN ${c} IS NULL THEN '~' ELSE octet_length(${text})::text || ':' || ${text} END`;
}

/** Merges two key-ordered row streams, noting every missing, extra and changed row. */
class Comparison {
  readonly result: TableDiff;
  readonly keyIdx: number[];
  readonly keyCols: ColumnModel[];

  constructor(
    readonly table: TableModel,
    private readonly options: DiffOptions,
  ) {
    this.result = { table: table.name, sourceRows: 0, targetRows: 0, missing: 0, extra: 0, changed: 0, differences: [], ranges: { checked: 0, rechecked: 0 } };
    this.keyIdx = table.key.map((k) => table.columns.findIndex((c) => c.name === k));
    this.keyCols = this.keyIdx.map((i) => table.columns[i]!);
  }

  sourceRow(raw: readonly SqlValue[]): ComparedRow {
    const texts = raw.map((v, i) => sourceText(this.table.columns[i]!, v));
    return { texts, key: this.keyOf(texts) };
  }

  targetRow(texts: (string | null)[]): ComparedRow {
    return { texts, key: this.keyOf(texts) };
  }

  private keyOf(texts: (string | null)[]): (string | null)[] {
    return this.keyIdx.map((k, i) => canonicalKey(this.keyCols[i]!.kind, texts[k]!));
  }

  private note(d: RowDifference): void {
    this.result[d.kind]++;
    if (this.result.differences.length < (this.options.limit ?? 100)) this.result.differences.push(d);
    this.options.onDifference?.(d);
  }

  private compareKeys(a: ComparedRow, b: ComparedRow): number {
    for (let i = 0; i < this.keyCols.length; i++) {
      const c = compareKeyPart(this.keyCols[i]!.kind, a.key[i]!, b.key[i]!);
      if (c !== 0) return c;
    }
    return 0;
  }

  async merge(source: Iterator<ComparedRow>, target: AsyncIterator<ComparedRow>): Promise<void> {
    const columns = this.table.columns;
    let s = source.next();
    let t = await target.next();
    while (!s.done || !t.done) {
      const cmp = s.done ? 1 : t.done ? -1 : this.compareKeys(s.value, t.value);
      if (cmp < 0) {
        this.result.sourceRows++;
        this.note({ kind: 'missing', key: s.value!.key });
        s = source.next();
      } else if (cmp > 0) {
        this.result.targetRows++;
        this.note({ kind: 'extra', key: t.value!.key });
        t = await target.next();
      } else {
        this.result.sourceRows++;
        this.result.targetRows++;
        const a = s.value!.texts;
        const b = t.value!.texts;
        let differing: string[] | null = null;
        for (let i = 0; i < columns.length; i++) {
          if (!sameValue(columns[i]!.kind, a[i]!, b[i]!)) (differing ??= []).push(columns[i]!.name);
        }
        if (differing) this.note({ kind: 'changed', key: s.value!.key, columns: differing });
        s = source.next();
        t = await target.next();
      }
    }
  }

  /** Counts rows that matched without being compared one by one (their range checksums agreed). */
  matched(rows: number): void {
    this.result.sourceRows += rows;
    this.result.targetRows += rows;
  }
}

/**
 * Compares every row of one table on both sides (contract 7). Tables read in key order
 * with integer keys are cut into key ranges of 10,000 rows: PostgreSQL checksums each
 * range in SQL while SQLite's side is hashed here, and only a range whose checksums
 * differ is compared row by row (the data-diff idea). Other tables are merged whole,
 * both sides streamed in key order. Neither side is ever loaded into memory.
 */
export async function diffTableRows(
  db: SqliteDatabase,
  pg: PgClient,
  schema: string,
  table: TableModel,
  options: DiffOptions = {},
): Promise<TableDiff> {
  const comparison = new Comparison(table, options);
  const reader = new TableReader(db, table);
  if (reader.inKeyOrder && comparison.keyCols.every((c) => c.kind === 'integer')) {
    await diffByRanges(pg, schema, table, reader, comparison);
  } else {
    await diffWhole(db, pg, schema, table, comparison);
  }
  return comparison.result;
}

function pgSelect(schema: string, table: TableModel, where: string, keyCols: readonly ColumnModel[]): string {
  const columns = table.columns.map((c) => `t.${quoteIdent(c.name)}::text`).join(', ');
  return `SELECT ${columns} FROM ${qualified(schema, table.name)} AS t${where} ORDER BY ${keyCols.map(pgOrder).join(', ')}`;
}

async function diffWhole(db: SqliteDatabase, pg: PgClient, schema: string, table: TableModel, comparison: Comparison): Promise<void> {
  const rowid = rowidName(table) ?? 'rowid';
  const select = table.columns.map((c) => (c.synthetic === 'rowid' ? rowid : quoteIdent(c.name))).join(', ');
  const order = comparison.keyCols.map((c) => sqliteOrder(c, rowid)).join(', ');
  const sqliteSql = `SELECT ${select} FROM main.${quoteIdent(table.name)} ORDER BY ${order}`;
  const source = (function* (): Generator<ComparedRow> {
    for (const raw of db.prepare(sqliteSql).raw(true).iterate() as IterableIterator<SqlValue[]>) yield comparison.sourceRow(raw);
  })();
  const target = (async function* (): AsyncGenerator<ComparedRow> {
    for await (const texts of pgRows(pg, pgSelect(schema, table, '', comparison.keyCols))) yield comparison.targetRow(texts);
  })();
  await comparison.merge(source, target);
}

async function diffByRanges(pg: PgClient, schema: string, table: TableModel, reader: TableReader, comparison: Comparison): Promise<void> {
  const keyCols = comparison.keyCols;
  const keyTuple = `(${keyCols.map((c) => `t.${quoteIdent(c.name)}`).join(', ')})`;
  const params = (offset: number) => `(${keyCols.map((c, i) => `$${offset + i + 1}::${c.pgType}`).join(', ')})`;
  const rowText = table.columns.map(pgChecksumField).join(' || ');
  const checksumSql = (where: string) =>
    `SELECT count(*)::int AS n, md5(string_agg(${rowText}, E'\n' ORDER BY ${keyCols.map(pgOrder).join(', ')})) AS h ` +
    `FROM ${qualified(schema, table.name)} AS t${where}`;

  const rangeWhere = (lo: (string | null)[] | null, hi: (string | null)[] | null): { where: string; values: (string | null)[] } => {
    const parts: string[] = [];
    const values: (string | null)[] = [];
    if (lo) {
      parts.push(`${keyTuple} > ${params(values.length)}`);
      values.push(...lo);
    }
    if (hi) {
      parts.push(`${keyTuple} <= ${params(values.length)}`);
      values.push(...hi);
    }
    return { where: parts.length ? ` WHERE ${parts.join(' AND ')}` : '', values };
  };

  const checkRange = async (raw: readonly SqlValue[][], lo: (string | null)[] | null, hi: (string | null)[] | null): Promise<(string | null)[] | null> => {
    const { where, values } = rangeWhere(lo, hi);
    const pending = pg.query<{ n: number; h: string | null }>(checksumSql(where), values);
    pending.catch(() => undefined);
    // Converted and hashed while PostgreSQL computes its side.
    const rows = raw.map((r) => comparison.sourceRow(r));
    const digest = rows.length ? createHash('md5').update(rows.map((r) => r.texts.map(checksumField).join('')).join('\n')).digest('hex') : null;
    const { n, h } = (await pending).rows[0]!;
    comparison.result.ranges.checked++;
    if (n === rows.length && h === digest) {
      comparison.matched(n);
      return hi;
    }
    comparison.result.ranges.rechecked++;
    const target = (async function* (): AsyncGenerator<ComparedRow> {
      const result = await pg.query({ text: pgSelect(schema, table, where, keyCols), values, rowMode: 'array' });
      for (const texts of result.rows as (string | null)[][]) yield comparison.targetRow(texts);
    })();
    await comparison.merge(rows[Symbol.iterator](), target);
    return hi;
  };

  let lo: (string | null)[] | null = null;
  for (const chunk of reader.chunks(RANGE_ROWS)) {
    lo = await checkRange(chunk.rows, lo, comparison.sourceRow(chunk.rows[chunk.rows.length - 1]!).key);
  }
  // Rows past SQLite's largest key exist only in PostgreSQL.
  await checkRange([], lo, null);
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
