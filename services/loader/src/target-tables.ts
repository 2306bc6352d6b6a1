import {
  LiteshiftError,
  oneStatement,
  META_TABLES,
  columnDefinition,
  columnTypes,
  createTableSql,
  dropTableSql,
  pgColumnName,
  pgColumnOf,
  pgTableName,
  qualified,
  quoteIdent,
  quoteLiteral,
  normalPgType,
  widens,
  ROWID_COLUMN,
  translateDefault,
  type ColumnModel,
  type Logger,
  type PgPoolClient,
  type TableModel,
} from '@liteshift/shared';
import type pg from 'pg';
import { relaxAdopted } from './relaxed-constraints.js';

/**
 * Creates the target table of a table model, or adopts an existing one (a schema the
 * application's own migrations created first, or an earlier run's): missing columns are
 * added, and the key must be unique there, since upserts need it. A table built from an
 * earlier model follows the new one (evolveTable). Returns the model the loader applies
 * with (an earlier run's timestamp columns may be kept: adoptTimestamps) and the table's
 * column types (name → format_type()), which may not be the model's in an adopted table.
 */
export async function ensureTargetTable(
  client: pg.ClientBase,
  schema: string,
  source: TableModel,
  fingerprint: string,
  log: Logger,
): Promise<{ table: TableModel; types: Map<string, string> }> {
  let table = source;
  // Locked by the target's name: two source tables must never share one target table.
  const lock = `liteshift.table.${schema}.${pgTableName(table)}`;
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [lock]);
  try {
    await requireOwnTarget(client, schema, table);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    const existing = await client.query<{ column_name: string; required: boolean }>(
      `SELECT column_name, is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO' AND is_generated = 'NEVER' AS required
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`,
      [schema, pgTableName(table)],
    );
    if (existing.rowCount === 0) {
      await client.query(oneStatement(createTableSql(schema, table)));
      log.info({ table: table.name }, 'created target table');
    } else {
      table = await adoptTimestamps(client, schema, source, log);
      const previous = (await client.query<{ model: TableModel }>(`SELECT model FROM ${META_TABLES.tables} WHERE table_name = $1`, [table.name])).rows[0]?.model;
      const dropping = new Set(previous ? droppedColumns(previous, table).map(pgColumnName) : []);
      const have = new Set(existing.rows.map((r) => r.column_name));
      requireWritable(schema, table, existing.rows.filter((r) => r.required && !dropping.has(r.column_name)).map((r) => r.column_name));
      if (previous) await evolveTable(client, schema, table, previous, log);
      for (const column of table.columns.filter((c) => !have.has(pgColumnName(c)))) {
        // Added columns cannot be NOT NULL without a default: existing rows get NULL.
        const definition = columnDefinition({ ...column, notNull: false, identity: false });
        await client.query(oneStatement(`ALTER TABLE ${qualified(schema, pgTableName(table))} ADD COLUMN IF NOT EXISTS ${definition}`));
        log.info({ table: table.name, column: column.name }, 'added column to target table');
      }
      await requireUniqueKey(client, schema, table);
      if (!previous) {
        const relaxed = await relaxAdopted(client, schema, table);
        if (relaxed.length > 0) log.info({ table: table.name, constraints: relaxed }, 'adopted table: its own constraints dropped while rows stream in no order; created again at cutover');
      }
    }
    await client.query(
      `INSERT INTO ${META_TABLES.tables} (table_name, target_schema, fingerprint, model) VALUES ($1, $2, $3, $4)
       ON CONFLICT (table_name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, model = EXCLUDED.model, target_schema = EXCLUDED.target_schema`,
      [table.name, schema, fingerprint, JSON.stringify(table)],
    );
    return { table, types: await columnTypes(client, qualified(schema, pgTableName(table))) };
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lock]);
  }
}

/**
 * A table the loader built from an earlier model (liteshift.tables) follows the new one
 * when the extractor planned it anew (a table rebuilt by the application, types profiled
 * again at a restart): a column whose type liteshift chose changes type when the new one
 * widens it, a column SQLite no longer has is dropped. A column whose type the target
 * does not have from liteshift (adopted, cast, changed by hand) is left as it is. A new
 * key, or a type that would not hold the old values, stops the table (TABLE_STOPPED).
 */
async function evolveTable(client: pg.ClientBase, schema: string, table: TableModel, previous: TableModel, log: Logger): Promise<void> {
  const target = qualified(schema, pgTableName(table));
  const stop = (why: string): LiteshiftError =>
    new LiteshiftError('TABLE_STOPPED', `table ${table.name}: ${why}; its changes are no longer applied (they wait on Kafka)`, {
      hint: `drop ${target} in PostgreSQL and DELETE FROM ${META_TABLES.tables} WHERE table_name = ${quoteLiteral(table.name)}, then restart the loader: it creates the table from the new schema and applies what waits on Kafka (the extractor sent every row again)`,
    });
  const keyOf = (t: TableModel): string => t.key.map((k) => pgColumnOf(t, k)).join(', ');
  if (keyOf(previous) !== keyOf(table)) throw stop(`its primary key changed from (${keyOf(previous)}) to (${keyOf(table)})`);
  const types = await columnTypes(client, target);
  for (const column of table.columns) {
    const before = previous.columns.find((c) => c.name === column.name);
    const actual = types.get(pgColumnName(column));
    if (!before || actual === undefined || normalPgType(actual) !== normalPgType(before.pgType) || normalPgType(column.pgType) === normalPgType(actual)) continue;
    if (!widens(actual, column.pgType)) throw stop(`column ${column.name} changed from ${actual} to ${column.pgType}, which cannot hold every value the column has`);
    const name = quoteIdent(pgColumnName(column));
    await client.query(`ALTER TABLE ${target} ALTER COLUMN ${name} TYPE ${column.pgType} USING ${name}::${column.pgType}`);
    log.info({ table: table.name, column: column.name, from: actual, to: column.pgType }, 'column type widened in the target table');
  }
  for (const column of droppedColumns(previous, table).filter((c) => types.has(pgColumnName(c)))) {
    await client.query(`ALTER TABLE ${target} DROP COLUMN ${quoteIdent(pgColumnName(column))}`);
    log.info({ table: table.name, column: column.name }, 'column dropped from the target table (SQLite no longer has it)');
  }
}

/** Columns of the earlier model SQLite no longer has (a synthetic rowid key is no column of SQLite's: a key that changes is not a column dropped). */
function droppedColumns(previous: TableModel, table: TableModel): ColumnModel[] {
  const now = new Set(table.columns.map((c) => c.name));
  return previous.columns.filter((c) => !c.synthetic && !now.has(c.name));
}

/**
 * The target table must not already hold another SQLite table: one recorded under the same
 * PostgreSQL name, as PostgreSQL compares them (cut to 63 bytes, as an earlier run that did
 * not shorten names may have left them).
 */
async function requireOwnTarget(client: pg.ClientBase, schema: string, table: TableModel): Promise<void> {
  const other = await client.query<{ table_name: string }>(
    `SELECT table_name FROM ${META_TABLES.tables}
      WHERE target_schema = $1 AND coalesce(model->>'pgName', table_name)::name = $2::name AND table_name <> $3`,
    [schema, pgTableName(table), table.name],
  );
  if (other.rows.length > 0) {
    const holder = other.rows[0]!.table_name;
    throw new LiteshiftError('PG_TARGET_CONFLICT', `target table ${schema}.${pgTableName(table)} already holds SQLite table ${holder}; ${table.name} cannot go into it too`, {
      hint: `give ${table.name} another name with --rename (or, if ${holder} is gone from SQLite, drop that table and DELETE FROM ${META_TABLES.tables} WHERE table_name = ${quoteLiteral(holder)})`,
    });
  }
}

/** Every insert would fail on a NOT NULL column without a default that no event fills: said before a row moves. */
function requireWritable(schema: string, table: TableModel, required: readonly string[]): void {
  const written = new Set(table.columns.map(pgColumnName));
  const column = required.find((c) => !written.has(c));
  if (column === undefined) return;
  const why = column === ROWID_COLUMN ? ' (an earlier run keyed the table by rowid, as its primary key held NULL then; `liteshift migrate` keeps that key)' : '';
  throw new LiteshiftError('PG_TARGET_CONFLICT', `target table ${schema}.${pgTableName(table)} has column ${column} NOT NULL without a default, which liteshift does not write${why}`, {
    hint: `drop its NOT NULL (ALTER TABLE … ALTER COLUMN ${quoteIdent(column)} DROP NOT NULL), or rerun with --force-recreate`,
  });
}

const NAIVE = 'timestamp without time zone';

/**
 * A target table an earlier run made when DATETIME text without an offset became
 * `timestamp` (the default before --timestamps utc). A table never mixes the two readings:
 * by default every such column of it stays timestamp (the model says so, so the loader
 * converts and the verifier compares as before) and a warning says so; with
 * --timestamps convert they are altered to timestamptz in one statement, the stored clock
 * read as UTC.
 */
async function adoptTimestamps(client: pg.ClientBase, schema: string, table: TableModel, log: Logger): Promise<TableModel> {
  const types = await columnTypes(client, qualified(schema, pgTableName(table)));
  const earlier = table.columns.filter((c) => c.naiveUtc && types.get(pgColumnName(c)) === NAIVE);
  if (earlier.length === 0) return table;
  const names = earlier.map((c) => c.name);
  if (earlier.some((c) => c.naiveUtc === 'convert')) {
    const alters = earlier.flatMap((c) => {
      const n = quoteIdent(pgColumnName(c));
      // The old default (the UTC clock as timestamp) would be cast through the session's zone.
      return [`ALTER COLUMN ${n} DROP DEFAULT`, `ALTER COLUMN ${n} TYPE timestamptz USING ${n} AT TIME ZONE 'UTC'`, ...(c.pgDefault ? [`ALTER COLUMN ${n} SET DEFAULT ${c.pgDefault}`] : [])];
    });
    await client.query(`ALTER TABLE ${qualified(schema, pgTableName(table))} ${alters.join(', ')}`);
    log.warn({ table: table.name, columns: names }, 'converted timestamp columns an earlier run made to timestamptz, their clock read as UTC (--timestamps convert)');
    return table;
  }
  const kept = table.columns.map((c): ColumnModel => {
    if (!c.naiveUtc || types.get(pgColumnName(c)) === 'timestamp with time zone') return c;
    const { naiveUtc: _, ...rest } = c;
    const where = { table: table.name, column: c.name };
    return {
      ...rest,
      kind: 'timestamp',
      pgType: 'timestamp',
      pgDefault: translateDefault(c.sqliteDefault, 'timestamp', where, [], c.epoch),
      reason: `${c.reason}; kept timestamp: an earlier run made the target table so (--timestamps convert alters it to timestamptz)`,
    };
  });
  log.warn(
    { table: table.name, columns: names },
    'kept timestamp columns an earlier run made (timestamp without time zone, the clock in UTC): --timestamps convert alters them to timestamptz',
  );
  return { ...table, columns: kept };
}

async function requireUniqueKey(client: pg.ClientBase, schema: string, table: TableModel): Promise<void> {
  const result = await client.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL
      GROUP BY i.indexrelid`,
    [qualified(schema, pgTableName(table))],
  );
  const want = table.key.map((k) => pgColumnOf(table, k)).sort().join('\u0000');
  if (!result.rows.some((r) => [...r.columns].sort().join('\u0000') === want)) {
    throw new LiteshiftError(
      'PG_TARGET_CONFLICT',
      `target table ${schema}.${table.name} exists but has no primary key or unique index on (${table.key.join(', ')})`,
      { hint: 'add one, or rerun with --force-recreate to let liteshift recreate the table' },
    );
  }
}

/** --force-recreate: drops the target tables and everything liteshift recorded about them. */
export async function dropTargetTables(client: PgPoolClient | pg.ClientBase, schema: string, tables: readonly TableModel[]): Promise<void> {
  for (const table of tables) {
    await client.query(dropTableSql(schema, table));
    await client.query(`DELETE FROM ${META_TABLES.tables} WHERE table_name = $1`, [table.name]);
    await client.query(`DELETE FROM ${META_TABLES.rejects} WHERE table_name = $1`, [table.name]);
  }
}
