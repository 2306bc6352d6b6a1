import {
  addCheckSql,
  addForeignKeySql,
  checkName,
  createIndexSql,
  errorMessage,
  foreignKeyName,
  oneStatement,
  META_TABLES,
  pgTableName,
  qualified,
  quoteIdent,
  resetIdentitySql,
  type Logger,
  type Notice,
  type TableModel,
} from '@liteshift/shared';
import type pg from 'pg';

/**
 * Once the snapshot is in: unique and secondary indexes, CHECKs, foreign keys (added
 * NOT VALID, then validated, so orphans are reported rather than fatal) and identities
 * moved past the largest key. Each step is idempotent, so a rerun or a second loader is
 * harmless, and a step PostgreSQL refuses becomes a notice, not a failure.
 */
export type FinalizeStage = 'complete' | 'while-following';

/**
 * `while-following` is what is safe while changes still stream: plain indexes, CHECKs and
 * identities. Unique indexes (a value moving between rows conflicts transiently) and
 * foreign keys (per-table topics have no order between them) wait for `complete`, at cutover.
 */
export async function finalizeTables(
  client: pg.ClientBase,
  schema: string,
  tables: readonly TableModel[],
  log: Logger,
  stage: FinalizeStage = 'complete',
): Promise<Notice[]> {
  const complete = stage === 'complete';
  const notices: Notice[] = [];
  const step = async (table: string, what: string, sql: string): Promise<boolean> => {
    try {
      await client.query('SAVEPOINT liteshift_step');
      await client.query(oneStatement(sql));
      await client.query('RELEASE SAVEPOINT liteshift_step');
      return true;
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT liteshift_step');
      notices.push({ level: 'warn', table, message: `${what}: ${errorMessage(error)}` });
      return false;
    }
  };
  await client.query('BEGIN');
  try {
    for (const table of tables) {
      for (const index of table.indexes.filter((i) => complete || !i.unique)) {
        await step(table.name, `index ${index.name} not created`, createIndexSql(schema, table, index));
      }
      const existing = await constraintsOf(client, schema, pgTableName(table));
      for (const [i, check] of table.checks.entries()) {
        if (check.pgSql === null || existing.has(checkName(table, i))) continue;
        if (!(await step(table.name, `CHECK (${check.sqliteSql}) rejected by rows`, addCheckSql(schema, table, i, check.pgSql, true)))) {
          await step(table.name, `CHECK (${check.sqliteSql}) not created`, addCheckSql(schema, table, i, check.pgSql, false));
        }
      }
      for (const column of table.columns.filter((c) => c.identity)) {
        await step(table.name, `identity of ${column.name} not moved`, resetIdentitySql(schema, table, column));
      }
    }
    for (const table of complete ? tables : []) {
      const existing = await constraintsOf(client, schema, pgTableName(table));
      for (const fk of table.foreignKeys) {
        const name = foreignKeyName(table, fk);
        if (!existing.has(name)) {
          if (!(await step(table.name, `foreign key to ${fk.refTable} not created`, addForeignKeySql(schema, table, fk)))) continue;
        }
        if (existing.get(name) !== true) {
          const validate = `ALTER TABLE ${qualified(schema, pgTableName(table))} VALIDATE CONSTRAINT ${quoteIdent(name)}`;
          await step(table.name, `foreign key to ${fk.refTable} left NOT VALID (orphan rows)`, validate);
        }
      }
    }
    if (complete) {
      await client.query(`UPDATE ${META_TABLES.tables} SET finalized_at = now() WHERE table_name = ANY($1::text[])`, [tables.map((t) => t.name)]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  for (const notice of notices) log.warn({ table: notice.table }, notice.message);
  log.info({ tables: tables.length, notices: notices.length, stage }, 'indexes, constraints and identities in place');
  return notices;
}

/** Constraint name → validated, for one table. */
async function constraintsOf(client: pg.ClientBase, schema: string, table: string): Promise<Map<string, boolean>> {
  const result = await client.query<{ conname: string; convalidated: boolean }>(
    'SELECT conname, convalidated FROM pg_constraint WHERE conrelid = $1::regclass',
    [qualified(schema, table)],
  );
  return new Map(result.rows.map((r) => [r.conname, r.convalidated]));
}
