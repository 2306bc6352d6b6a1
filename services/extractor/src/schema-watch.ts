import type { SchemaModel, TableModel } from '@liteshift/shared';

export interface SchemaChange {
  /** Tables new to the capture: triggers, schema and a snapshot of their own. */
  added: TableModel[];
  /** Tables whose columns grew: a new writer schema (existing columns keep their types). */
  altered: TableModel[];
  /** Tables gone from SQLite: no longer captured (their PostgreSQL tables are kept). */
  dropped: string[];
  model: SchemaModel;
}

/**
 * What changed between the captured model and the SQLite schema read again after
 * `PRAGMA schema_version` moved. Columns already migrated keep the type they were given:
 * the target table has it, and a fresh profile must not change it under the loader.
 */
export function diffSchemas(current: SchemaModel, next: SchemaModel): SchemaChange {
  const before = new Map(current.tables.map((t) => [t.name, t]));
  const added: TableModel[] = [];
  const altered: TableModel[] = [];
  const tables: TableModel[] = [];
  for (const table of next.tables) {
    const old = before.get(table.name);
    if (!old) {
      added.push(table);
      tables.push(table);
      continue;
    }
    const known = new Set(old.columns.map((c) => c.name));
    const newColumns = table.columns.filter((c) => !known.has(c.name));
    if (newColumns.length === 0) {
      tables.push(old);
      continue;
    }
    // SQLite only adds columns at the end (ALTER TABLE ADD COLUMN); a synthetic rowid key stays last.
    const real = old.columns.filter((c) => !c.synthetic);
    const synthetic = old.columns.filter((c) => c.synthetic);
    const merged: TableModel = { ...old, columns: [...real, ...newColumns.map((c) => ({ ...c, notNull: false })), ...synthetic] };
    altered.push(merged);
    tables.push(merged);
  }
  const names = new Set(next.tables.map((t) => t.name));
  const dropped = current.tables.filter((t) => !names.has(t.name)).map((t) => t.name);
  return { added, altered, dropped, model: { ...next, tables } };
}
