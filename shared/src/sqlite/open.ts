import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { LiteshiftError, errorMessage } from '../errors.js';

export type SqliteDatabase = Database.Database;

const HEADER = 'SQLite format 3\u0000';

export interface OpenOptions {
  readonly?: boolean;
  /** How long a statement waits on the application's write lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /** Create the file when there is none (the way back into a new file). */
  create?: boolean;
}

/**
 * Opens a SQLite file after checking that it is one, so that a wrong path or a wrong
 * file gets a clear message instead of a driver error (or, worse, a new empty database).
 */
export function openSqlite(path: string, options: OpenOptions = {}): SqliteDatabase {
  const creating = options.create === true && !existsSync(path);
  if (!creating) checkSqliteFile(path);
  let db: SqliteDatabase;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: !creating });
  } catch (error) {
    throw new LiteshiftError('SQLITE_OPEN_FAILED', `cannot open SQLite file ${path}: ${errorMessage(error)}`, {
      hint: 'check the file permissions (liteshift needs to read it, and write it to install capture)',
      cause: error,
    });
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    // Integers come back as BigInt: ids above 2^53 (snowflakes, Anki) must survive exactly.
    db.defaultSafeIntegers(true);
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (error) {
    db.close();
    throw new LiteshiftError('SQLITE_NOT_DATABASE', `${path} is not a readable SQLite database: ${errorMessage(error)}`, {
      hint: 'point --sqlite-path (or SQLITE_PATH) at the application\'s .db/.sqlite file',
      cause: error,
    });
  }
  return db;
}

/** The application (or another process) holds SQLite's write lock past the busy timeout. */
export const isSqliteBusy = (error: unknown): boolean => /SQLITE_BUSY|database is locked/i.test(String((error as { code?: string })?.code ?? error));

export function checkSqliteFile(path: string): void {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      throw new LiteshiftError('SQLITE_NOT_FOUND', `${path} is a directory, not a SQLite file`, {
        hint: 'point --sqlite-path (or SQLITE_PATH) at the database file itself',
      });
    }
    size = stat.size;
  } catch (error) {
    if (error instanceof LiteshiftError) throw error;
    throw new LiteshiftError('SQLITE_NOT_FOUND', `SQLite file not found: ${path}`, {
      hint: 'check --sqlite-path (or SQLITE_PATH); relative paths start from the current directory',
      cause: error,
    });
  }
  if (size === 0) {
    throw new LiteshiftError('SQLITE_NOT_DATABASE', `${path} is empty: not a SQLite database`, {
      hint: 'point --sqlite-path (or SQLITE_PATH) at the application\'s database file',
    });
  }
  const header = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1') !== HEADER) {
    throw new LiteshiftError('SQLITE_NOT_DATABASE', `${path} is not a SQLite database (its header is not "SQLite format 3")`, {
      hint: 'point --sqlite-path (or SQLITE_PATH) at the application\'s database file',
    });
  }
}
