import {
  createIndexSql,
  addForeignKeySql,
  createTableSql,
  mappingOptions,
  openSqlite,
  ReadableCopy,
  pgColumnName,
  pgTableName,
  readSchema,
  tableTopic,
  type Logger,
  type SchemaModel,
  type Settings,
} from '@liteshift/shared';
import { print, printJson, formatCount } from '../output.js';

export interface PlanOptions extends Partial<Pick<Settings, 'onMisfit' | 'cast' | 'foldIdentifiers' | 'rename' | 'timestamps' | 'excludeTable' | 'excludeColumn'>> {
  sqlitePath: string;
  targetSchema: string;
  topicPrefix: string;
  json: boolean;
}

/** The dry run: reads SQLite only, writes nothing anywhere (but the private copy of tables SQLite cannot read here, in a temporary directory). */
export async function showPlan(options: PlanOptions, log?: Logger): Promise<SchemaModel> {
  const db = openSqlite(options.sqlitePath, { readonly: true });
  const copy = await ReadableCopy.attach(db, log);
  try {
    const model = readSchema(db, mappingOptions(options));
    if (options.json) {
      printJson({
        mapping: model.mapping ?? {},
        tables: model.tables.map((t) => ({ ...t, topic: tableTopic(options.topicPrefix, t.name), ddl: createTableSql(options.targetSchema, t) })),
        skipped: model.skipped,
        ...(model.excluded ? { excluded: model.excluded } : {}),
        notices: model.notices,
      });
      return model;
    }
    const casts = model.mapping?.casts?.length ?? 0;
    const renames = model.mapping?.renames?.length ?? 0;
    print(`Plan for ${options.sqlitePath} (dry run: nothing is written)`);
    print(
      `Type choices: --on-misfit ${model.mapping?.onMisfit ?? 'widen'}, ` +
        `names ${model.mapping?.foldIdentifiers === 'lower' ? 'folded to lower case' : 'exactly as in SQLite'}, ` +
        `--timestamps ${model.mapping?.timestamps ?? 'utc'}` +
        `${casts ? `, ${casts} --cast rule(s)` : ''}${renames ? `, ${renames} --rename rule(s)` : ''}`,
    );
    const left = model.excluded;
    if (left) {
      const names = [...left.tables, ...left.columns.map((c) => `${c.table}.${c.column}`)];
      print(`Left out on purpose (--exclude-table, --exclude-column): ${names.join(', ')}`);
    }
    print(`Tables found: ${model.tables.length}`);
    for (const t of model.tables) print(`  ${t.name.padEnd(30)} ${formatCount(t.rowCount ?? 0).padStart(12)} rows → topic ${tableTopic(options.topicPrefix, t.name)}`);
    for (const t of model.tables) {
      print('');
      print(`-- ${t.name}${t.pgName ? ` → ${pgTableName(t)}` : ''}`);
      for (const c of t.columns) {
        const renamed = c.pgName ? ` as ${pgColumnName(c)}` : '';
        print(`--   ${c.name}${renamed}: ${c.declaredType || '(none)'} → ${c.pgType}  (${c.reason})`);
      }
      print(`${createTableSql(options.targetSchema, t)};`);
      for (const index of t.indexes) print(`${createIndexSql(options.targetSchema, t, index)};`);
      for (const fk of t.foreignKeys) print(`${addForeignKeySql(options.targetSchema, t, fk)};`);
      for (const check of t.checks) print(`-- CHECK (${check.sqliteSql}) → ${check.pgSql ?? 'not portable, skipped'}`);
    }
    // Skipped objects are notices too (one line each), so they are listed once, with the rest.
    if (model.notices.length > 0) {
      const warnings = model.notices.filter((n) => n.level === 'warn').length;
      print('');
      print(`Notices (${model.notices.length}, ${warnings} warning${warnings === 1 ? '' : 's'}):`);
      for (const n of model.notices) print(`  [${n.level}] ${[n.table, n.column].filter(Boolean).join('.')}: ${n.message}`);
    }
    return model;
  } finally {
    copy?.close();
    db.close();
  }
}
