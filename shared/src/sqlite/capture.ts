import { createHash } from 'node:crypto';
import { LiteshiftError } from '../errors.js';
import { quoteIdent, quoteLiteral } from '../schema/identifiers.js';
import { rowidName, type TableModel } from '../schema/model.js';
import type { SqlValue } from '../avro/binary.js';
import { INTERNAL_PREFIX } from './introspect.js';
import { REVERSE_OFFSETS } from '../contracts/applier-offsets.js';
import type { SqliteDatabase } from './open.js';

/**
 * Change capture in the SQLite file (DESIGN contract 3): triggers on every captured
 * table append (seq, table, op, key) to the changelog inside the application's own
 * transaction. They record keys only, never rows: the stream re-reads the current row,
 * which keeps the triggers cheap for the application.
 */
export const CHANGELOG = `${INTERNAL_PREFIX}changelog`;
export const STATE = `${INTERNAL_PREFIX}state`;
/** While it holds a row, the fence lets writes through: only the fallback's applier sets it, inside its own write transaction. */
export const FENCE_BYPASS = `${INTERNAL_PREFIX}fence_bypass`;

/**
 * liteshift's two sets of triggers on a table, each named after the table (a hash of its
 * name): change capture, and the cutover fence. `always` are the ones every captured
 * (fenced) table has; capture adds the REPLACE guard on tables with UNIQUE constraints.
 */
export type TriggerSet = 'capture' | 'fence';
const TRIGGER_SETS: Record<TriggerSet, { prefix: string; always: readonly string[] }> = {
  capture: { prefix: `${INTERNAL_PREFIX}t_`, always: ['ins', 'upd', 'updk', 'del'] },
  fence: { prefix: `${INTERNAL_PREFIX}fence_`, always: ['insert', 'update', 'delete'] },
};
const GUARD_SUFFIXES = ['rep', 'repu'];

export type ChangeOp = 'c' | 'u' | 'd';

export interface ChangeRow {
  seq: bigint;
  table: string;
  op: ChangeOp;
  key: SqlValue[];
}

function triggerBase(set: TriggerSet, table: string): string {
  return `${TRIGGER_SETS[set].prefix}${createHash('sha256').update(table).digest('hex').slice(0, 12)}`;
}

interface TriggerRow {
  name: string;
  table: string;
}

function triggersOf(db: SqliteDatabase, set: TriggerSet): TriggerRow[] {
  const { prefix } = TRIGGER_SETS[set];
  return db
    .prepare("SELECT name, tbl_name AS 'table' FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, ?) = ?")
    .all(prefix.length, prefix) as TriggerRow[];
}

/**
 * Tables among `tables` that lack one of the triggers of `set` every such table has.
 * `DROP TABLE` drops every trigger on the table, and SQLite has no DDL triggers: after an
 * application's migration rebuilt a table (CREATE new, copy, DROP, RENAME) this is how the
 * loss shows, even when the rebuilt table has the same name and columns.
 */
export function missingTriggers(db: SqliteDatabase, tables: readonly Pick<TableModel, 'name'>[], set: TriggerSet): string[] {
  // Table names compare without regard to ASCII case in SQLite.
  const present = new Set(triggersOf(db, set).map((t) => `${t.table.toLowerCase()}\u0000${t.name}`));
  return tables
    .filter((t) => TRIGGER_SETS[set].always.some((suffix) => !present.has(`${t.name.toLowerCase()}\u0000${triggerBase(set, t.name)}_${suffix}`)))
    .map((t) => t.name);
}

/**
 * Triggers of `set` on a table other than the one they were made for: a renamed table keeps
 * its triggers, which would record its changes under the old name.
 */
function dropStrayTriggers(db: SqliteDatabase, set: TriggerSet): void {
  for (const trigger of triggersOf(db, set)) {
    if (!trigger.name.startsWith(`${triggerBase(set, trigger.table)}_`)) db.exec(`DROP TRIGGER IF EXISTS ${quoteIdent(trigger.name)}`);
  }
}

/** The schema's version: SQLite moves it on every DDL statement (https://sqlite.org/pragma.html#pragma_schema_version). */
export function schemaVersion(db: SqliteDatabase): number {
  return Number(db.pragma('schema_version', { simple: true }));
}

/**
 * A digest of the application's schema: every object but liteshift's own (its triggers,
 * changelog and state) and SQLite's statistics, with its root page, which a table rebuilt
 * under the same name and columns does not keep. schema_version moves for liteshift's own
 * DDL too (a fence, capture triggers); this moves only for the application's.
 */
export function schemaSignature(db: SqliteDatabase): string {
  const rows = db
    .prepare(
      "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema WHERE substr(name, 1, ?) <> ? AND name <> 'sqlite_sequence' AND substr(name, 1, 11) <> 'sqlite_stat' ORDER BY type, name",
    )
    .raw(true)
    .all(INTERNAL_PREFIX.length, INTERNAL_PREFIX);
  return createHash('sha256').update(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).digest('hex');
}

/** The expressions naming a row's key inside a trigger (rowid for tables without a declared key). */
function keyExpressions(table: TableModel, row: 'NEW' | 'OLD'): string[] {
  if (table.keyIsRowid) return [`${row}.rowid`];
  return table.key.map((k) => `${row}.${quoteIdent(k)}`);
}

export function keyWidth(tables: readonly TableModel[]): number {
  return Math.max(1, ...tables.map((t) => t.key.length));
}

function keyColumns(width: number): string[] {
  return Array.from({ length: width }, (_, i) => `k${i + 1}`);
}

/**
 * Readers must never block the application's writer: WAL mode. Switching needs no other
 * connection open in rollback-journal mode; when that fails the message says what to do.
 */
export function requireWal(db: SqliteDatabase): void {
  const mode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
  if (mode === 'wal') return;
  try {
    const now = String(db.pragma('journal_mode = WAL', { simple: true })).toLowerCase();
    if (now === 'wal') return;
  } catch {
    // reported below
  }
  throw new LiteshiftError('SQLITE_UNSUPPORTED', `cannot switch the SQLite database to WAL mode (it is in ${mode} mode)`, {
    hint: 'stop the application once and run: sqlite3 <file> "PRAGMA journal_mode=WAL"; WAL lets the application write while liteshift reads',
  });
}

/** The schema version before and after liteshift's own DDL, read inside its transaction. */
export interface SchemaVersions {
  before: number;
  after: number;
}

/**
 * Creates the changelog, the state table and the triggers of every table; idempotent.
 * Returns the schema versions around it: a caller that read the schema at `before` knows
 * no other DDL came in between.
 */
export function installCapture(db: SqliteDatabase, tables: readonly TableModel[]): SchemaVersions {
  const width = keyWidth(tables);
  let before = 0;
  // IMMEDIATE (here and for every write liteshift makes to the file): the write lock is
  // awaited up front (busy_timeout); a deferred transaction that read first fails at once
  // with "database is locked" when the application commits in between.
  db.transaction(() => {
    before = schemaVersion(db);
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteIdent(CHANGELOG)} (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, op TEXT NOT NULL, ${keyColumns(width).join(', ')})`,
    );
    const have = new Set((db.prepare(`PRAGMA table_info(${quoteIdent(CHANGELOG)})`).all() as { name: string }[]).map((c) => c.name));
    for (const column of keyColumns(width)) if (!have.has(column)) db.exec(`ALTER TABLE ${quoteIdent(CHANGELOG)} ADD COLUMN ${column}`);
    db.exec(`CREATE TABLE IF NOT EXISTS ${quoteIdent(STATE)} (name TEXT PRIMARY KEY, value) WITHOUT ROWID`);
    dropStrayTriggers(db, 'capture');
    for (const table of tables) installTriggers(db, table);
  }).immediate();
  return { before, after: schemaVersion(db) };
}

/**
 * Creates the capture triggers of a table that are missing or differ from what they should
 * be, and drops those it should not have: nothing at all when they are as they should be,
 * so that the application's prepared statements are not invalidated for nothing.
 */
function installTriggers(db: SqliteDatabase, table: TableModel): void {
  const base = triggerBase('capture', table.name);
  const existing = new Map(
    (db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, ?) = ?").all(base.length + 1, `${base}_`) as { name: string; sql: string }[]).map(
      (t) => [t.name, t.sql],
    ),
  );
  const wanted = captureTriggers(db, table);
  for (const suffix of [...TRIGGER_SETS.capture.always, ...GUARD_SUFFIXES]) {
    const name = `${base}_${suffix}`;
    const sql = wanted.get(suffix);
    if (sql !== undefined && existing.get(name) === sql) continue;
    if (existing.has(name)) db.exec(`DROP TRIGGER ${quoteIdent(name)}`);
    if (sql !== undefined) db.exec(sql);
  }
}

/** The CREATE TRIGGER statements of a table's capture, by suffix, as sqlite_schema keeps them. */
function captureTriggers(db: SqliteDatabase, table: TableModel): Map<string, string> {
  const base = triggerBase('capture', table.name);
  const t = quoteIdent(table.name);
  const name = quoteLiteral(table.name);
  const cols = keyColumns(table.keyIsRowid ? 1 : table.key.length);
  const into = `INSERT INTO ${quoteIdent(CHANGELOG)} (tbl, op, ${cols.join(', ')})`;
  const insert = (op: ChangeOp, row: 'NEW' | 'OLD') => `${into} VALUES (${name}, '${op}', ${keyExpressions(table, row).join(', ')});`;
  const keyChanged = keyExpressions(table, 'OLD')
    .map((old, i) => `${old} IS NOT ${keyExpressions(table, 'NEW')[i]}`)
    .join(' OR ');
  const trigger = (suffix: string, body: string): [string, string] => [suffix, `CREATE TRIGGER ${quoteIdent(`${base}_${suffix}`)} ${body}`];
  const triggers = new Map([
    trigger('ins', `AFTER INSERT ON ${t} BEGIN ${insert('c', 'NEW')} END`),
    trigger('upd', `AFTER UPDATE ON ${t} WHEN NOT (${keyChanged}) BEGIN ${insert('u', 'NEW')} END`),
    // A key change is a delete of the old key and an insert of the new one (contract 3).
    trigger('updk', `AFTER UPDATE ON ${t} WHEN ${keyChanged} BEGIN ${insert('d', 'OLD')} ${insert('c', 'NEW')} END`),
    trigger('del', `AFTER DELETE ON ${t} BEGIN ${insert('d', 'OLD')} END`),
  ]);

  // The REPLACE guard. INSERT OR REPLACE, REPLACE INTO and UPDATE OR REPLACE delete the rows
  // sharing a UNIQUE value with the new row without firing delete triggers (unless the
  // writing connection set recursive_triggers): their keys are recorded before the write,
  // and the stream re-reads them (gone: a delete). A key recorded for a row that stays (a
  // plain insert that then fails, INSERT OR IGNORE, an upsert) is only read again. Only
  // tables with such constraints pay for it: one index probe per constraint and write.
  const uniques = uniqueConstraints(db, table);
  if (uniques.length === 0) return triggers;
  const rowid = rowidName(table) ?? 'rowid';
  const stored = table.keyIsRowid ? [rowid] : table.key.map((k) => quoteIdent(k));
  const sharing = (extra: string) =>
    uniques
      .map((u) => {
        const same = u.map((c) => `${quoteIdent(c.column)} = NEW.${quoteIdent(c.column)} COLLATE ${quoteIdent(c.collation)}`).join(' AND ');
        return `SELECT ${name}, 'd', ${stored.join(', ')} FROM ${t} WHERE ${same}${extra}`;
      })
      .join(' UNION ALL ');
  const itself = ` AND NOT (${stored.map((k, i) => `${k} IS ${keyExpressions(table, 'OLD')[i]}`).join(' AND ')})`;
  const columns = [...new Set(uniques.flatMap((u) => u.map((c) => quoteIdent(c.column))))];
  return new Map([
    ...triggers,
    trigger('rep', `BEFORE INSERT ON ${t} BEGIN ${into} ${sharing('')}; END`),
    trigger('repu', `BEFORE UPDATE OF ${columns.join(', ')} ON ${t} BEGIN ${into} ${sharing(itself)}; END`),
  ]);
}

/**
 * The table's UNIQUE constraints and indexes other than its key, as SQLite enforces them:
 * columns with the index's collation. Indexes on expressions are left out (REPLACE over one
 * of them is not guarded).
 */
function uniqueConstraints(db: SqliteDatabase, table: TableModel): { column: string; collation: string }[][] {
  const t = quoteIdent(table.name);
  const indexes = db.prepare(`PRAGMA main.index_list(${t})`).all() as { name: string; unique: bigint | number; origin: string }[];
  const key = [...table.key].sort().join('\u0000');
  const out: { column: string; collation: string }[][] = [];
  for (const index of indexes.filter((i) => Number(i.unique) === 1 && i.origin !== 'pk')) {
    const columns = (db.prepare(`PRAGMA main.index_xinfo(${quoteIdent(index.name)})`).all() as { cid: bigint | number; name: string | null; coll: string; key: bigint | number }[]).filter(
      (c) => Number(c.key) === 1,
    );
    if (columns.some((c) => Number(c.cid) < 0 || c.name === null)) continue;
    // A unique index on the key itself: REPLACE over it keeps the key, which the insert records.
    if (!table.keyIsRowid && columns.map((c) => c.name!).sort().join('\u0000') === key) continue;
    out.push(columns.map((c) => ({ column: c.name!, collation: c.coll })));
  }
  return out;
}

/** Removes every trigger, the changelog, the state and the way back's position liteshift put in the SQLite file. */
export function uninstallCapture(db: SqliteDatabase): void {
  db.transaction(() => {
    const triggers = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, ?) = ?")
      .all(INTERNAL_PREFIX.length, INTERNAL_PREFIX) as { name: string }[];
    for (const trigger of triggers) db.exec(`DROP TRIGGER IF EXISTS ${quoteIdent(trigger.name)}`);
    db.exec(`DROP TABLE IF EXISTS ${quoteIdent(CHANGELOG)}`);
    db.exec(`DROP TABLE IF EXISTS ${quoteIdent(STATE)}`);
    db.exec(`DROP TABLE IF EXISTS ${quoteIdent(REVERSE_OFFSETS)}`);
  }).immediate();
}

export function captureInstalled(db: SqliteDatabase): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(CHANGELOG) !== undefined;
}

/** The last sequence written to the changelog (its high-water mark), 0 when empty. */
export function changelogHead(db: SqliteDatabase): bigint {
  const row = db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = ?`).get(CHANGELOG) as { seq: bigint } | undefined;
  return row ? BigInt(row.seq) : 0n;
}

export function readChanges(db: SqliteDatabase, after: bigint, limit: number, width: number): ChangeRow[] {
  const rows = db
    .prepare(`SELECT seq, tbl, op, ${keyColumns(width).join(', ')} FROM ${quoteIdent(CHANGELOG)} WHERE seq > ? ORDER BY seq LIMIT ?`)
    .raw(true)
    .all(after, limit) as SqlValue[][];
  return rows.map((r) => ({ seq: r[0] as bigint, table: r[1] as string, op: r[2] as ChangeOp, key: r.slice(3) }));
}

/** Changelog entries after `after` per table: changes committed in SQLite and not yet in Kafka. */
export function changelogBacklog(db: SqliteDatabase, after: bigint): Map<string, number> {
  const rows = db.prepare(`SELECT tbl, count(*) FROM ${quoteIdent(CHANGELOG)} WHERE seq > ? GROUP BY tbl`).raw(true).all(after) as [string, number | bigint][];
  return new Map(rows.map(([table, count]) => [table, Number(count)]));
}

/** Drops changelog entries Kafka has acknowledged. */
export function pruneChangelog(db: SqliteDatabase, upTo: bigint): number {
  return db.prepare(`DELETE FROM ${quoteIdent(CHANGELOG)} WHERE seq <= ?`).run(upTo).changes;
}

export function readState(db: SqliteDatabase, name: string): SqlValue | undefined {
  if (!captureInstalled(db)) return undefined;
  const row = db.prepare(`SELECT value FROM ${quoteIdent(STATE)} WHERE name = ?`).get(name) as { value: SqlValue } | undefined;
  return row?.value;
}

export function writeState(db: SqliteDatabase, name: string, value: SqlValue): void {
  db.prepare(`INSERT INTO ${quoteIdent(STATE)} (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`).run(name, value);
}

/**
 * The cutover fence: a trigger on every table that aborts every write with a message
 * naming the new database, so no write can land in SQLite after the final drain.
 */
export function installFence(db: SqliteDatabase, tables: readonly Pick<TableModel, 'name'>[], message: string): void {
  db.transaction(() => fenceTables(db, tables, message)).immediate();
}

function fenceTables(db: SqliteDatabase, tables: readonly Pick<TableModel, 'name'>[], message: string): void {
  dropStrayTriggers(db, 'fence');
  db.exec(`CREATE TABLE IF NOT EXISTS ${quoteIdent(FENCE_BYPASS)} (id INTEGER PRIMARY KEY)`);
  for (const table of tables) {
    const base = triggerBase('fence', table.name);
    for (const event of TRIGGER_SETS.fence.always) {
      const name = quoteIdent(`${base}_${event}`);
      db.exec(`DROP TRIGGER IF EXISTS ${name}`);
      db.exec(
        `CREATE TRIGGER ${name} BEFORE ${event.toUpperCase()} ON ${quoteIdent(table.name)} WHEN NOT EXISTS (SELECT 1 FROM ${quoteIdent(FENCE_BYPASS)}) BEGIN SELECT RAISE(ABORT, ${quoteLiteral(message)}); END`,
      );
    }
  }
}

/**
 * Runs `write` inside the caller's write transaction through the fence, and without
 * echo: the bypass row is set and cleared inside it (no application write can run in
 * between, and no DDL moves schema_version), and what the forward capture triggers
 * appended meanwhile is deleted, so nothing written back to SQLite travels forward again.
 */
export function writeThroughFence<T>(db: SqliteDatabase, write: () => T): T {
  const bypass = db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(FENCE_BYPASS) !== undefined;
  const captured = db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(CHANGELOG) !== undefined;
  const before = captured ? ((db.prepare(`SELECT max(seq) AS seq FROM ${quoteIdent(CHANGELOG)}`).get() as { seq: number | bigint | null }).seq ?? 0) : 0;
  if (bypass) db.prepare(`INSERT OR IGNORE INTO ${quoteIdent(FENCE_BYPASS)} (id) VALUES (1)`).run();
  const result = write();
  if (bypass) db.prepare(`DELETE FROM ${quoteIdent(FENCE_BYPASS)}`).run();
  if (captured) db.prepare(`DELETE FROM ${quoteIdent(CHANGELOG)} WHERE seq > ?`).run(before);
  return result;
}

/**
 * While a cutover fence is up, fences the tables of `tables` that lost theirs (a table
 * rebuilt or created meanwhile), with the same message, in one transaction with the check:
 * never one table open while the rest is fenced. Returns the tables fenced again, and the
 * schema versions around it.
 */
export function restoreFence(db: SqliteDatabase, tables: readonly Pick<TableModel, 'name'>[]): SchemaVersions & { fenced: string[] } {
  let fenced: string[] = [];
  let before = 0;
  db.transaction(() => {
    before = schemaVersion(db);
    const { prefix } = TRIGGER_SETS.fence;
    const sample = db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, ?) = ? LIMIT 1").get(prefix.length, prefix) as { sql: string } | undefined;
    const message = sample && /RAISE\(ABORT, '((?:[^']|'')*)'\)/.exec(sample.sql)?.[1]?.replaceAll("''", "'");
    if (message === undefined) return;
    const missing = new Set(missingTriggers(db, tables, 'fence'));
    const open = tables.filter((t) => missing.has(t.name));
    fenced = open.map((t) => t.name);
    if (open.length > 0) fenceTables(db, open, message);
  }).immediate();
  return { fenced, before, after: schemaVersion(db) };
}

export function removeFence(db: SqliteDatabase): number {
  let removed = 0;
  db.transaction(() => {
    // Read inside the transaction: an extractor fencing a rebuilt table cannot slip in between.
    const triggers = triggersOf(db, 'fence');
    for (const trigger of triggers) db.exec(`DROP TRIGGER IF EXISTS ${quoteIdent(trigger.name)}`);
    removed = triggers.length;
  }).immediate();
  return removed;
}

export function fenceInstalled(db: SqliteDatabase): boolean {
  return triggersOf(db, 'fence').length > 0;
}
