import Database from 'better-sqlite3';

/**
 * Replaces text in the CREATE statements of `tables` (all when not given), as if the
 * application had written them so: how a test gives a table a collation only "the
 * application" registers, after filling it under a built-in one.
 */
export function rewriteSchemaText(path: string, from: string, to: string, tables?: readonly string[]): void {
  const db = new Database(path);
  try {
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    const only = tables ? ` WHERE tbl_name IN (${tables.map(() => '?').join(', ')})` : '';
    db.prepare(`UPDATE sqlite_schema SET sql = replace(sql, ?, ?)${only}`).run(from, to, ...(tables ?? []));
    db.pragma('writable_schema = OFF');
  } finally {
    db.close();
  }
}
