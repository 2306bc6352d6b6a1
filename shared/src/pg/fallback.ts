import type pg from 'pg';
import { META_SCHEMA, META_TABLES } from '../contracts/meta-tables.js';
import { qualified, quoteIdent, quoteLiteral } from '../schema/identifiers.js';

/**
 * The live fallback's PostgreSQL side (DESIGN contract 4, mirrored): from the switch on,
 * triggers on the application's tables append the key of every changed row to
 * liteshift.changelog in the application's own transaction (a TRUNCATE appends every key
 * the table held), so the reverse stream can re-read the current rows and send them back
 * to SQLite. Triggers work on any PostgreSQL, managed ones included, with no wal_level
 * change. Sessions of liteshift itself (application_name liteshift…) are not captured:
 * nothing liteshift writes travels back. The rollback fence is a trigger refusing every
 * write but liteshift's, with a message naming SQLite.
 */

/** One application table under capture: its SQLite name (what the changelog names) and its key columns in PostgreSQL. */
export interface CapturedPgTable {
  name: string;
  pgTable: string;
  pgKey: readonly string[];
}

const CAPTURE_TRIGGER = 'liteshift_fallback_capture';
const TRUNCATE_TRIGGER = 'liteshift_fallback_truncate';
const FENCE_TRIGGER = 'liteshift_rollback_fence';
const CAPTURE_FUNCTION = `${META_SCHEMA}.fallback_capture`;
const FENCE_FUNCTION = `${META_SCHEMA}.rollback_fence`;
/** Who is liteshift: its sessions set application_name (pg/connect.ts). */
const OURS = "current_setting('application_name') LIKE 'liteshift%'";

const CAPTURE_DDL = `
CREATE TABLE IF NOT EXISTS ${META_TABLES.changelog} (
  seq bigserial PRIMARY KEY,
  table_name text NOT NULL,
  key jsonb NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS ${META_TABLES.fallback} (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  installed_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz,
  positioned boolean NOT NULL DEFAULT false
);
-- TG_ARGV: the SQLite table name, then the key columns.
CREATE OR REPLACE FUNCTION ${CAPTURE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  keys text;
BEGIN
  IF ${OURS} THEN RETURN NULL; END IF;
  IF TG_OP = 'TRUNCATE' THEN
    SELECT string_agg(format('to_jsonb(%I)', c), ', ') INTO keys FROM unnest(TG_ARGV[1:]) AS c;
    EXECUTE format('INSERT INTO ${META_TABLES.changelog} (table_name, key) SELECT %L, jsonb_build_array(%s) FROM %I.%I', TG_ARGV[0], keys, TG_TABLE_SCHEMA, TG_TABLE_NAME);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO ${META_TABLES.changelog} (table_name, key) SELECT TG_ARGV[0], jsonb_agg(to_jsonb(OLD) -> c ORDER BY n) FROM unnest(TG_ARGV[1:]) WITH ORDINALITY AS k(c, n);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    -- An update that keeps the key needs one entry, not two.
    IF TG_OP = 'INSERT' OR (SELECT bool_or(to_jsonb(OLD) -> c IS DISTINCT FROM to_jsonb(NEW) -> c) FROM unnest(TG_ARGV[1:]) AS c) THEN
      INSERT INTO ${META_TABLES.changelog} (table_name, key) SELECT TG_ARGV[0], jsonb_agg(to_jsonb(NEW) -> c ORDER BY n) FROM unnest(TG_ARGV[1:]) WITH ORDINALITY AS k(c, n);
    END IF;
  END IF;
  RETURN NULL;
END
$f$;
`;

const FENCE_DDL = `
CREATE OR REPLACE FUNCTION ${FENCE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF ${OURS} THEN RETURN NULL; END IF;
  RAISE EXCEPTION USING ERRCODE = 'read_only_sql_transaction', MESSAGE = TG_ARGV[0];
END
$f$;
`;

/** Installs capture on these tables (idempotent): from now on every change of theirs is in the changelog. */
export async function installFallbackCapture(client: pg.ClientBase, schema: string, tables: readonly CapturedPgTable[]): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(CAPTURE_DDL);
    await client.query(`INSERT INTO ${META_TABLES.fallback} DEFAULT VALUES ON CONFLICT DO NOTHING`);
    for (const t of tables) {
      const target = qualified(schema, t.pgTable);
      const args = [t.name, ...t.pgKey].map(quoteLiteral).join(', ');
      await client.query(`DROP TRIGGER IF EXISTS ${CAPTURE_TRIGGER} ON ${target}`);
      await client.query(`DROP TRIGGER IF EXISTS ${TRUNCATE_TRIGGER} ON ${target}`);
      await client.query(`CREATE TRIGGER ${CAPTURE_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON ${target} FOR EACH ROW EXECUTE FUNCTION ${CAPTURE_FUNCTION}(${args})`);
      await client.query(`CREATE TRIGGER ${TRUNCATE_TRIGGER} BEFORE TRUNCATE ON ${target} FOR EACH STATEMENT EXECUTE FUNCTION ${CAPTURE_FUNCTION}(${args})`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Whether the fallback's capture is installed (cutover installed it, rollback has not removed it). */
export async function fallbackInstalled(client: Pick<pg.ClientBase, 'query'>): Promise<boolean> {
  const result = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [META_TABLES.fallback]);
  return result.rows[0]!.present;
}

/** Removes the capture triggers, the changelog and the fallback's state; any rollback fence goes with them. */
export async function removeFallback(client: pg.ClientBase, schema: string): Promise<void> {
  await client.query('BEGIN');
  try {
    for (const trigger of [CAPTURE_TRIGGER, TRUNCATE_TRIGGER, FENCE_TRIGGER]) await dropTriggers(client, schema, trigger);
    await client.query(`DROP FUNCTION IF EXISTS ${CAPTURE_FUNCTION}() CASCADE`);
    await client.query(`DROP FUNCTION IF EXISTS ${FENCE_FUNCTION}() CASCADE`);
    await client.query(`DROP TABLE IF EXISTS ${META_TABLES.changelog}, ${META_TABLES.fallback}`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The rollback fence: every write to these tables but liteshift's is refused with `message`, TRUNCATE too. */
export async function installPgFence(client: pg.ClientBase, schema: string, pgTables: readonly string[], message: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(FENCE_DDL);
    for (const table of pgTables) {
      const target = qualified(schema, table);
      await client.query(`DROP TRIGGER IF EXISTS ${FENCE_TRIGGER} ON ${target}`);
      await client.query(
        `CREATE TRIGGER ${FENCE_TRIGGER} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${target} FOR EACH STATEMENT EXECUTE FUNCTION ${FENCE_FUNCTION}(${quoteLiteral(message)})`,
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Lifts the rollback fence; returns how many tables had it. */
export async function removePgFence(client: pg.ClientBase, schema: string): Promise<number> {
  return dropTriggers(client, schema, FENCE_TRIGGER);
}

export async function pgFenceInstalled(client: Pick<pg.ClientBase, 'query'>, schema: string): Promise<boolean> {
  return (await triggerTables(client, schema, FENCE_TRIGGER)).length > 0;
}

async function triggerTables(client: Pick<pg.ClientBase, 'query'>, schema: string, trigger: string): Promise<string[]> {
  const result = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname = $1 AND n.nspname = $2`,
    [trigger, schema],
  );
  return result.rows.map((r) => r.relname);
}

async function dropTriggers(client: pg.ClientBase, schema: string, trigger: string): Promise<number> {
  const tables = await triggerTables(client, schema, trigger);
  for (const table of tables) await client.query(`DROP TRIGGER IF EXISTS ${quoteIdent(trigger)} ON ${qualified(schema, table)}`);
  return tables.length;
}

/** Changes captured and not yet sent back (the reverse stream's lag). */
export async function pgChangelogBacklog(client: Pick<pg.ClientBase, 'query'>): Promise<number> {
  return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${META_TABLES.changelog}`)).rows[0]!.n);
}
