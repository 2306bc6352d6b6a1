import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { quoteIdent } from '../schema/identifiers.js';
import { READABLE_COPY_SCHEMA } from '../schema/model.js';
import { isKeyword, tokenize } from '../schema/sql-tokens.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { SqliteDatabase } from './open.js';

/** Collations every SQLite has; any other one is the application's own. */
export const BUILTIN_COLLATIONS = new Set(['binary', 'nocase', 'rtrim']);

interface IndexListRow {
  name: string;
  origin: string;
}
interface IndexXInfoRow {
  name: string | null;
  coll: string | null;
  key: bigint;
}

/**
 * The key columns of a WITHOUT ROWID table that compare with a collation only the
 * application registers (Anki's `unicase`), with that collation. SQLite cannot open the
 * table at all without it: its rows live in a b-tree ordered by that collation.
 */
export function foreignKeyCollations(db: SqliteDatabase, table: string): Map<string, string> {
  const pk = (db.prepare(`PRAGMA main.index_list(${quoteIdent(table)})`).all() as IndexListRow[]).find((i) => i.origin === 'pk');
  if (!pk) return new Map();
  const columns = db.prepare(`PRAGMA main.index_xinfo(${quoteIdent(pk.name)})`).all() as IndexXInfoRow[];
  return new Map(
    columns.filter((c) => c.key !== 0n && c.name !== null && c.coll !== null && !BUILTIN_COLLATIONS.has(c.coll.toLowerCase())).map((c) => [c.name!, c.coll!]),
  );
}

/** The collation(s) of foreignKeyCollations, named for a message; null when there is none. */
export function foreignKeyCollation(db: SqliteDatabase, table: string): string | null {
  return [...new Set(foreignKeyCollations(db, table).values())].join(', ') || null;
}

/** WITHOUT ROWID tables SQLite cannot read here because of their key's collation. */
function tablesNeedingCopy(db: SqliteDatabase): string[] {
  const list = db.prepare('PRAGMA main.table_list').all() as { name: string; type: string; wr: bigint }[];
  return list
    .filter((t) => t.type === 'table' && t.wr !== 0n && foreignKeyCollations(db, t.name).size > 0)
    .map((t) => t.name)
    .sort();
}

/** CREATE statement text with every collation SQLite does not have here named BINARY. */
export function withBuiltinCollations(sql: string): string {
  let out = '';
  let at = 0;
  const tokens = tokenize(sql);
  tokens.forEach((token, i) => {
    const name = tokens[i + 1];
    if (!isKeyword(token, 'COLLATE') || !name) return;
    if (BUILTIN_COLLATIONS.has(name.value.toLowerCase())) return;
    out += `${sql.slice(at, name.start)}BINARY`;
    at = name.end;
  });
  return out + sql.slice(at);
}

/**
 * A private, readable copy of the tables SQLite cannot read here (a WITHOUT ROWID key
 * with a collation only the application registers), attached to a connection as
 * `liteshift_copy`: readers name a table through sqliteTableRef and find its rows there.
 *
 * It is made from a backup of the file (SQLite's backup API copies pages and compares
 * nothing), in which such tables are declared BINARY instead (only the schema text
 * changes); their rows are then read by a full scan, which walks the b-tree in its stored
 * order and compares no key, into a new table whose b-tree is in BINARY order. Every
 * lookup, range and ORDER BY there is then exact, and BINARY, which liteshift compares
 * with anyway, never merges two keys the application's collation kept apart. The copy
 * holds what the file held when it was made: `refresh` makes it again once another
 * connection has written to the file (PRAGMA data_version), which is how the stream
 * re-reads changed rows and how a verification compares with SQLite as it is now.
 */
export class ReadableCopy {
  private dir: string | null = null;
  private version = -1n;

  private constructor(
    private readonly db: SqliteDatabase,
    readonly tables: readonly string[],
    private readonly log?: Logger,
  ) {}

  /** Makes and attaches the copy when the file has such tables; null when it has none. */
  static async attach(db: SqliteDatabase, log?: Logger): Promise<ReadableCopy | null> {
    const tables = tablesNeedingCopy(db);
    if (tables.length === 0) return null;
    const copy = new ReadableCopy(db, tables, log);
    await copy.make();
    return copy;
  }

  /** Makes the copy again if another connection wrote to the file since it was made; true when it did. */
  async refresh(): Promise<boolean> {
    if (this.dataVersion() === this.version) return false;
    await this.make();
    return true;
  }

  close(): void {
    this.detach();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private dataVersion(): bigint {
    return BigInt(this.db.pragma('main.data_version', { simple: true }) as bigint | number);
  }

  private async make(): Promise<void> {
    const started = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'liteshift-copy-'));
    try {
      // Taken before the backup: a write during it makes the next refresh copy again.
      const version = this.dataVersion();
      const backup = join(dir, 'backup.db');
      // After a first step of 100 pages, the rest in one: a write by the application between
      // steps restarts a backup, and one step reads the file in a single read transaction.
      await this.db.backup(backup, { progress: () => 1 << 30 });
      const readable = join(dir, 'readable.db');
      const failed = buildReadableTables(backup, readable, this.tables);
      for (const [table, why] of failed) this.log?.warn({ table, err: why }, 'no readable copy of this table: it stays unread, and the verdict NOT READY');
      rmSync(backup, { force: true });
      this.detach();
      this.db.prepare(`ATTACH DATABASE ? AS ${READABLE_COPY_SCHEMA}`).run(readable);
      const previous = this.dir;
      this.dir = dir;
      this.version = version;
      if (previous) rmSync(previous, { recursive: true, force: true });
      this.log?.info({ tables: this.tables, ms: Date.now() - started }, 'readable copy made of tables keyed by a collation only the application registers');
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`cannot make a readable copy of ${this.tables.join(', ')}: ${errorMessage(error)}`, { cause: error });
    }
  }

  private detach(): void {
    const attached = (this.db.prepare('PRAGMA database_list').all() as { name: string }[]).some((d) => d.name === READABLE_COPY_SCHEMA);
    if (attached) this.db.prepare(`DETACH DATABASE ${READABLE_COPY_SCHEMA}`).run();
  }
}

/**
 * In the backup, renames the tables' collations to BINARY; copies their rows into
 * `readable`, in BINARY order. A table that cannot be copied (a generated column computed by
 * the application's own function) is left out, and stays unreadable: returns why, by table.
 */
function buildReadableTables(backup: string, readable: string, tables: readonly string[]): Map<string, string> {
  const marks = tables.map(() => '?').join(', ');
  const rewrite = new Database(backup);
  try {
    rewrite.unsafeMode(true);
    const entries = rewrite.prepare(`SELECT type, name, sql FROM sqlite_schema WHERE tbl_name IN (${marks}) AND sql IS NOT NULL`).all(...tables) as { type: string; name: string; sql: string }[];
    rewrite.pragma('writable_schema = ON');
    const update = rewrite.prepare('UPDATE sqlite_schema SET sql = ? WHERE type = ? AND name = ?');
    for (const e of entries) update.run(withBuiltinCollations(e.sql), e.type, e.name);
    rewrite.pragma('writable_schema = OFF');
  } finally {
    rewrite.close();
  }
  const failed = new Map<string, string>();
  const target = new Database(readable);
  const source = new Database(backup);
  try {
    const created = tables.filter((table) => {
      const sql = (source.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table) as { sql: string }).sql;
      try {
        target.exec(sql);
        return true;
      } catch (error) {
        failed.set(table, errorMessage(error));
        return false;
      }
    });
    target.close();
    source.unsafeMode(true);
    source.prepare('ATTACH DATABASE ? AS readable').run(readable);
    for (const table of created) {
      const columns = (source.prepare(`PRAGMA main.table_xinfo(${quoteIdent(table)})`).all() as { name: string; hidden: number }[])
        .filter((c) => c.hidden === 0)
        .map((c) => quoteIdent(c.name))
        .join(', ');
      try {
        // A column list keeps SQLite from copying the b-tree as it is (the transfer
        // optimisation), which would keep the application's order under BINARY's name.
        source.exec(`INSERT INTO readable.${quoteIdent(table)} (${columns}) SELECT ${columns} FROM main.${quoteIdent(table)}`);
      } catch (error) {
        failed.set(table, errorMessage(error));
        // Not DROP TABLE, which would need what failed: the entry goes, its pages stay in a file soon deleted.
        source.pragma('writable_schema = ON');
        source.prepare('DELETE FROM readable.sqlite_schema WHERE tbl_name = ?').run(table);
        source.pragma('writable_schema = OFF');
      }
    }
  } finally {
    if (target.open) target.close();
    source.close();
  }
  return failed;
}
