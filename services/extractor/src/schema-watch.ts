import { columnTypeTag, type CapturedTable, type SchemaModel, type TableModel } from '@liteshift/shared';

/** A table to send again whole under a new epoch, and why. */
export interface Resync {
  table: TableModel;
  reason: string;
}

export interface SchemaChange {
  /** Tables new to the capture: triggers, schema and a snapshot of their own. */
  added: TableModel[];
  /** Tables whose columns grew: a new writer schema (existing columns keep their types). */
  altered: TableModel[];
  /** Tables whose rows may differ from what Kafka holds, in ways the changelog cannot tell: re-synchronised. */
  resynced: Resync[];
  /** Tables gone from SQLite: no longer captured (their PostgreSQL tables are kept). */
  dropped: string[];
  model: SchemaModel;
}

/** The next epoch of a table, with the model read now: every column as SQLite has it now. */
function nextEpoch(table: TableModel, epoch: number | undefined): TableModel {
  return { ...table, resyncEpoch: (epoch ?? 0) + 1 };
}

/**
 * What changed between the captured model and the SQLite schema read again after
 * `PRAGMA schema_version` moved. Columns already migrated keep the type they were given:
 * the target table has it, and a fresh profile must not change it under the loader. A
 * table in `rebuilt` (its capture triggers are gone: the application dropped it, and
 * perhaps created it again under the same name) and a table that lost columns (dropped or
 * renamed) are re-synchronised instead, with their columns and types as they are now.
 */
export function diffSchemas(current: SchemaModel, next: SchemaModel, rebuilt: ReadonlySet<string> = new Set()): SchemaChange {
  const before = new Map(current.tables.map((t) => [t.name, t]));
  const added: TableModel[] = [];
  const altered: TableModel[] = [];
  const resynced: Resync[] = [];
  const tables: TableModel[] = [];
  for (const table of next.tables) {
    const old = before.get(table.name);
    if (!old) {
      added.push(table);
      tables.push(table);
      continue;
    }
    const now = new Set(table.columns.map((c) => c.name));
    const lost = old.columns.filter((c) => !c.synthetic && !now.has(c.name)).map((c) => c.name);
    if (rebuilt.has(table.name) || lost.length > 0) {
      const resync = nextEpoch(table, old.resyncEpoch);
      resynced.push({ table: resync, reason: rebuilt.has(table.name) ? 'rebuilt by the application (its capture triggers were gone)' : `columns dropped or renamed: ${lost.join(', ')}` });
      tables.push(resync);
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
  return { added, altered, resynced, dropped, model: { ...next, tables } };
}

/** Column → type tag of a table, as recorded in the extractor's state once published. */
export function typeTags(table: TableModel): Record<string, string> {
  return Object.fromEntries(table.columns.map((c) => [c.name, columnTypeTag(c)]));
}

/** What a starting extractor must do besides streaming: tables to snapshot, tables to re-synchronise. */
export interface StartPlan {
  /** The model read at start, each table under the epoch it streams with. */
  model: SchemaModel;
  /** Tables whose rows never all reached Kafka (created while the extractor was stopped, or whose snapshot was cut short). */
  snapshot: string[];
  resync: Map<string, string>;
}

/**
 * Compares the tables the extractor recorded (`captured`) with the schema read at start:
 * `lost` are the tables whose capture triggers were gone before capture was installed
 * again (rebuilt, or dropped and created again, while no extractor ran).
 */
export function planStart(model: SchemaModel, captured: Readonly<Record<string, CapturedTable>>, lost: ReadonlySet<string>): StartPlan {
  const snapshot: string[] = [];
  const resync = new Map<string, string>();
  const tables = model.tables.map((table): TableModel => {
    const entry = captured[table.name];
    const epoch = entry?.epoch ?? 0;
    const keep = epoch > 0 ? { ...table, resyncEpoch: epoch } : table;
    if (!entry || (!entry.snapshotAt && epoch === 0)) {
      snapshot.push(table.name);
      return keep;
    }
    const why = resyncReason(table, entry, lost.has(table.name));
    if (why === null) return keep;
    resync.set(table.name, why);
    return nextEpoch(table, epoch);
  });
  return { model: { ...model, tables }, snapshot, resync };
}

function resyncReason(table: TableModel, entry: CapturedTable, lost: boolean): string | null {
  if (!entry.snapshotAt) return 'its re-synchronisation was cut short';
  if (lost) return 'rebuilt or created again while the extractor was stopped (its capture triggers were gone)';
  if (!entry.types) return null;
  const now = typeTags(table);
  const gone = Object.keys(entry.types).filter((c) => !(c in now));
  if (gone.length > 0) return `columns dropped or renamed while the extractor was stopped: ${gone.join(', ')}`;
  const changed = Object.entries(entry.types).filter(([c, tag]) => now[c] !== tag);
  if (changed.length > 0) return `column types planned anew from the data: ${changed.map(([c, tag]) => `${c} ${tag} → ${now[c]}`).join(', ')}`;
  return null;
}
