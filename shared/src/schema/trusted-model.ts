/**
 * A table model read back from the schema topic is data, not code: anyone who can write
 * `<prefix>._schemas` could otherwise put SQL into the loader's DDL through a type name,
 * a default or a CHECK. Before a model is used it is checked against what introspection
 * itself makes (types from the set the type mapping and --cast produce, foreign-key
 * actions from SQLite's five, names without NUL, references to its own columns), and the
 * SQL it carries is made again from its structured fields: each default from SQLite's
 * default text, each CHECK from SQLite's CHECK text, by the same translators.
 */
import { z } from 'zod';
import { castTarget } from './casts.js';
import { extractChecks } from './checks.js';
import { translateDefault } from './defaults.js';
import type { CheckModel, ColumnModel, TableModel } from './model.js';

const VALUE_KINDS = ['integer', 'real', 'numeric', 'text', 'blob', 'boolean', 'timestamp', 'timestamptz', 'date', 'time'] as const;
/** What PRAGMA foreign_key_list reports. */
const FK_ACTIONS = ['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT'] as const;

const name = z
  .string()
  .min(1)
  .refine((n) => !n.includes('\u0000'), 'a name holds a NUL character');

// Unknown fields pass: a newer extractor may add some, and nothing here builds SQL from them.
const column = z
  .object({
    name,
    pgName: name.optional(),
    declaredType: z.string(),
    notNull: z.boolean(),
    sqliteDefault: z.string().nullable(),
    kind: z.enum(VALUE_KINDS),
    pgType: z.string(),
    pgDefault: z.string().nullable(),
    identity: z.boolean(),
    synthetic: z.literal('rowid').optional(),
    reason: z.string(),
    epoch: z.enum(['seconds', 'milliseconds']).optional(),
    readAs: z.literal('blob').optional(),
    collation: z.enum(['NOCASE', 'RTRIM']).optional(),
    foreignCollation: z.string().optional(),
  })
  .passthrough();

const table = z
  .object({
    name,
    pgName: name.optional(),
    withoutRowid: z.boolean(),
    columns: z.array(column).min(1),
    key: z.array(name).min(1),
    keyIsRowid: z.boolean(),
    foreignKeys: z.array(
      z
        .object({
          columns: z.array(name).min(1),
          refTable: name,
          refColumns: z.array(name),
          pgRefTable: name.optional(),
          pgRefColumns: z.array(name).optional(),
          onUpdate: z.enum(FK_ACTIONS),
          onDelete: z.enum(FK_ACTIONS),
          deferrable: z.boolean(),
          initiallyDeferred: z.boolean().optional(),
        })
        .passthrough(),
    ),
    indexes: z.array(z.object({ name, pgName: name.optional(), unique: z.boolean(), columns: z.array(name).min(1), origin: z.enum(['c', 'u']) }).passthrough()),
    checks: z.array(z.object({ sqliteSql: z.string(), pgSql: z.string().nullable() }).passthrough()),
    rowCount: z.number().optional(),
  })
  .passthrough();

/** The model, checked and with its SQL made again; throws an Error saying what is wrong. */
export function trustedTableModel(raw: unknown): TableModel {
  const parsed = table.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`not a table model: ${issue.path.join('.') || 'the model'}: ${issue.message}`);
  }
  const model = parsed.data as unknown as TableModel;
  const columns = new Set(model.columns.map((c) => c.name));
  const unknown = [...model.key, ...model.foreignKeys.flatMap((f) => f.columns), ...model.indexes.flatMap((i) => i.columns)].find((c) => !columns.has(c));
  if (unknown !== undefined) throw new Error(`table ${model.name} names a column it does not have: ${unknown}`);
  return { ...model, columns: model.columns.map((c) => trustedColumn(model.name, c)), checks: model.checks.map((c) => trustedCheck(model, c)) };
}

function trustedColumn(tableName: string, c: ColumnModel): ColumnModel {
  const target = castTarget(c.pgType);
  if (typeof target === 'string' || target.pgType !== c.pgType || target.kind !== c.kind) {
    throw new Error(`column ${tableName}.${c.name}: "${c.pgType}" is not a type liteshift makes for ${c.kind} values`);
  }
  const pgDefault = c.identity ? null : translateDefault(c.sqliteDefault, c.kind, { table: tableName, column: c.name }, [], c.epoch);
  return { ...c, pgDefault };
}

/** A CHECK's SQL made again from its SQLite text; untranslatable (null) unless the text is one whole expression. */
function trustedCheck(model: TableModel, check: CheckModel): CheckModel {
  const [again, ...more] = extractChecks(`CHECK (${check.sqliteSql})`, model.columns);
  const whole = again !== undefined && more.length === 0 && again.sqliteSql === check.sqliteSql.trim();
  return { ...check, pgSql: whole ? again.pgSql : null };
}
