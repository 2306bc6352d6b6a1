import Database from 'better-sqlite3';

/**
 * Every row of every application table of a SQLite file as SQLite holds it, by key (the
 * primary key's values, or the rowid): quote() keeps the storage class, so 1, 1.0, '1' and
 * X'01' differ, and so do two spellings of one date.
 */
export function storedRows(path: string): Map<string, Map<string, string>> {
  const db = new Database(path, { readonly: true });
  try {
    const out = new Map<string, Map<string, string>>();
    const tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_liteshift\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%'")
      .pluck()
      .all() as string[];
    for (const table of tables) {
      const columns = db.prepare(`PRAGMA table_info("${table.replace(/"/g, '""')}")`).all() as { name: string; pk: number }[];
      const quoted = (c: { name: string }) => `quote("${c.name.replace(/"/g, '""')}")`;
      const key = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
      const keyExpr = key.length ? key.map(quoted).join(" || ',' || ") : 'rowid';
      const rows = db.prepare(`SELECT ${keyExpr} AS k, ${columns.map(quoted).join(" || '|' || ")} AS v FROM "${table.replace(/"/g, '""')}"`).all() as { k: unknown; v: string }[];
      out.set(table, new Map(rows.map((r) => [String(r.k), r.v])));
    }
    return out;
  } finally {
    db.close();
  }
}
