import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkSqliteFile } from '@liteshift/shared';
import { repoRoot } from './cli.js';

/** The public sample databases of ../shared/corpus (see its README); never committed here. */
export const corpusDir = resolve(repoRoot, process.env.LITESHIFT_CORPUS_DIR ?? '../shared/corpus');
export const corpusExists = existsSync(corpusDir) && statSync(corpusDir).isDirectory();
export const corpusSkipReason =
  `corpus dir ${corpusDir} does not exist: the real SQLite sample databases (Chinook, Northwind, sakila) live outside ` +
  'the repository and are not committed; set LITESHIFT_CORPUS_DIR to a directory holding them to run these tests';

/** The corpus directory may hold a README and other files: only SQLite files are migrated. */
function isSqliteFile(path: string): boolean {
  try {
    checkSqliteFile(path);
    return true;
  } catch {
    return false;
  }
}

export const corpusFiles = corpusExists ? readdirSync(corpusDir).filter((f) => isSqliteFile(join(corpusDir, f))).sort() : [];
