import {
  LiteshiftError,
  captureInstalled,
  declaredColumns,
  errorMessage,
  fenceInstalled,
  isSqliteBusy,
  openSqlite,
  quoteIdent,
  sqliteAddColumnSql,
  sqliteCreateIndexSql,
  sqliteCreateTableSql,
  type Notice,
  type SqliteDatabase,
  type TableModel,
} from '@liteshift/shared';

export interface TargetFile {
  db: SqliteDatabase;
  /** The file did not exist: every table is created from the model. */
  created: boolean;
}

/** How long a write waits on another connection's lock before the applier says the file is locked. */
export const TARGET_BUSY_TIMEOUT_MS = 5_000;

export function lockedError(path: string, cause: unknown): LiteshiftError {
  return new LiteshiftError('SQLITE_BUSY', `${path} is locked by another connection (still busy after ${TARGET_BUSY_TIMEOUT_MS / 1000} s)`, {
    hint: 'stop whatever holds a write transaction on it (the application, a sqlite3 shell), then run the command again: it resumes where it stopped',
    cause,
  });
}

/**
 * Opens the SQLite file the way back writes into, creating it when there is none, and
 * checks before anything is read from PostgreSQL that it can be written: it takes the
 * write lock once (a file locked past the busy timeout is reported; nothing is written
 * yet), and refuses a file
 * that still carries liteshift's change capture or cutover fence, whose triggers would
 * capture every row written back (or refuse it).
 */
export function openTarget(path: string): TargetFile {
  const db = openSqlite(path, { create: true, busyTimeoutMs: TARGET_BUSY_TIMEOUT_MS });
  try {
    const created = (db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: bigint }).n === 0n;
    // Rows arrive table by table, children before their parents at times: foreign keys are
    // checked by the verification (orphans on both sides), not on every write.
    db.pragma('foreign_keys = OFF');
    if (created) db.pragma('journal_mode = WAL');
    if (fenceInstalled(db) || captureInstalled(db)) {
      throw new LiteshiftError('SQLITE_UNSUPPORTED', `${path} still has liteshift's change capture${fenceInstalled(db) ? ' and cutover fence' : ''} installed`, {
        hint: 'once neither the application nor `liteshift extract --follow` uses this file, remove them with `liteshift uninstall --sqlite-path <file>` and run export-sqlite again',
      });
    }
    try {
      // The write lock, taken and given back: nothing is written before the snapshot is read whole.
      db.exec('BEGIN IMMEDIATE');
      db.exec('ROLLBACK');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      if (isSqliteBusy(error)) throw lockedError(path, error);
      throw new LiteshiftError('SQLITE_OPEN_FAILED', `cannot write to ${path}: ${errorMessage(error)}`, { hint: 'check the file and its directory are writable', cause: error });
    }
    return { db, created };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The names SQLite knows tables by (it compares them without regard to ASCII case). */
function tablesOf(db: SqliteDatabase): Map<string, string> {
  const rows = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[];
  return new Map(rows.map((name) => [name.toLowerCase(), name]));
}

export function tableExists(db: SqliteDatabase, name: string): boolean {
  return tablesOf(db).has(name.toLowerCase());
}

/**
 * Creates the tables of the model the file lacks (with their indexes, keys and foreign
 * keys), and adds the columns PostgreSQL gained after the switch, in one write
 * transaction. Returns what it did, as notices.
 */
export function ensureTargetTables(db: SqliteDatabase, path: string, tables: readonly TableModel[]): Notice[] {
  const notices: Notice[] = [];
  // One statement each (prepare refuses two): the DDL is made from models read off a topic.
  const run = (sql: string): void => void db.prepare(sql).run();
  const write = db.transaction(() => {
    const existing = tablesOf(db);
    for (const table of tables) {
      if (!existing.has(table.name.toLowerCase())) {
        run(sqliteCreateTableSql(table));
        for (const sql of sqliteCreateIndexSql(table)) run(sql);
        notices.push({ level: 'info', table: table.name, message: 'created in the SQLite file' });
        continue;
      }
      const have = new Set((db.prepare(`PRAGMA main.table_xinfo(${quoteIdent(table.name)})`).all() as { name: string }[]).map((c) => c.name.toLowerCase()));
      for (const column of declaredColumns(table).filter((c) => !have.has(c.name.toLowerCase()))) {
        const { sql, nullable } = sqliteAddColumnSql(table, column);
        run(sql);
        notices.push({
          level: nullable ? 'warn' : 'info',
          table: table.name,
          column: column.name,
          message: `column added to the SQLite table${nullable ? ' without NOT NULL (SQLite adds a NOT NULL column only with a default)' : ''}`,
        });
      }
    }
  });
  try {
    write.immediate();
  } catch (error) {
    if (isSqliteBusy(error)) throw lockedError(path, error);
    if (error instanceof LiteshiftError) throw error;
    throw new LiteshiftError('SQLITE_WRITE_FAILED', `cannot create the tables PostgreSQL has in the SQLite file: ${errorMessage(error)}`, {
      hint: 'the table models on the reverse schema topic are written by export-sqlite alone: run it again',
      cause: error,
    });
  }
  return notices;
}
