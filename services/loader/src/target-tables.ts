import {
  LiteshiftError,
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
  type Logger,
  type PgPoolClient,
  type TableModel,
} from '@liteshift/shared';
import type pg from 'pg';

/**
 * Creates the target table of a table model, or adopts an existing one (a schema the
 * application's own migrations created first, or an earlier run's): missing columns are
 * added, and the key must be unique there, since upserts need it. A table built from an
 * earlier model follows the new one (evolveTable). Returns the table's column types
 * (name → format_type()), which may not be the model's in an adopted table.
 */
export async function ensureTargetTable(
  client: pg.ClientBase,
  schema: string,
  table: TableModel,
  fingerprint: string,
  log: Logger,
): Promise<Map<string, string>> {
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [`liteshift.table.${schema}.${table.name}`]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    const existing = await client.query<{ column_name: string }>(
      'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
      [schema, pgTableName(table)],
    );
    if (existing.rowCount === 0) {
      await client.query(createTableSql(schema, table));
      log.info({ table: table.name }, 'created target table');
    } else {
      await evolveTable(client, schema, table, log);
      const have = new Set(existing.rows.map((r) => r.column_name));
      for (const column of table.columns.filter((c) => !have.has(pgColumnName(c)))) {
        // Added columns cannot be NOT NULL without a default: existing rows get NULL.
        const definition = columnDefinition({ ...column, notNull: false, identity: false });
        await client.query(`ALTER TABLE ${qualified(schema, pgTableName(table))} ADD COLUMN IF NOT EXISTS ${definition}`);
        log.info({ table: table.name, column: column.name }, 'added column to target table');
      }
      await requireUniqueKey(client, schema, table);
    }
    await client.query(
      `INSERT INTO ${META_TABLES.tables} (table_name, target_schema, fingerprint, model) VALUES ($1, $2, $3, $4)
       ON CONFLICT (table_name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, model = EXCLUDED.model, target_schema = EXCLUDED.target_schema`,
      [table.name, schema, fingerprint, JSON.stringify(table)],
    );
    return await columnTypes(client, qualified(schema, pgTableName(table)));
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`liteshift.table.${schema}.${table.name}`]);
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
async function evolveTable(client: pg.ClientBase, schema: string, table: TableModel, log: Logger): Promise<void> {
  const stored = await client.query<{ model: TableModel }>(`SELECT model FROM ${META_TABLES.tables} WHERE table_name = $1`, [table.name]);
  const previous = stored.rows[0]?.model;
  if (!previous) return;
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
  const now = new Set(table.columns.map((c) => c.name));
  for (const column of previous.columns.filter((c) => !now.has(c.name) && types.has(pgColumnName(c)))) {
    await client.query(`ALTER TABLE ${target} DROP COLUMN ${quoteIdent(pgColumnName(column))}`);
    log.info({ table: table.name, column: column.name }, 'column dropped from the target table (SQLite no longer has it)');
  }
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
