import {
  createIndexSql,
  addForeignKeySql,
  createTableSql,
  openSqlite,
  readSchema,
  tableTopic,
  type SchemaModel,
} from '@liteshift/shared';
import { print, printJson, formatCount } from '../output.js';

export interface PlanOptions {
  sqlitePath: string;
  targetSchema: string;
  topicPrefix: string;
  json: boolean;
}

/** The dry run: reads SQLite only, writes nothing anywhere. */
export function showPlan(options: PlanOptions): SchemaModel {
  const db = openSqlite(options.sqlitePath, { readonly: true });
  try {
    const model = readSchema(db);
    if (options.json) {
      printJson({
        tables: model.tables.map((t) => ({ ...t, topic: tableTopic(options.topicPrefix, t.name), ddl: createTableSql(options.targetSchema, t) })),
        skipped: model.skipped,
        notices: model.notices,
      });
      return model;
    }
    print(`Plan for ${options.sqlitePath} (dry run: nothing is written)`);
    print(`Tables found: ${model.tables.length}`);
    for (const t of model.tables) print(`  ${t.name.padEnd(30)} ${formatCount(t.rowCount ?? 0).padStart(12)} rows → topic ${tableTopic(options.topicPrefix, t.name)}`);
    for (const t of model.tables) {
      print('');
      print(`-- ${t.name}`);
      for (const c of t.columns) print(`--   ${c.name}: ${c.declaredType || '(none)'} → ${c.pgType}  (${c.reason})`);
      print(`${createTableSql(options.targetSchema, t)};`);
      for (const index of t.indexes) print(`${createIndexSql(options.targetSchema, t, index)};`);
      for (const fk of t.foreignKeys) print(`${addForeignKeySql(options.targetSchema, t, fk)};`);
      for (const check of t.checks) print(`-- CHECK (${check.sqliteSql}) → ${check.pgSql ?? 'not portable, skipped'}`);
    }
    if (model.skipped.length > 0) {
      print('');
      print('Skipped:');
      for (const s of model.skipped) print(`  ${s.type} ${s.name}: ${s.reason}`);
    }
    if (model.notices.length > 0) {
      print('');
      print('Notices:');
      for (const n of model.notices) print(`  [${n.level}] ${[n.table, n.column].filter(Boolean).join('.')}: ${n.message}`);
    }
    return model;
  } finally {
    db.close();
  }
}
