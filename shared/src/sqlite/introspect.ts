import type { ColumnModel, ColumnProfile, ForeignKeyModel, IndexModel, Notice, SchemaModel, SkippedObject, TableModel } from '../schema/model.js';
import { READABLE_COPY_SCHEMA, ROWID_COLUMN, foldIdentifier, pgColumnOf, pgTableName, sqliteReadExpr, type IdentifierFolding, type MappingOptions } from '../schema/model.js';
import { nameColumns, nameTables, type RenameRule } from '../schema/pg-names.js';
import { quoteIdent } from '../schema/identifiers.js';
import { chooseType, epochUnit, type MisfitPolicy, type TimestampMode, type TypeChoice } from '../schema/type-mapping.js';
import { findCast, type CastRule } from '../schema/casts.js';
import { sameName, type ExcludedColumn } from '../schema/exclusions.js';
import { translateDefault } from '../schema/defaults.js';
import { readChecks } from '../schema/checks.js';
import { columnCollations } from '../schema/collations.js';
import { isKeyword, matchParen, tokenize, type Token } from '../schema/sql-tokens.js';
import { LiteshiftError, errorMessage } from '../errors.js';
import { countRejects, profileTable, registerProfileFunctions, type ProfiledColumn, type RejectCheck } from './profile.js';
import { BUILTIN_COLLATIONS, foreignKeyCollation, foreignKeyCollations } from './readable-copy.js';
import { profileTableInParallel } from './profile-parallel.js';
import { detectStoredForms } from './stored-forms.js';
import type { SqliteDatabase } from './open.js';

/** Tables liteshift itself keeps in the SQLite file (changelog, state). */
export const INTERNAL_PREFIX = '_liteshift_';

interface TableListRow {
  schema: string;
  name: string;
  type: 'table' | 'view' | 'shadow' | 'virtual';
  wr: bigint;
}
interface XInfoRow {
  cid: bigint;
  name: string;
  type: string;
  notnull: bigint;
  dflt_value: string | null;
  pk: bigint;
  hidden: bigint;
}
interface FkRow {
  id: bigint;
  seq: bigint;
  table: string;
  from: string;
  to: string | null;
  on_update: string;
  on_delete: string;
}
interface IndexListRow {
  name: string;
  unique: bigint;
  origin: 'c' | 'u' | 'pk';
  partial: bigint;
}
interface IndexXInfoRow {
  seqno: bigint;
  cid: bigint;
  name: string | null;
  coll: string | null;
  key: bigint;
}

export interface ReadSchemaOptions extends MappingOptions {
  /** Scan the data to choose types that hold every stored value (default true). */
  profile?: boolean;
  /** Count rows per table (default true). */
  count?: boolean;
  /**
   * Tables the target already keys by rowid (an earlier run found NULL in their declared
   * key, which may be gone since): keyed by rowid again, so that the rows there keep the
   * only key they have. `migrate` passes them; --force-recreate plans afresh.
   */
  keyByRowid?: readonly string[];
}

/** The mapping options from the settings of the same names (--on-misfit, --cast, --fold-identifiers, --rename, --timestamps, --exclude-table, --exclude-column). */
export function mappingOptions(settings: {
  onMisfit?: MisfitPolicy;
  cast?: readonly CastRule[];
  foldIdentifiers?: IdentifierFolding;
  rename?: readonly RenameRule[];
  timestamps?: TimestampMode;
  excludeTable?: readonly string[];
  excludeColumn?: readonly ExcludedColumn[];
}): MappingOptions {
  return {
    ...(settings.onMisfit ? { onMisfit: settings.onMisfit } : {}),
    ...(settings.cast?.length ? { casts: settings.cast } : {}),
    ...(settings.foldIdentifiers ? { foldIdentifiers: settings.foldIdentifiers } : {}),
    ...(settings.rename?.length ? { renames: settings.rename } : {}),
    ...(settings.timestamps ? { timestamps: settings.timestamps } : {}),
    ...(settings.excludeTable?.length ? { excludeTables: settings.excludeTable } : {}),
    ...(settings.excludeColumn?.length ? { excludeColumns: settings.excludeColumn } : {}),
  };
}

/** PostgreSQL's limit on the columns of a table. */
const PG_MAX_COLUMNS = 1600;

/** Reads the SQLite schema into the schema model (DESIGN contract 1). */
export function readSchema(db: SqliteDatabase, options: ReadSchemaOptions = {}): SchemaModel {
  const notices: Notice[] = [];
  const skipped: SkippedObject[] = [];
  const tables: TableModel[] = [];
  if (options.profile !== false) registerProfileFunctions(db);
  const list = db.prepare('PRAGMA main.table_list').all() as TableListRow[];
  const createSql = new Map<string, string>(
    (db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table'").all() as { name: string; sql: string | null }[]).map(
      (r) => [r.name, r.sql ?? ''],
    ),
  );
  // Shadow tables of a virtual table whose module this SQLite lacks look like plain tables.
  const modulelessVirtuals = list.filter((e) => e.schema === 'main' && e.type === 'virtual' && !readable(db, `SELECT * FROM main.${quoteIdent(e.name)} LIMIT 0`));
  const skip = (name: string, type: SkippedObject['type'], reason: string): void => {
    skipped.push({ name, type, reason });
    notices.push({ level: type === 'shadow-table' ? 'info' : 'warn', table: name, message: `${type.replace('-', ' ')} skipped: ${reason}` });
  };

  const excluded = checkExclusions(db, options, list);
  const copied = readableCopyTables(db);
  for (const entry of list.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.schema !== 'main') continue;
    if (entry.name.startsWith('sqlite_') || entry.name.startsWith(INTERNAL_PREFIX)) continue;
    if (excluded.tables.includes(entry.name)) continue;
    if (entry.type === 'view') {
      skip(entry.name, 'view', 'views are not migrated (recreate them on PostgreSQL; the tables they read are migrated)');
      continue;
    }
    if (entry.type === 'virtual') {
      const module = /\bUSING\s+(\w+)/i.exec(createSql.get(entry.name) ?? '')?.[1] ?? 'a module';
      const missing = modulelessVirtuals.some((v) => v.name === entry.name) ? ', a module this SQLite does not have' : '';
      skip(
        entry.name,
        'virtual-table',
        `virtual table (${module}${missing}): SQLite cannot put capture triggers on it and its rows live in internal shadow tables; rebuild it on PostgreSQL (full-text search: tsvector; R*Tree: PostGIS or cube)`,
      );
      continue;
    }
    if (entry.type === 'shadow') {
      skip(entry.name, 'shadow-table', 'internal storage of a virtual table');
      continue;
    }
    const owner = modulelessVirtuals.find((v) => entry.name.startsWith(`${v.name}_`));
    if (owner) {
      skip(entry.name, 'shadow-table', `probably the internal storage of virtual table ${owner.name}, whose module this SQLite does not have`);
      continue;
    }
    const table = readTable(db, entry.name, entry.wr !== 0n, createSql.get(entry.name) ?? '', options, notices, copied.has(entry.name));
    if (typeof table === 'string') skip(entry.name, 'unreadable', table);
    else tables.push(table);
  }
  const triggers = db.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'trigger'").all() as { name: string; tbl_name: string }[];
  for (const trigger of triggers) {
    if (trigger.name.startsWith(INTERNAL_PREFIX)) continue;
    skip(trigger.name, 'trigger', `trigger on ${trigger.tbl_name} is not migrated (the rows it wrote are; recreate it on PostgreSQL if the application needs it)`);
  }
  checkRules('--cast', options.casts ?? [], tables, skipped);
  checkRules('--rename', options.renames ?? [], tables, skipped);
  nameTables(tables, options, notices);
  resolveForeignKeyTargets(tables, notices);
  const mapping: MappingOptions = {
    ...(options.onMisfit ? { onMisfit: options.onMisfit } : {}),
    ...(options.casts?.length ? { casts: options.casts } : {}),
    ...(options.foldIdentifiers ? { foldIdentifiers: options.foldIdentifiers } : {}),
    ...(options.renames?.length ? { renames: options.renames } : {}),
    ...(options.timestamps ? { timestamps: options.timestamps } : {}),
    ...(options.excludeTables?.length ? { excludeTables: options.excludeTables } : {}),
    ...(options.excludeColumns?.length ? { excludeColumns: options.excludeColumns } : {}),
  };
  return { tables, skipped, notices, mapping, ...(excluded.tables.length + excluded.columns.length > 0 ? { excluded } : {}) };
}

/** Tables of the readable copy attached to this connection (sqlite/readable-copy.ts), if any. */
function readableCopyTables(db: SqliteDatabase): Set<string> {
  const attached = (db.prepare('PRAGMA database_list').all() as { name: string }[]).some((d) => d.name === READABLE_COPY_SCHEMA);
  if (!attached) return new Set();
  const rows = db.prepare(`SELECT name FROM ${READABLE_COPY_SCHEMA}.sqlite_schema WHERE type = 'table'`).all() as { name: string }[];
  return new Set(rows.map((r) => r.name));
}

/** Whether a statement prepares: SQL naming a function or collation only the application registers does not. */
function readable(db: SqliteDatabase, sql: string): boolean {
  return prepareError(db, sql) === null;
}

function prepareError(db: SqliteDatabase, sql: string): string | null {
  try {
    db.prepare(sql);
    return null;
  } catch (error) {
    return errorMessage(error);
  }
}

function readTable(
  db: SqliteDatabase,
  name: string,
  withoutRowid: boolean,
  sql: string,
  options: ReadSchemaOptions,
  notices: Notice[],
  copied: boolean,
): TableModel | string {
  const q = quoteIdent(name);
  const fold = (n: string): string => foldIdentifier(n, options.foldIdentifiers ?? 'none');
  const excludedColumn = (c: string): boolean => options.excludeColumns?.some((x) => sameName(x.table, name) && sameName(x.column, c)) ?? false;
  const info = (db.prepare(`PRAGMA main.table_xinfo(${q})`).all() as XInfoRow[]).filter((c) => {
    if (!excludedColumn(c.name)) return true;
    if (c.pk > 0n) {
      throw new LiteshiftError('CONFIG_INVALID', `--exclude-column ${name}.${c.name}: a key column cannot be left out (the rows are found by it)`, {
        hint: `leave the whole table out with --exclude-table ${name}`,
      });
    }
    return false;
  });
  const indexList = db.prepare(`PRAGMA main.index_list(${q})`).all() as IndexListRow[];
  const pk = info.filter((c) => c.pk > 0n).sort((a, b) => Number(a.pk - b.pk));
  // `INTEGER PRIMARY KEY DESC` is no rowid alias (a SQLite quirk): SQLite then keeps a unique index for it, as for any other key.
  const rowidAlias =
    !withoutRowid && pk.length === 1 && pk[0]!.type.toUpperCase() === 'INTEGER' && !indexList.some((i) => i.origin === 'pk') ? pk[0]!.name : null;
  if (!withoutRowid && pk.length === 1 && pk[0]!.type.toUpperCase() === 'INTEGER' && rowidAlias === null) {
    notices.push({ level: 'info', table: name, column: pk[0]!.name, message: 'INTEGER PRIMARY KEY DESC is no rowid alias in SQLite: a plain bigint key, not an identity' });
  }

  const unreadable = (from: string): boolean =>
    !readable(db, `SELECT 1 ${from} LIMIT 0`) || (withoutRowid && !readable(db, `SELECT ${pk.map((c) => quoteIdent(c.name)).join(', ')} ${from} LIMIT 0`));
  let from = `FROM main.${q}`;
  if (unreadable(from)) {
    // The readable copy holds the table with a BINARY key, made for tables like this one.
    const fromCopy = `FROM ${READABLE_COPY_SCHEMA}.${q}`;
    if (!copied || unreadable(fromCopy)) {
      const collation = withoutRowid ? foreignKeyCollation(db, name) : null;
      if (collation) {
        return `its WITHOUT ROWID key compares with collation ${collation}, which only the application registers: SQLite reads it only from a private readable copy, and none holds it here (the commands that read rows make one; their log says why one could not be); copy it into a plain table from the application, or leave it out with --exclude-table ${name}`;
      }
      const why = prepareError(db, `SELECT * ${from}`) ?? prepareError(db, `SELECT count(*) ${from}`) ?? 'it cannot be read';
      return `SQLite cannot read it here (${why}): it needs something only the application registers; copy it into a plain table from the application, or leave it out with --exclude-table ${name}`;
    }
    from = fromCopy;
    notices.push({
      level: 'warn',
      table: name,
      message: `its WITHOUT ROWID key compares with collation ${foreignKeyCollation(db, name)}, which only the application registers: read from a private copy of the table whose key is BINARY, made from a backup of the file`,
    });
  }
  // SQLite lets the declared key of a rowid table hold NULL unless it is the rowid itself
  // (WITHOUT ROWID tables refuse it); PostgreSQL's key never can, so such a table is keyed by rowid.
  const nullable = !withoutRowid && rowidAlias === null && pk.length > 0;
  const nullKeyRows = nullable ? countNullKeys(db, name, pk.map((c) => c.name)) : 0;
  const keptByTarget = nullable && nullKeyRows === 0 && (options.keyByRowid?.includes(name) ?? false);
  const keyIsRowid = pk.length === 0 || nullKeyRows > 0 || keptByTarget;
  if (keyIsRowid && info.some((c) => c.name === ROWID_COLUMN)) {
    const why = pk.length === 0 ? 'it has no primary key' : keptByTarget ? 'the target is keyed so' : `its primary key holds NULL in ${nullKeyRows} row(s)`;
    throw new LiteshiftError('SQLITE_UNSUPPORTED', `${name}.${ROWID_COLUMN}: liteshift keys this table by rowid (${why}) and keeps the rowid in a column of that very name`, {
      hint: `rename the column in SQLite: ALTER TABLE ${quoteIdent(name)} RENAME COLUMN ${ROWID_COLUMN} TO <another name>`,
    });
  }
  const readFromCopy = from !== `FROM main.${q}`;
  const columnsRead: XInfoRow[] = [];
  for (const c of info.filter((c) => c.hidden !== 1n)) {
    const error = prepareError(db, `SELECT ${quoteIdent(c.name)} ${from} LIMIT 0`);
    if (error === null) {
      columnsRead.push(c);
      if (c.hidden === 2n || c.hidden === 3n) notices.push({ level: 'info', table: name, column: c.name, message: 'generated column: copied as plain values' });
    } else if (c.hidden === 2n && c.pk === 0n) {
      notices.push({ level: 'warn', table: name, column: c.name, message: `virtual generated column not migrated: SQLite cannot compute it here (${error}); recreate it on PostgreSQL` });
    } else {
      return `SQLite cannot read column ${c.name} here (${error})`;
    }
  }
  // The copy compares every column as BINARY: the key's own collation is read from its index.
  const collations = readFromCopy ? foreignKeyCollations(db, name) : foreignCollations(db, name, columnsRead);
  for (const [column, collation] of collations) {
    notices.push({
      level: 'warn',
      table: name,
      column,
      message: `collation ${collation} is the application's own: liteshift reads and compares the column byte by byte (BINARY), and PostgreSQL gets it without a collation`,
    });
  }

  const sources: ProfiledColumn[] = columnsRead.map((c) => ({
    name: c.name,
    declaredType: c.type,
    ...(findCast(options.casts ?? [], name, c.name) ? { detail: true } : {}),
  }));
  if (keyIsRowid) sources.push({ name: ROWID_COLUMN, declaredType: 'INTEGER', expr: 'rowid' });
  const profiles =
    options.profile === false
      ? new Map<string, ColumnProfile>()
      : readFromCopy
        ? profileTable(db, name, sources, { schema: READABLE_COPY_SCHEMA })
        : profileTableInParallel(db, name, sources);

  const declaredCollations = columnCollations(sql);
  const rejectChecks: RejectCheck[] = [];
  const columns: ColumnModel[] = columnsRead.map((c) => {
    const profile = profiles.get(c.name);
    const isAlias = c.name === rowidAlias;
    const isKey = c.pk > 0n && !keyIsRowid;
    const where = { table: name, column: c.name };
    const cast = findCast(options.casts ?? [], name, c.name);
    const type =
      cast && !isAlias
        ? castChoice(cast, c.type, profile)
        : chooseType(c.type, profile, { rowidAlias: isAlias, onMisfit: options.onMisfit ?? 'widen', timestamps: options.timestamps ?? 'utc' });
    const column: ColumnModel = {
      name: c.name,
      declaredType: c.type,
      // A key column held no NULL (else the table is keyed by rowid); PostgreSQL's key needs none.
      notNull: c.notnull !== 0n || isKey,
      sqliteDefault: c.dflt_value,
      kind: type.kind,
      pgType: type.pgType,
      pgDefault: isAlias ? null : translateDefault(c.dflt_value, type.kind, where, notices, type.epoch),
      identity: isAlias,
      reason: type.reason,
      ...(type.epoch ? { epoch: type.epoch } : {}),
      ...(type.naiveUtc ? { naiveUtc: type.naiveUtc } : {}),
      ...(declaredCollations.has(c.name) ? { collation: declaredCollations.get(c.name)! } : {}),
      ...(collations.has(c.name) ? { foreignCollation: collations.get(c.name)! } : {}),
      ...(profile ? { profile } : {}),
    };
    if (profile?.textNotPg && (type.kind === 'text' || type.kind === 'blob')) {
      if (isKey) {
        notices.push({
          level: 'warn',
          ...where,
          message: `key column holds ${profile.textNotPg} text value(s) that are not UTF-8: SQLite's driver reads them with U+FFFD in place of the bad bytes, so those keys arrive altered`,
        });
      } else {
        // The driver would replace bytes that are not UTF-8 by U+FFFD: read them as they are.
        column.readAs = 'blob';
      }
    }
    if (type.widened) {
      notices.push({
        level: 'warn',
        ...where,
        message: `widened to ${column.pgType} so that every value is kept (--on-misfit reject keeps the declared type and rejects the rows that do not fit; --cast chooses a type)`,
      });
    }
    if (cast && isAlias) notices.push({ level: 'warn', ...where, message: '--cast ignored: the rowid alias stays a bigint identity' });
    if ((cast && !isAlias) || type.rejecting) rejectChecks.push({ name: c.name, expr: sqliteReadExpr(column), kind: column.kind, pgType: column.pgType, ...(column.epoch ? { epoch: column.epoch } : {}), notNull: column.notNull });
    return column;
  });
  const declaredKey = keyIsRowid && pk.length > 0 ? pk.map((c) => c.name) : undefined;
  if (keyIsRowid) {
    columns.push({
      name: ROWID_COLUMN,
      declaredType: '',
      notNull: true,
      sqliteDefault: null,
      kind: 'integer',
      pgType: 'bigint',
      pgDefault: null,
      identity: false,
      synthetic: 'rowid',
      reason: declaredKey
        ? `declared primary key (${declaredKey.join(', ')}) ${keptByTarget ? 'held NULL in an earlier run' : 'holds NULL'}: keyed by SQLite rowid`
        : 'no declared primary key: keyed by SQLite rowid',
      ...(profiles.get(ROWID_COLUMN) ? { profile: profiles.get(ROWID_COLUMN)! } : {}),
    });
    if (declaredKey) {
      const key = declaredKey.join(', ');
      const why = keptByTarget
        ? `primary key (${key}) holds no NULL now, but the target table is keyed by rowid since an earlier run found some (--force-recreate plans it afresh)`
        : `primary key (${key}) holds NULL in ${nullKeyRows} row(s), which a PostgreSQL primary key cannot`;
      notices.push({
        level: 'warn',
        table: name,
        message: `${why}: keyed by rowid (column ${ROWID_COLUMN}); ${key} keeps its values under a UNIQUE constraint (NULLs are distinct there, as in SQLite)`,
      });
    } else {
      notices.push({ level: 'info', table: name, message: `no primary key: keyed by rowid, kept in column ${ROWID_COLUMN}` });
    }
  }
  if (columns.length > PG_MAX_COLUMNS) {
    throw new LiteshiftError('SQLITE_UNSUPPORTED', `table ${name} has ${columns.length} columns${keyIsRowid ? ` (${ROWID_COLUMN} included)` : ''}; PostgreSQL takes at most ${PG_MAX_COLUMNS}`, {
      hint: 'split it in SQLite (a second table sharing its key), or migrate it by hand',
    });
  }
  nameColumns(name, columns, options, notices);
  if (options.profile !== false && rejectChecks.length > 0) {
    const counted = countRejects(db, name, rejectChecks, readFromCopy ? READABLE_COPY_SCHEMA : 'main');
    for (const column of columns) {
      const n = counted.get(column.name);
      if (n === undefined) continue;
      if (column.profile) column.profile.rejects = n;
      const cast = findCast(options.casts ?? [], name, column.name);
      const why = cast ? `cast to ${column.pgType} (--cast)` : `declared type kept (--on-misfit reject)`;
      notices.push({
        level: n > 0 ? 'warn' : 'info',
        table: name,
        column: column.name,
        message: n > 0 ? `${why}: ${n} row(s) will be rejected into liteshift.rejects` : `${why}: every value fits`,
      });
    }
  }

  if (options.profile !== false) detectStoredForms(db, name, columns, readFromCopy ? READABLE_COPY_SCHEMA : 'main');
  const byName = new Map(columns.map((c) => [c.name, c]));
  const foreignKeys = readForeignKeys(db, name, sql, notices);
  const indexes = readIndexes(db, name, indexList, byName, notices);
  // The declared key's uniqueness stays, as SQLite's own index for it had it.
  if (declaredKey) indexes.push({ name: indexList.find((i) => i.origin === 'pk')?.name ?? `${name}_pkey`, unique: true, columns: declaredKey, origin: 'u' });
  for (const index of indexes) if (fold(index.name) !== index.name) index.pgName = fold(index.name);
  const checks = readChecks(sql, columns).map(({ check, whyNotPortable }) => {
    // A notice is one line; the CHECK may span several in CREATE TABLE.
    const shown = check.sqliteSql.replace(/\s+/g, ' ');
    if (whyNotPortable !== null) notices.push({ level: 'warn', table: name, message: `CHECK (${shown}) is not portable (${whyNotPortable}): skipped` });
    return check;
  });
  const rowCount =
    options.count === false
      ? undefined
      : profiles.size > 0
        ? profiles.values().next().value!.rows
        : // A bare count(*) reads the smallest index, which fails to prepare if it uses the application's collation.
          Number((db.prepare(`SELECT count(*) AS n ${from}${readable(db, `SELECT count(*) ${from}`) ? '' : ' NOT INDEXED'}`).get() as { n: bigint }).n);
  return {
    name,
    withoutRowid,
    columns,
    key: keyIsRowid ? [ROWID_COLUMN] : pk.map((c) => c.name),
    keyIsRowid,
    ...(declaredKey ? { declaredKey } : {}),
    foreignKeys,
    indexes,
    checks,
    ...(rowCount === undefined ? {} : { rowCount }),
    ...(readFromCopy ? { readFromCopy: true as const } : {}),
  };
}

/** A --cast: the user's type, with epochs recognised in the column's integers for date/time targets. */
function castChoice(cast: CastRule, declared: string, profile: ColumnProfile | undefined): TypeChoice {
  const shown = declared.trim() === '' ? 'no declared type' : `declared ${declared.trim()}`;
  const temporal = cast.kind === 'timestamp' || cast.kind === 'timestamptz' || cast.kind === 'date';
  const unit = temporal && profile ? epochUnit(profile) : null;
  const epochNote = unit ? `; integers are Unix epochs in ${unit}, read as UTC` : '';
  return { kind: cast.kind, pgType: cast.pgType, reason: `${shown}, cast to ${cast.pgType} by --cast${epochNote}`, ...(unit ? { epoch: unit } : {}) };
}

/**
 * Columns whose collation only the application registers (e.g. `COLLATE myapp_nocase`).
 * Any statement comparing such a column fails to prepare here; the model marks them so
 * that liteshift's own comparisons name BINARY instead.
 */
function foreignCollations(db: SqliteDatabase, table: string, columns: readonly XInfoRow[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of columns) {
    const error = prepareError(db, `SELECT 1 FROM main.${quoteIdent(table)} WHERE ${quoteIdent(c.name)} = ${quoteIdent(c.name)} LIMIT 0`);
    const m = error === null ? null : /no such collation sequence: (.+)$/.exec(error);
    if (m) out.set(c.name, m[1]!.trim());
  }
  return out;
}

/**
 * The foreign keys of a table. DEFERRABLE is read per constraint from the CREATE TABLE
 * text: PRAGMA foreign_key_list does not report it, and one deferred constraint says
 * nothing about its neighbours.
 */
function readForeignKeys(db: SqliteDatabase, table: string, sql: string, notices: Notice[]): ForeignKeyModel[] {
  const rows = db.prepare(`PRAGMA main.foreign_key_list(${quoteIdent(table)})`).all() as FkRow[];
  const byId = new Map<bigint, FkRow[]>();
  for (const row of rows) byId.set(row.id, [...(byId.get(row.id) ?? []), row]);
  // The pragma numbers constraints from the last declared one; in declaration order, they line up with the clauses.
  const declared = [...byId.values()].map((parts) => parts.sort((a, b) => Number(a.seq - b.seq))).reverse();
  const clauses = referenceClauses(sql);
  const aligned = clauses.length === declared.length && clauses.every((c, i) => c.refTable.toLowerCase() === declared[i]![0]!.table.toLowerCase());
  if (!aligned && clauses.some((c) => c.deferrable)) {
    notices.push({ level: 'warn', table, message: 'could not tell which foreign keys are DEFERRABLE: all are created as checked per statement' });
  }
  return declared.map((parts, i) => {
    const clause = aligned ? clauses[i] : undefined;
    return {
      columns: parts.map((p) => p.from),
      refTable: parts[0]!.table,
      refColumns: parts.every((p) => p.to !== null) ? parts.map((p) => p.to!) : [],
      onUpdate: parts[0]!.on_update,
      onDelete: parts[0]!.on_delete,
      deferrable: clause?.deferrable ?? false,
      ...(clause?.deferrable ? { initiallyDeferred: clause.initiallyDeferred } : {}),
    };
  });
}

interface ReferenceClause {
  refTable: string;
  deferrable: boolean;
  initiallyDeferred: boolean;
}

/** Every REFERENCES clause of a CREATE TABLE statement, in order, with its deferral. */
export function referenceClauses(createSql: string): ReferenceClause[] {
  const tokens = tokenize(createSql);
  const out: ReferenceClause[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (!isKeyword(tokens[i], 'REFERENCES')) continue;
    const target = tokens[i + 1];
    if (!target || (target.kind !== 'ident' && target.kind !== 'quoted-ident')) continue;
    // A clause ends at the comma or parenthesis that closes its column or constraint.
    let end = i + 2;
    const clause: Token[] = [];
    while (end < tokens.length) {
      const t = tokens[end]!;
      if (t.kind === 'comma' || t.kind === 'rparen') break;
      if (t.kind === 'lparen') {
        const close = matchParen(tokens, end);
        end = close;
        continue;
      }
      if (isKeyword(t, 'REFERENCES') || isKeyword(t, 'CONSTRAINT') || isKeyword(t, 'CHECK') || isKeyword(t, 'PRIMARY') || isKeyword(t, 'UNIQUE') || isKeyword(t, 'NOT') && isKeyword(tokens[end + 1], 'NULL')) break;
      clause.push(t);
      end++;
    }
    const at = clause.findIndex((t) => isKeyword(t, 'DEFERRABLE'));
    const negated = at > 0 && isKeyword(clause[at - 1], 'NOT');
    const deferrable = at >= 0 && !negated;
    const initially = clause.findIndex((t) => isKeyword(t, 'INITIALLY'));
    const initiallyDeferred = deferrable && initially >= 0 && isKeyword(clause[initially + 1], 'DEFERRED');
    out.push({ refTable: target.value, deferrable, initiallyDeferred });
    i = end - 1;
  }
  return out;
}

function readIndexes(db: SqliteDatabase, table: string, list: readonly IndexListRow[], columns: Map<string, ColumnModel>, notices: Notice[]): IndexModel[] {
  const out: IndexModel[] = [];
  for (const index of list) {
    if (index.origin === 'pk') continue;
    const cols = (db.prepare(`PRAGMA main.index_xinfo(${quoteIdent(index.name)})`).all() as IndexXInfoRow[])
      .filter((c) => c.key !== 0n)
      .sort((a, b) => Number(a.seqno - b.seqno));
    if (index.partial !== 0n || cols.some((c) => c.cid < 0n || c.name === null)) {
      notices.push({ level: 'warn', table, message: `index ${index.name} uses an expression or a WHERE clause: not created` });
      continue;
    }
    if (cols.some((c) => !columns.has(c.name!))) {
      notices.push({ level: 'warn', table, message: `index ${index.name} covers a column that is not migrated: not created` });
      continue;
    }
    const collated = cols.filter((c) => c.coll !== null && c.coll.toLowerCase() !== 'binary');
    if (collated.length > 0) {
      const which = collated.map((c) => `${c.name} COLLATE ${c.coll}`).join(', ');
      const builtin = collated.every((c) => BUILTIN_COLLATIONS.has(c.coll!.toLowerCase()));
      notices.push({
        level: index.unique !== 0n || !builtin ? 'warn' : 'info',
        table,
        message: `index ${index.name} compares ${which} in SQLite; PostgreSQL's index compares exactly${index.unique !== 0n ? ' (its uniqueness is case- and byte-exact there)' : ''}`,
      });
    }
    out.push({ name: index.name, unique: index.unique !== 0n, columns: cols.map((c) => c.name!), origin: index.origin });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A FOREIGN KEY without a column list points at the parent's primary key. */
function resolveForeignKeyTargets(tables: TableModel[], notices: Notice[]): void {
  const byName = new Map(tables.map((t) => [t.name, t]));
  for (const table of tables) {
    table.foreignKeys = table.foreignKeys.filter((fk) => {
      const parent = byName.get(fk.refTable) ?? [...byName.values()].find((t) => t.name.toLowerCase() === fk.refTable.toLowerCase());
      if (!parent) {
        notices.push({ level: 'warn', table: table.name, message: `foreign key to missing table ${fk.refTable}: skipped` });
        return false;
      }
      fk.refTable = parent.name;
      // SQLite matches identifiers without regard to case; PostgreSQL's quoted ones do not.
      fk.columns = fk.columns.map((c) => canonicalName(table, c));
      const parentKey = parent.declaredKey ?? (parent.keyIsRowid ? [] : parent.key);
      fk.refColumns = fk.refColumns.length === 0 ? [...parentKey] : fk.refColumns.map((c) => canonicalName(parent, c));
      if (fk.refColumns.length !== fk.columns.length) {
        notices.push({ level: 'warn', table: table.name, message: `foreign key to ${parent.name} does not match its key: skipped` });
        return false;
      }
      if (fk.columns.some((c) => !table.columns.some((col) => col.name === c)) || fk.refColumns.some((c) => !parent.columns.some((col) => col.name === c))) {
        notices.push({ level: 'warn', table: table.name, message: `foreign key to ${parent.name} names a column that is not migrated: skipped` });
        return false;
      }
      if (pgTableName(parent) !== parent.name) fk.pgRefTable = pgTableName(parent);
      const pgRefColumns = fk.refColumns.map((c) => pgColumnOf(parent, c));
      if (pgRefColumns.some((c, i) => c !== fk.refColumns[i])) fk.pgRefColumns = pgRefColumns;
      return true;
    });
  }
}

function canonicalName(table: TableModel, name: string): string {
  return table.columns.find((c) => c.name === name)?.name ?? table.columns.find((c) => c.name.toLowerCase() === name.toLowerCase())?.name ?? name;
}

/**
 * What --exclude-table and --exclude-column left out, by SQLite's names. A name matching
 * nothing is a typo: refused, as a --cast is, rather than silently leaving nothing out.
 */
function checkExclusions(db: SqliteDatabase, options: MappingOptions, list: readonly TableListRow[]): { tables: string[]; columns: ExcludedColumn[] } {
  const wrong: string[] = [];
  const tables: string[] = [];
  const tableNamed = (name: string) => list.find((e) => e.schema === 'main' && e.type === 'table' && !e.name.startsWith('sqlite_') && sameName(e.name, name));
  for (const name of options.excludeTables ?? []) {
    const entry = tableNamed(name);
    if (entry) tables.push(entry.name);
    else wrong.push(`--exclude-table ${name}: no such table`);
  }
  const columns: ExcludedColumn[] = [];
  for (const x of options.excludeColumns ?? []) {
    const entry = tableNamed(x.table);
    if (entry && tables.includes(entry.name)) continue;
    const info = entry ? (db.prepare(`PRAGMA main.table_xinfo(${quoteIdent(entry.name)})`).all() as XInfoRow[]) : [];
    const column = info.find((c) => c.hidden !== 1n && sameName(c.name, x.column));
    if (entry && column) columns.push({ table: entry.name, column: column.name });
    else wrong.push(`--exclude-column ${x.table}.${x.column}: no such ${entry ? 'column' : 'table'}`);
  }
  if (wrong.length > 0) {
    throw new LiteshiftError('CONFIG_INVALID', `${wrong.join('; ')} in SQLite`, {
      hint: '`liteshift plan` lists every table and column; quote names with dots, spaces or semicolons ("my table"."my column")',
    });
  }
  return { tables: [...new Set(tables)].sort(), columns };
}

/** A --cast or --rename naming no table or column is a typo: refused, rather than silently doing nothing. */
function checkRules(flag: string, rules: readonly { table: string; column?: string }[], tables: readonly TableModel[], skipped: readonly SkippedObject[]): void {
  const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
  const unmatched = rules.filter((rule) => {
    const table = tables.find((t) => same(t.name, rule.table));
    if (!table) return !skipped.some((s) => same(s.name, rule.table));
    return rule.column !== undefined && !table.columns.some((c) => !c.synthetic && same(c.name, rule.column!));
  });
  if (unmatched.length > 0) {
    throw new LiteshiftError('CONFIG_INVALID', `${flag} names no such ${rules.some((r) => r.column === undefined) ? 'table or ' : ''}column: ${unmatched.map((r) => [r.table, r.column].filter((n) => n !== undefined).join('.')).join(', ')}`, {
      hint: '`liteshift plan` lists every table and column; quote names with dots or spaces ("my table"."my column")',
    });
  }
}

/** Rows whose declared key holds NULL in any of its columns; the key's own index finds them, where it can be used here. */
function countNullKeys(db: SqliteDatabase, table: string, key: readonly string[]): number {
  const where = `WHERE ${key.map((k) => `${quoteIdent(k)} IS NULL`).join(' OR ')}`;
  const from = `FROM main.${quoteIdent(table)}`;
  const sql = `SELECT count(*) AS n ${from} ${where}`;
  return Number((db.prepare(readable(db, sql) ? sql : `SELECT count(*) AS n ${from} NOT INDEXED ${where}`).get() as { n: bigint }).n);
}
