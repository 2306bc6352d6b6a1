/**
 * Constraints that rows streamed in no order across tables cannot satisfy at every moment
 * (a child before its parent on another topic, a unique value moving between rows): they
 * hold in PostgreSQL only from cutover on, and are dropped again whenever streaming
 * resumes (a cutover that ends NOT READY or is aborted, a replay).
 * - liteshift's own (from the SQLite model) are created by finalize.ts and dropped by
 *   their names (relaxModelConstraints);
 * - those an application created on a table liteshift adopted are recorded with their
 *   definitions in liteshift.relaxed_constraints when it adopts the table, dropped, and
 *   created again at cutover (restoreAdopted) — validated, so orphans become notices.
 */
import {
  META_TABLES,
  errorMessage,
  foreignKeyName,
  indexName,
  oneStatement,
  pgColumnOf,
  pgTableName,
  qualified,
  quoteIdent,
  type Logger,
  type Notice,
  type TableModel,
} from '@liteshift/shared';
import type pg from 'pg';
import { finalizeTables } from './finalize.js';

interface Relaxed {
  table_name: string;
  name: string;
  kind: 'f' | 'c' | 'u' | 'x' | 'i';
  definition: string;
}

/**
 * Records and drops an adopted table's foreign keys, CHECKs, exclusions and unique
 * constraints or indexes other than the key's (upserts need that one), and the foreign
 * keys of other tables that rest on a unique constraint dropped here. Returns their names.
 */
export async function relaxAdopted(client: pg.ClientBase, schema: string, table: TableModel): Promise<string[]> {
  const target = qualified(schema, pgTableName(table));
  const key = table.key.map((k) => pgColumnOf(table, k)).sort();
  await client.query('BEGIN');
  try {
    // Definitions name every table with its schema, whatever the search_path at cutover.
    await client.query('SET LOCAL search_path = pg_catalog');
    const found = await client.query<Relaxed & { on: string }>(
      `WITH uniques AS (
         SELECT i.indexrelid, c.oid AS conoid
           FROM pg_index i
           LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
          WHERE i.indrelid = $1::regclass AND i.indisunique AND NOT i.indisprimary
            AND (i.indpred IS NOT NULL OR i.indexprs IS NOT NULL
                 OR (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) IS DISTINCT FROM $2::text[])
       )
       SELECT c.conrelid::regclass::text AS on, c.conname AS name, c.contype AS kind, pg_get_constraintdef(c.oid) AS definition
         FROM pg_constraint c
        WHERE (c.conrelid = $1::regclass AND c.contype IN ('f', 'c', 'x'))
           OR (c.contype = 'f' AND c.conindid IN (SELECT indexrelid FROM uniques))
       UNION
       SELECT $1::regclass::text, coalesce(c.conname, ic.relname), CASE WHEN c.oid IS NULL THEN 'i' ELSE c.contype END,
              CASE WHEN c.oid IS NULL THEN pg_get_indexdef(u.indexrelid) ELSE pg_get_constraintdef(c.oid) END
         FROM uniques u JOIN pg_class ic ON ic.oid = u.indexrelid LEFT JOIN pg_constraint c ON c.oid = u.conoid`,
      [target, key],
    );
    // Foreign keys first: one may rest on a unique constraint dropped after it.
    const ordered = [...found.rows].sort((a, b) => Number(b.kind === 'f') - Number(a.kind === 'f'));
    for (const c of ordered) {
      await client.query(
        `INSERT INTO ${META_TABLES.relaxed} (target_schema, table_name, name, kind, definition) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [schema, c.on, c.name, c.kind, c.definition],
      );
      await client.query(dropSql(c.on, c.name, c.kind, schema));
    }
    await client.query('COMMIT');
    return ordered.map((c) => c.name);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function dropSql(on: string, name: string, kind: Relaxed['kind'], schema: string): string {
  // `on` is a regclass as text: already quoted where it needs to be.
  return kind === 'i' ? `DROP INDEX IF EXISTS ${quoteIdent(schema)}.${quoteIdent(name)}` : `ALTER TABLE ${on} DROP CONSTRAINT IF EXISTS ${quoteIdent(name)}`;
}

/** Creates again what relaxAdopted dropped (unique ones first, then CHECKs and foreign keys NOT VALID, then validated). */
export async function restoreAdopted(client: pg.ClientBase, schema: string): Promise<Notice[]> {
  const rows = (await client.query<Relaxed>(`SELECT table_name, name, kind, definition FROM ${META_TABLES.relaxed} WHERE target_schema = $1 AND NOT restored`, [schema])).rows;
  rows.sort((a, b) => Number(a.kind === 'f') - Number(b.kind === 'f'));
  const notices: Notice[] = [];
  for (const c of rows) {
    const statements =
      c.kind === 'i'
        ? [c.definition]
        : c.kind === 'f' || c.kind === 'c'
          ? [`ALTER TABLE ${c.table_name} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition} NOT VALID`, `ALTER TABLE ${c.table_name} VALIDATE CONSTRAINT ${quoteIdent(c.name)}`]
          : [`ALTER TABLE ${c.table_name} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.definition}`];
    await client.query('BEGIN');
    try {
      for (const [i, sql] of statements.entries()) {
        await client.query('SAVEPOINT liteshift_restore');
        try {
          await client.query(oneStatement(sql));
          await client.query('RELEASE SAVEPOINT liteshift_restore');
        } catch (error) {
          await client.query('ROLLBACK TO SAVEPOINT liteshift_restore');
          notices.push({ level: 'warn', table: c.table_name, message: `${c.name} ${i === 0 ? 'not created again' : 'left NOT VALID'}: ${errorMessage(error)}` });
          if (i === 0) break;
        }
      }
      // Left NOT VALID still counts as restored: it is in place, and dropped again as such.
      await client.query(`UPDATE ${META_TABLES.relaxed} SET restored = true WHERE target_schema = $1 AND table_name = $2 AND name = $3`, [schema, c.table_name, c.name]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
  return notices;
}

/**
 * Drops the foreign keys and unique indexes finalize.ts created on `tables`, and the
 * adopted tables' constraints restoreAdopted put back, inside the caller's transaction.
 * Returns the tables of the model that had any.
 */
export async function relaxConstraints(client: pg.ClientBase, schema: string, tables: readonly TableModel[], selected: ReadonlySet<string>): Promise<TableModel[]> {
  const finalized = new Set(
    (await client.query<{ table_name: string }>(`SELECT table_name FROM ${META_TABLES.tables} WHERE finalized_at IS NOT NULL AND target_schema = $1`, [schema])).rows.map(
      (r) => r.table_name,
    ),
  );
  const relaxed = new Set<TableModel>();
  // Every foreign key first: one may reference a unique index dropped in the second pass.
  for (const table of tables.filter((t) => finalized.has(t.name))) {
    for (const fk of table.foreignKeys.filter((f) => selected.has(table.name) || selected.has(f.refTable))) {
      await client.query(oneStatement(`ALTER TABLE ${qualified(schema, pgTableName(table))} DROP CONSTRAINT IF EXISTS ${quoteIdent(foreignKeyName(table, fk))}`));
      relaxed.add(table);
    }
  }
  const adopted = (
    await client.query<Relaxed>(`SELECT table_name, name, kind, definition FROM ${META_TABLES.relaxed} WHERE target_schema = $1 AND restored`, [schema])
  ).rows.sort((a, b) => Number(b.kind === 'f') - Number(a.kind === 'f'));
  for (const c of adopted) {
    await client.query(dropSql(c.table_name, c.name, c.kind, schema));
    await client.query(`UPDATE ${META_TABLES.relaxed} SET restored = false WHERE target_schema = $1 AND table_name = $2 AND name = $3`, [schema, c.table_name, c.name]);
  }
  for (const table of tables.filter((t) => finalized.has(t.name) && selected.has(t.name))) {
    for (const index of table.indexes.filter((i) => i.unique)) {
      await client.query(oneStatement(`DROP INDEX IF EXISTS ${quoteIdent(schema)}.${quoteIdent(indexName(table, index))}`));
      relaxed.add(table);
    }
  }
  return [...relaxed];
}

/** Streaming resumes after a cutover that did not end READY, or was aborted: what it created goes again. */
export async function relaxForStreaming(client: pg.ClientBase, schema: string, tables: readonly TableModel[], log: Logger): Promise<void> {
  await client.query('BEGIN');
  try {
    const relaxed = await relaxConstraints(client, schema, tables, new Set(tables.map((t) => t.name)));
    await client.query('COMMIT');
    log.info({ tables: relaxed.map((t) => t.name) }, 'unique indexes and foreign keys dropped again: streaming resumes');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Once every row is in (a load's end, cutover, a replay caught up): liteshift's own indexes and constraints, then the adopted tables' own. */
export async function completeConstraints(client: pg.ClientBase, schema: string, tables: readonly TableModel[], log: Logger): Promise<Notice[]> {
  const notices = await finalizeTables(client, schema, tables, log, 'complete');
  const adopted = await restoreAdopted(client, schema);
  for (const notice of adopted) log.warn({ table: notice.table }, notice.message);
  return [...notices, ...adopted];
}
