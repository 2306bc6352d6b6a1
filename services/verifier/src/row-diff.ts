import { createHash } from 'node:crypto';
import {
  Rejection,
  canonical,
  keyColumns,
  pgColumnName,
  pgTableName,
  qualified,
  quoteIdent,
  sqliteCompareExpr,
  sqliteReadExpr,
  sqliteTableRef,
  rowidName,
  sqlValueFromCanonical,
  TableReader,
  CHUNK_BYTES,
  rowBytes,
  ByteBuffer,
  toPgText,
  type ColumnModel,
  type PgClient,
  type SqlValue,
  type SqliteDatabase,
  type TableModel,
  type ValueKind,
} from '@liteshift/shared';
import { checksumText, pgChecksumField, writeChecksumField } from './checksum.js';

export type RowDifferenceKind = 'missing' | 'extra' | 'changed';

export interface RowDifference {
  kind: RowDifferenceKind;
  /** Canonical key values. */
  key: (string | null)[];
  /** For `changed`: the columns that differ. */
  columns?: string[];
}

export interface RangeStats {
  /** Key ranges whose checksums were compared (bisected sub-ranges included). */
  checked: number;
  /** Ranges whose checksums differed and whose rows were then compared one by one. */
  rechecked: number;
  /** Differing ranges split into sub-ranges, checksummed again, before any row was fetched. */
  bisected: number;
  /** PostgreSQL rows fetched to be compared one by one. */
  rowsFetched: number;
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
  /** Changed rows per column (every changed row counted, beyond the limit). */
  changedColumns: Record<string, number>;
  ranges: RangeStats;
}

export interface DiffOptions {
  /** How many differences the result lists (all are counted). */
  limit?: number;
  /**
   * Sees every difference, beyond the limit. `sourceKey` is the key as SQLite stores it
   * (for missing and changed rows), which finds the row again exactly.
   */
  onDifference?: (difference: RowDifference, sourceKey?: SqlValue[]) => void;
  /** Rows per checksummed key range (default 10,000). */
  rangeRows?: number;
}

/** How each side orders a key column so that both orders agree with `compareKeyPart`. */
function sqliteOrder(column: ColumnModel, rowid: string): string {
  if (column.synthetic === 'rowid') return rowid;
  const c = quoteIdent(column.name);
  if (column.kind === 'text') return `CAST(${c} AS TEXT) COLLATE BINARY`;
  if (column.kind === 'integer' || column.kind === 'real' || column.kind === 'blob') return sqliteCompareExpr(column);
  return `${c} COLLATE BINARY`;
}

function pgOrder(column: ColumnModel): string {
  const c = `t.${quoteIdent(pgColumnName(column))}`;
  return column.kind === 'text' ? `${c} COLLATE "C"` : c;
}

function canonicalKey(kind: ValueKind, text: string | null): string | null {
  return text === null || text.startsWith('\u0000') ? text : canonical(kind, text);
}

function compareKeyPart(kind: ValueKind, a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  // A key the loader refused exists only in SQLite: placed first, it is reported missing
  // without moving past any PostgreSQL row.
  if (a.startsWith('\u0000') || b.startsWith('\u0000')) return a.startsWith('\u0000') ? (b.startsWith('\u0000') ? (a < b ? -1 : 1) : -1) : 1;
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

/** The table reduced to its key: comparing it finds missing and extra rows only, fast. */
export function keyOnly(table: TableModel): TableModel {
  return { ...table, columns: table.columns.filter((c) => table.key.includes(c.name)) };
}

/** A row as compared: each value's PostgreSQL text, its key in canonical form, and (source side) the row as SQLite gave it. */
interface ComparedRow {
  texts: (string | null)[];
  key: (string | null)[];
  raw?: readonly SqlValue[];
}

/** The text the loader would have written for a SQLite value; a refused value stays distinct. */
function sourceText(column: ColumnModel, value: SqlValue): string | null {
  const text = toPgText(column.kind, value, column);
  return text instanceof Rejection ? `\u0000rejected: ${text.reason}` : text;
}

/** Equal texts are equal values; only texts that differ are normalised (the rare, slow path). */
function sameValue(kind: ValueKind, a: string | null, b: string | null): boolean {
  return a === b || (a !== null && b !== null && canonical(kind, a) === canonical(kind, b));
}

/** Rows per checksummed key range: small enough to re-compare row by row when they differ. */
const RANGE_ROWS = 10_000;
/** A differing range of at most this many rows is fetched; a larger one is bisected first. */
const FETCH_ROWS = 600;
/** Sub-ranges a differing range is split into, all checksummed by one query. */
const BUCKETS = 16;
/** A fetch larger than this is read through a cursor instead of one result. */
const CURSOR_ROWS = 20_000;

/** Merges two key-ordered row streams, noting every missing, extra and changed row. */
class Comparison {
  readonly result: TableDiff;
  readonly keyIdx: number[];
  readonly keyCols: ColumnModel[];

  constructor(
    readonly table: TableModel,
    private readonly options: DiffOptions,
  ) {
    this.result = {
      table: table.name,
      sourceRows: 0,
      targetRows: 0,
      missing: 0,
      extra: 0,
      changed: 0,
      differences: [],
      changedColumns: {},
      ranges: { checked: 0, rechecked: 0, bisected: 0, rowsFetched: 0 },
    };
    this.keyIdx = table.key.map((k) => table.columns.findIndex((c) => c.name === k));
    this.keyCols = this.keyIdx.map((i) => table.columns[i]!);
  }

  sourceRow(raw: readonly SqlValue[]): ComparedRow {
    const texts = raw.map((v, i) => sourceText(this.table.columns[i]!, v));
    return { texts, key: this.keyOf(texts), raw };
  }

  /** The key of a source row, without the texts of its other columns. */
  sourceKey(raw: readonly SqlValue[]): Key {
    return this.keyIdx.map((k, i) => canonicalKey(this.keyCols[i]!.kind, sourceText(this.keyCols[i]!, raw[k]!)));
  }

  targetRow(texts: (string | null)[]): ComparedRow {
    return { texts, key: this.keyOf(texts) };
  }

  private keyOf(texts: (string | null)[]): (string | null)[] {
    return this.keyIdx.map((k, i) => canonicalKey(this.keyCols[i]!.kind, texts[k]!));
  }

  private note(d: RowDifference, raw?: readonly SqlValue[]): void {
    this.result[d.kind]++;
    for (const column of d.columns ?? []) this.result.changedColumns[column] = (this.result.changedColumns[column] ?? 0) + 1;
    if (this.result.differences.length < (this.options.limit ?? 100)) this.result.differences.push(d);
    this.options.onDifference?.(d, raw ? this.keyIdx.map((i) => raw[i]!) : undefined);
  }

  compareKeys(a: ComparedRow, b: ComparedRow): number {
    for (let i = 0; i < this.keyCols.length; i++) {
      const c = compareKeyPart(this.keyCols[i]!.kind, a.key[i]!, b.key[i]!);
      if (c !== 0) return c;
    }
    return 0;
  }

  /** The columns whose values differ, or null when the rows are equal. */
  differingColumns(a: readonly (string | null)[], b: readonly (string | null)[]): string[] | null {
    const columns = this.table.columns;
    let differing: string[] | null = null;
    for (let i = 0; i < columns.length; i++) {
      if (!sameValue(columns[i]!.kind, a[i]!, b[i]!)) (differing ??= []).push(columns[i]!.name);
    }
    return differing;
  }

  async merge(source: Iterator<ComparedRow>, target: AsyncIterator<ComparedRow>): Promise<void> {
    let s = source.next();
    let t = await target.next();
    while (!s.done || !t.done) {
      const cmp = s.done ? 1 : t.done ? -1 : this.compareKeys(s.value, t.value);
      if (cmp < 0) {
        this.result.sourceRows++;
        this.note({ kind: 'missing', key: s.value!.key }, s.value!.raw);
        s = source.next();
      } else if (cmp > 0) {
        this.result.targetRows++;
        this.note({ kind: 'extra', key: t.value!.key });
        t = await target.next();
      } else {
        this.result.sourceRows++;
        this.result.targetRows++;
        const differing = this.differingColumns(s.value!.texts, t.value!.texts);
        if (differing) this.note({ kind: 'changed', key: s.value!.key, columns: differing }, s.value!.raw);
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
 * Compares every row of one table on both sides (contract 7), data-diff style. Tables whose
 * key columns are integers or text are cut into key ranges of 10,000 rows: PostgreSQL
 * checksums each range in SQL while SQLite's side is hashed here, from the same normal
 * form of every value (checksum.ts). A range whose checksums differ is split into 16
 * sub-ranges checksummed again, down to a few hundred rows, and only those rows are
 * fetched and compared one by one. Tables keyed otherwise (dates, reals, blobs) are
 * merged whole. Both sides are streamed in key order; neither is ever loaded whole.
 */
export async function diffTableRows(
  db: SqliteDatabase,
  pg: PgClient,
  schema: string,
  table: TableModel,
  options: DiffOptions = {},
): Promise<TableDiff> {
  const comparison = new Comparison(table, options);
  const keyCols = comparison.keyCols;
  if (keyCols.every((c) => c.kind === 'integer' || c.kind === 'text')) {
    await new RangeDiff(db, pg, schema, table, comparison, options.rangeRows ?? RANGE_ROWS).run();
  } else {
    await diffWhole(db, pg, schema, table, comparison);
  }
  return comparison.result;
}

function pgSelect(schema: string, table: TableModel, where: string, keyCols: readonly ColumnModel[]): string {
  const columns = table.columns.map((c) => `t.${quoteIdent(pgColumnName(c))}::text`).join(', ');
  return `SELECT ${columns} FROM ${qualified(schema, pgTableName(table))} AS t${where} ORDER BY ${keyCols.map(pgOrder).join(', ')}`;
}

/** SQLite's rows in the order PostgreSQL's `pgOrder` gives them, from one statement. */
function* sqliteOrdered(db: SqliteDatabase, table: TableModel, keyCols: readonly ColumnModel[]): Generator<SqlValue[]> {
  const rowid = rowidName(table) ?? 'rowid';
  const select = table.columns.map((c) => sqliteReadExpr(c, rowid)).join(', ');
  const order = keyCols.map((c) => sqliteOrder(c, rowid)).join(', ');
  yield* db.prepare(`SELECT ${select} FROM ${sqliteTableRef(table)} ORDER BY ${order}`).raw(true).iterate() as IterableIterator<SqlValue[]>;
}

async function diffWhole(db: SqliteDatabase, pg: PgClient, schema: string, table: TableModel, comparison: Comparison): Promise<void> {
  const source = (function* (): Generator<ComparedRow> {
    for (const raw of sqliteOrdered(db, table, comparison.keyCols)) yield comparison.sourceRow(raw);
  })();
  const target = (async function* (): AsyncGenerator<ComparedRow> {
    for await (const texts of pgRows(pg, pgSelect(schema, table, '', comparison.keyCols))) {
      comparison.result.ranges.rowsFetched++;
      yield comparison.targetRow(texts);
    }
  })();
  await comparison.merge(source, target);
}

type Key = (string | null)[];

/** A key that can bound a range in SQL: no NULL part, no value the loader refused. */
function usableBound(key: Key): boolean {
  return key.every((k) => k !== null && !k.startsWith('\u0000'));
}

/**
 * The checksum of source rows as SQLite gave them, as PostgreSQL computes it for the same
 * rows. Each value's text is made, written and dropped: a range's rows are held while
 * PostgreSQL computes its side, and texts kept with them would only be compared if the
 * checksums differ (then resolve() makes them).
 */
function digest(table: TableModel, rows: readonly (readonly SqlValue[])[]): string | null {
  if (rows.length === 0) return null;
  const columns = table.columns;
  // Bytes written straight into one buffer, hashed once: strings per value and a call into
  // the hash per row cost more than the hashing.
  const out = new ByteBuffer(1 << 20);
  for (let r = 0; r < rows.length; r++) {
    if (r > 0) out.byte(0x0a);
    const raw = rows[r]!;
    for (let i = 0; i < raw.length; i++) {
      const column = columns[i]!;
      writeChecksumField(out, checksumText(column, sourceText(column, raw[i]!)));
    }
  }
  return createHash('md5').update(out.bytes()).digest('hex');
}

/** Key-range comparison: checksums per range, bisected where they differ, rows only where needed. */
class RangeDiff {
  private readonly keyCols: readonly ColumnModel[];
  private readonly keyTuple: string;
  private readonly rowText: string;
  private readonly from: string;
  private readonly orderBy: string;
  /** Differing ranges still to be fetched without bisecting: the last bisection found differences everywhere. */
  private skipBisect = 0;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly pg: PgClient,
    private readonly schema: string,
    private readonly table: TableModel,
    private readonly comparison: Comparison,
    private readonly rangeRows: number,
  ) {
    this.keyCols = comparison.keyCols;
    this.keyTuple = `(${this.keyCols.map((c) => `t.${quoteIdent(pgColumnName(c))}${c.kind === 'text' ? ' COLLATE "C"' : ''}`).join(', ')})`;
    this.rowText = table.columns.map((c) => pgChecksumField(c)).join(' || ');
    this.from = `${qualified(schema, pgTableName(table))} AS t`;
    this.orderBy = this.keyCols.map(pgOrder).join(', ');
  }

  /** The source side in chunks of key order: paged by key where SQLite's own key order is PostgreSQL's. */
  private *sourceChunks(): Generator<SqlValue[][]> {
    const reader = new TableReader(this.db, this.table);
    if (reader.inKeyOrder && this.keyCols.every((c) => c.kind === 'integer')) {
      // Each chunk its own short read: a long read would pin the WAL of a live database.
      yield* reader.chunks(this.rangeRows);
      return;
    }
    // Text keys sort by their UTF-8 bytes on both sides (CAST … COLLATE BINARY, COLLATE "C"),
    // an order no SQLite index serves: one ordered statement, read as it streams.
    let chunk: SqlValue[][] = [];
    let bytes = 0;
    for (const raw of sqliteOrdered(this.db, this.table, this.keyCols)) {
      chunk.push(raw);
      bytes += rowBytes(raw);
      if (chunk.length >= this.rangeRows || bytes >= CHUNK_BYTES) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
    }
    if (chunk.length > 0) yield chunk;
  }

  async run(): Promise<void> {
    const chunks = this.sourceChunks();
    const cursor = { next: chunks.next() };
    let lo: Key | null = null;
    let pending: SqlValue[][] = [];
    while (!cursor.next.done) {
      const chunk = cursor.next.value;
      pending = pending.length ? pending.concat(chunk) : chunk;
      // A range ends at a key PostgreSQL can compare with; rows with refused keys ride along.
      let end = pending.length - 1;
      while (end >= 0 && !usableBound(this.comparison.sourceKey(pending[end]!))) end--;
      if (end < 0) {
        cursor.next = chunks.next();
        continue;
      }
      const hi = this.comparison.sourceKey(pending[end]!);
      // The next chunk is read while PostgreSQL checksums this range.
      await this.checkRange(pending.slice(0, end + 1), lo, hi, () => (cursor.next = chunks.next()));
      pending = pending.slice(end + 1);
      lo = hi;
    }
    // Rows past SQLite's largest key exist only in PostgreSQL.
    await this.checkRange(pending, lo, null);
  }

  private params(values: (string | null)[], key: Key): string {
    const start = values.length;
    values.push(...key);
    return `(${this.keyCols.map((c, i) => `$${start + i + 1}::${c.pgType}${c.kind === 'text' ? ' COLLATE "C"' : ''}`).join(', ')})`;
  }

  private where(values: (string | null)[], lo: Key | null, hi: Key | null): string {
    const parts: string[] = [];
    if (lo) parts.push(`${this.keyTuple} > ${this.params(values, lo)}`);
    if (hi) parts.push(`${this.keyTuple} <= ${this.params(values, hi)}`);
    return parts.length ? ` WHERE ${parts.join(' AND ')}` : '';
  }

  private async checkRange(rows: SqlValue[][], lo: Key | null, hi: Key | null, meanwhile?: () => void): Promise<void> {
    const values: (string | null)[] = [];
    const where = this.where(values, lo, hi);
    const pending = this.pg.query<{ n: number; h: string | null }>(
      `SELECT count(*)::int AS n, md5(string_agg(${this.rowText}, E'\\n' ORDER BY ${this.orderBy})) AS h FROM ${this.from}${where}`,
      values,
    );
    pending.catch(() => undefined);
    // Hashed while PostgreSQL computes its side.
    const mine = digest(this.table, rows);
    meanwhile?.();
    const { n, h } = (await pending).rows[0]!;
    this.comparison.result.ranges.checked++;
    if (n === rows.length && h === mine) {
      this.comparison.matched(n);
      return;
    }
    await this.resolve(rows.map((r) => this.comparison.sourceRow(r)), lo, hi, n);
  }

  /** A range whose checksums differ: bisect it while that pays, else compare its rows. */
  private async resolve(rows: ComparedRow[], lo: Key | null, hi: Key | null, targetCount: number, top = true): Promise<void> {
    const skip = top && this.skipBisect > 0;
    if (skip) this.skipBisect--;
    const bounds = skip ? [] : this.bucketBounds(rows);
    // Few rows, or many rows PostgreSQL has and SQLite has not (source keys cannot split those), or differences everywhere.
    if (rows.length <= FETCH_ROWS || targetCount > 2 * rows.length + FETCH_ROWS || bounds.length === 0) {
      await this.fetchAndMerge(rows, lo, hi, targetCount);
      return;
    }
    this.comparison.result.ranges.bisected++;
    const values: (string | null)[] = [];
    const where = this.where(values, lo, hi);
    const cases = bounds.map((b, i) => `WHEN ${this.keyTuple} <= ${this.params(values, rows[b]!.key)} THEN ${i}`).join(' ');
    const result = await this.pg.query<{ b: number; n: number; h: string }>(
      `SELECT CASE ${cases} ELSE ${bounds.length} END AS b, count(*)::int AS n, md5(string_agg(${this.rowText}, E'\\n' ORDER BY ${this.orderBy})) AS h ` +
        `FROM ${this.from}${where} GROUP BY 1`,
      values,
    );
    const theirs = new Map(result.rows.map((r) => [r.b, r]));
    const parts: { rows: ComparedRow[]; lo: Key | null; hi: Key | null; n: number }[] = [];
    let start = 0;
    for (let i = 0; i <= bounds.length; i++) {
      const end = i < bounds.length ? bounds[i]! + 1 : rows.length;
      const part = rows.slice(start, end);
      const partLo = i === 0 ? lo : rows[bounds[i - 1]!]!.key;
      const partHi = i < bounds.length ? rows[bounds[i]!]!.key : hi;
      const t = theirs.get(i);
      this.comparison.result.ranges.checked++;
      if ((t?.n ?? 0) === part.length && (t?.h ?? null) === digest(this.table, part.map((r) => r.raw!))) this.comparison.matched(part.length);
      else parts.push({ rows: part, lo: partLo, hi: partHi, n: t?.n ?? 0 });
      start = end;
    }
    // Differences spread over most sub-ranges: fetching is cheaper than another level, here
    // and for the next differing ranges (a column that differs in every row, a table reloaded).
    const dense = parts.length > (bounds.length + 1) / 2;
    if (dense) this.skipBisect = 8;
    for (const part of parts) {
      if (dense) await this.fetchAndMerge(part.rows, part.lo, part.hi, part.n);
      else await this.resolve(part.rows, part.lo, part.hi, part.n, false);
    }
  }

  /** Indexes of the rows that end each sub-range but the last (each a usable bound). */
  private bucketBounds(rows: readonly ComparedRow[]): number[] {
    const out: number[] = [];
    const size = rows.length / BUCKETS;
    for (let i = 1; i < BUCKETS; i++) {
      let at = Math.floor(i * size) - 1;
      while (at >= 0 && !usableBound(rows[at]!.key)) at--;
      if (at >= 0 && at < rows.length - 1 && (out.length === 0 || at > out[out.length - 1]!)) out.push(at);
    }
    return out;
  }

  private async fetchAndMerge(rows: ComparedRow[], lo: Key | null, hi: Key | null, targetCount: number): Promise<void> {
    const stats = this.comparison.result.ranges;
    stats.rechecked++;
    const values: (string | null)[] = [];
    const sql = pgSelect(this.schema, this.table, this.where(values, lo, hi), this.keyCols);
    const comparison = this.comparison;
    const pg = this.pg;
    const target = (async function* (): AsyncGenerator<ComparedRow> {
      const texts = targetCount > CURSOR_ROWS ? pgRows(pg, sql, values) : (async function* () {
        yield* (await pg.query({ text: sql, values, rowMode: 'array' })).rows as (string | null)[][];
      })();
      for await (const t of texts) {
        stats.rowsFetched++;
        yield comparison.targetRow(t);
      }
    })();
    await this.comparison.merge(rows[Symbol.iterator](), target);
  }
}

async function* pgRows(pg: PgClient, sql: string, values: unknown[] = []): AsyncGenerator<(string | null)[]> {
  const cursor = quoteIdent(`liteshift_diff_${Math.random().toString(36).slice(2)}`);
  await pg.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await pg.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`, values);
    for (;;) {
      const batch = await pg.query({ text: `FETCH 5000 FROM ${cursor}`, rowMode: 'array' });
      if (batch.rows.length === 0) break;
      yield* batch.rows as (string | null)[][];
    }
  } finally {
    await pg.query('COMMIT').catch(() => undefined);
  }
}

/** What one key holds on each side right now: the row's texts, or null when absent. */
export interface KeyedRows {
  source: (string | null)[] | null;
  target: (string | null)[] | null;
}

/**
 * Reads the rows of the given keys on both sides, for a re-check of differences found
 * earlier. `sourceKeys` (as SQLite stores them) are used where known, else the canonical
 * key is turned back into a SQLite value.
 */
export class KeyLookup {
  private readonly comparison: Comparison;
  private readonly sqliteGet;

  constructor(
    db: SqliteDatabase,
    private readonly pg: PgClient,
    private readonly schema: string,
    readonly table: TableModel,
  ) {
    this.comparison = new Comparison(table, { limit: 0 });
    const rowid = rowidName(table) ?? 'rowid';
    const select = table.columns.map((c) => sqliteReadExpr(c, rowid)).join(', ');
    const where = table.keyIsRowid ? `${rowid} = ?` : keyColumns(table).map((c) => `${sqliteCompareExpr(c)} = ?`).join(' AND ');
    this.sqliteGet = db.prepare(`SELECT ${select} FROM ${sqliteTableRef(table)} WHERE ${where}`).raw(true);
  }

  /** The SQLite value of a canonical key (what a key found only in PostgreSQL is looked up and deleted by). */
  sqliteKey(key: readonly (string | null)[]): SqlValue[] {
    return key.map((v, i) => sqlValueFromCanonical(this.comparison.keyCols[i]!.kind, v));
  }

  /** Source rows as texts, null when the key is gone. */
  sourceRows(keys: readonly { key: (string | null)[]; sourceKey?: SqlValue[] }[]): ((string | null)[] | null)[] {
    return keys.map(({ key, sourceKey }) => {
      const raw = this.sqliteGet.get(...(sourceKey ?? this.sqliteKey(key))) as SqlValue[] | undefined;
      return raw ? this.comparison.sourceRow(raw).texts : null;
    });
  }

  /** Target rows as texts, null when the key is not in PostgreSQL. */
  async targetRows(keys: readonly (string | null)[][]): Promise<((string | null)[] | null)[]> {
    const found = new Map<string, (string | null)[]>();
    // A key part PostgreSQL could not hold (refused, NULL) is simply not there.
    const askable = keys.filter(usableBound);
    const cols = this.comparison.keyCols;
    for (let i = 0; i < askable.length; i += 1000) {
      const batch = askable.slice(i, i + 1000);
      const arrays = cols.map((_, c) => batch.map((k) => k[c]!));
      const unnest = cols.map((c, j) => `$${j + 1}::${c.pgType}[]`).join(', ');
      const tuple = `(${cols.map((c) => `t.${quoteIdent(pgColumnName(c))}`).join(', ')})`;
      const columns = this.table.columns.map((c) => `t.${quoteIdent(pgColumnName(c))}::text`).join(', ');
      const result = await this.pg.query({
        text: `SELECT ${columns} FROM ${qualified(this.schema, pgTableName(this.table))} AS t WHERE ${tuple} IN (SELECT * FROM unnest(${unnest}))`,
        values: arrays,
        rowMode: 'array',
      });
      for (const texts of result.rows as (string | null)[][]) found.set(keyId(this.comparison.targetRow(texts).key), texts);
    }
    return keys.map((k) => found.get(keyId(k)) ?? null);
  }

  /** The difference between what the two sides hold for one key, or null when they agree. */
  difference(key: (string | null)[], rows: KeyedRows): RowDifference | null {
    if (!rows.source && !rows.target) return null;
    if (!rows.target) return { kind: 'missing', key };
    if (!rows.source) return { kind: 'extra', key };
    const columns = this.comparison.differingColumns(rows.source, rows.target);
    return columns ? { kind: 'changed', key, columns } : null;
  }
}

/** A stable identity for a canonical key. */
export function keyId(key: readonly (string | null)[]): string {
  return JSON.stringify(key);
}
