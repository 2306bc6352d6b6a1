import {
  ROWID_COLUMN,
  modelFromCatalog,
  pgColumnName,
  pgTableName,
  pgTypeOf,
  readPgCatalog,
  sqliteTypeOf,
  type ColumnModel,
  type Notice,
  type PgCatalogColumn,
  type PgCatalogTable,
  type PgClient,
  type TableModel,
} from '@liteshift/shared';
import { loadedModels } from '@liteshift/verifier';

/** One PostgreSQL table on its way back into SQLite. */
export interface ExportTable {
  /** The model the SQLite side is written with: SQLite's names, declared types, text forms. */
  table: TableModel;
  /** The PostgreSQL table it is read from. */
  pgTable: string;
  /** Per column of `table`, the PostgreSQL column it is read from and that column's type. */
  pgColumns: { name: string; type: string }[];
  /** Migrated from SQLite (its model is in liteshift.tables), or created on PostgreSQL after the switch. */
  origin: 'migrated' | 'created';
}

export interface ExportPlan {
  tables: ExportTable[];
  notices: Notice[];
}

/** A column PostgreSQL gained after the switch, as SQLite will declare it. */
function addedColumn(table: string, column: PgCatalogColumn, notices: Notice[]): ColumnModel {
  const { declaredType, kind, note } = sqliteTypeOf(column);
  notices.push({ level: 'info', table, column: column.name, message: `added on PostgreSQL after the switch (${column.type} → ${declaredType})` });
  return {
    name: column.name,
    declaredType,
    notNull: column.notNull,
    sqliteDefault: null,
    kind,
    pgType: pgTypeOf(kind, declaredType),
    pgDefault: null,
    identity: false,
    reason: `PostgreSQL ${column.type} → ${declaredType}${note ? `, ${note}` : ''}`,
  };
}

/**
 * A migrated table as PostgreSQL has it now: the model it was migrated with (declared
 * types, forms, keys), less the columns dropped on PostgreSQL since, plus those added.
 */
function migratedTable(model: TableModel, pg: PgCatalogTable, notices: Notice[]): ExportTable {
  const byName = new Map(pg.columns.map((c) => [c.name, c]));
  const columns: ColumnModel[] = [];
  const pgColumns: ExportTable['pgColumns'] = [];
  for (const column of model.columns) {
    const source = byName.get(pgColumnName(column));
    if (!source) {
      notices.push({ level: 'warn', table: model.name, column: column.name, message: 'no longer on PostgreSQL: left as it is in SQLite (new rows get its default)' });
      continue;
    }
    byName.delete(source.name);
    const { kind } = sqliteTypeOf(source);
    // The type changed on PostgreSQL since (ALTER COLUMN … TYPE): its values are read as PostgreSQL now types them.
    const changed = column.synthetic || kind === column.kind ? null : kind;
    if (changed) notices.push({ level: 'warn', table: model.name, column: column.name, message: `now ${source.type} on PostgreSQL (migrated as ${column.pgType}): written as such` });
    columns.push(changed ? { ...column, kind: changed, pgType: pgTypeOf(changed, sqliteTypeOf(source).declaredType) } : column);
    pgColumns.push({ name: source.name, type: source.type });
  }
  for (const source of byName.values()) {
    columns.push(addedColumn(model.name, source, notices));
    pgColumns.push({ name: source.name, type: source.type });
  }
  return { table: { ...model, columns }, pgTable: pg.name, pgColumns, origin: 'migrated' };
}

/**
 * What `export-sqlite` writes, table by table: every table of the target schema, with
 * the model it was migrated with (liteshift.tables) or, for a table created on
 * PostgreSQL after the switch, one read from PostgreSQL's catalog.
 */
export async function exportPlan(pg: PgClient, schema: string): Promise<ExportPlan> {
  const notices: Notice[] = [];
  const catalog = await readPgCatalog(pg, schema);
  const models = [...(await loadedModels(pg)).values()];
  const tables: ExportTable[] = [];
  for (const table of catalog) {
    const model = models.find((m) => pgTableName(m) === table.name);
    if (model) {
      if (model.columns.some((c) => c.synthetic) && !table.columns.some((c) => c.name === ROWID_COLUMN)) {
        notices.push({ level: 'warn', table: model.name, message: `${ROWID_COLUMN} is gone from PostgreSQL: the table cannot be matched to SQLite's rowids, not exported` });
        continue;
      }
      tables.push(migratedTable(model, table, notices));
      continue;
    }
    const created = modelFromCatalog(table, notices);
    if (created) {
      tables.push({ table: created, pgTable: table.name, pgColumns: table.columns.map((c) => ({ name: c.name, type: c.type })), origin: 'created' });
    }
  }
  for (const model of models) {
    if (!catalog.some((t) => t.name === pgTableName(model))) {
      notices.push({ level: 'warn', table: model.name, message: 'no longer on PostgreSQL: left as it is in the SQLite file' });
    }
  }
  return { tables, notices };
}
