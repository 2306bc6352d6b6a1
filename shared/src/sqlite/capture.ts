import { createHash } from 'node:crypto';
import { LiteshiftError } from '../errors.js';
import { quoteIdent, quoteLiteral } from '../schema/identifiers.js';
import type { TableModel } from '../schema/model.js';
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
const TRIGGER_PREFIX = `${INTERNAL_PREFIX}t_`;
const FENCE_PREFIX = `${INTERNAL_PREFIX}fence_`;

export type ChangeOp = 'c' | 'u' | 'd';

export interface ChangeRow {
  seq: bigint;
  table: string;
  op: ChangeOp;
  key: SqlValue[];
}

function triggerBase(table: string): string {
  return `${TRIGGER_PREFIX}${createHash('sha256').update(table).digest('hex').slice(0, 12)}`;
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

/** Creates the changelog, the state table and the triggers of every table; idempotent. */
export function installCapture(db: SqliteDatabase, tables: readonly TableModel[]): void {
  const width = keyWidth(tables);
  // IMMEDIATE (here and for every write liteshift makes to the file): the write lock is
  // awaited up front (busy_timeout); a deferred transaction that read first fails at once
  // with "database is locked" when the application commits in between.
  db.transaction(() => {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteIdent(CHANGELOG)} (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, op TEXT NOT NULL, ${keyColumns(width).join(', ')})`,
    );
    const have = new Set((db.prepare(`PRAGMA table_info(${quoteIdent(CHANGELOG)})`).all() as { name: string }[]).map((c) => c.name));
    for (const column of keyColumns(width)) if (!have.has(column)) db.exec(`ALTER TABLE ${quoteIdent(CHANGELOG)} ADD COLUMN ${column}`);
    db.exec(`CREATE TABLE IF NOT EXISTS ${quoteIdent(STATE)} (name TEXT PRIMARY KEY, value) WITHOUT ROWID`);
    for (const table of tables) installTriggers(db, table);
  }).immediate();
}

function installTriggers(db: SqliteDatabase, table: TableModel): void {
  const base = triggerBase(table.name);
  const t = quoteIdent(table.name);
  const name = quoteLiteral(table.name);
  const cols = keyColumns(table.keyIsRowid ? 1 : table.key.length);
  const insert = (op: ChangeOp, row: 'NEW' | 'OLD') =>
    `INSERT INTO ${quoteIdent(CHANGELOG)} (tbl, op, ${cols.join(', ')}) VALUES (${name}, '${op}', ${keyExpressions(table, row).join(', ')});`;
  const keyChanged = keyExpressions(table, 'OLD')
    .map((old, i) => `${old} IS NOT ${keyExpressions(table, 'NEW')[i]}`)
    .join(' OR ');
  for (const suffix of ['ins', 'upd', 'updk', 'del']) db.exec(`DROP TRIGGER IF EXISTS ${quoteIdent(`${base}_${suffix}`)}`);
  db.exec(`CREATE TRIGGER ${quoteIdent(`${base}_ins`)} AFTER INSERT ON ${t} BEGIN ${insert('c', 'NEW')} END`);
  db.exec(`CREATE TRIGGER ${quoteIdent(`${base}_upd`)} AFTER UPDATE ON ${t} WHEN NOT (${keyChanged}) BEGIN ${insert('u', 'NEW')} END`);
  // A key change is a delete of the old key and an insert of the new one (contract 3).
  db.exec(`CREATE TRIGGER ${quoteIdent(`${base}_updk`)} AFTER UPDATE ON ${t} WHEN ${keyChanged} BEGIN ${insert('d', 'OLD')} ${insert('c', 'NEW')} END`);
  db.exec(`CREATE TRIGGER ${quoteIdent(`${base}_del`)} AFTER DELETE ON ${t} BEGIN ${insert('d', 'OLD')} END`);
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
export function installFence(db: SqliteDatabase, tables: readonly TableModel[], message: string): void {
  db.transaction(() => {
    for (const table of tables) {
      const base = `${FENCE_PREFIX}${createHash('sha256').update(table.name).digest('hex').slice(0, 12)}`;
      for (const event of ['INSERT', 'UPDATE', 'DELETE']) {
        const name = quoteIdent(`${base}_${event.toLowerCase()}`);
        db.exec(`DROP TRIGGER IF EXISTS ${name}`);
        db.exec(`CREATE TRIGGER ${name} BEFORE ${event} ON ${quoteIdent(table.name)} BEGIN SELECT RAISE(ABORT, ${quoteLiteral(message)}); END`);
      }
    }
  }).immediate();
}

export function removeFence(db: SqliteDatabase): number {
  const triggers = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, ?) = ?")
    .all(FENCE_PREFIX.length, FENCE_PREFIX) as { name: string }[];
  db.transaction(() => {
    for (const trigger of triggers) db.exec(`DROP TRIGGER IF EXISTS ${quoteIdent(trigger.name)}`);
  }).immediate();
  return triggers.length;
}

export function fenceInstalled(db: SqliteDatabase): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, ?) = ?").get(FENCE_PREFIX.length, FENCE_PREFIX) !== undefined;
}
