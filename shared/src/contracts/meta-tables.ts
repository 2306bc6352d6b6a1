import type pg from 'pg';

/**
 * liteshift's own tables in the target database: offsets are written in the same
 * transaction as the rows they describe (contract 5), rejects record every row PostgreSQL
 * could not take (contract 6), tables the model each target table was built from, resyncs
 * the epoch of each re-synchronised table and whether its vanished rows were deleted. The
 * loader writes them; the verifier, cutover, replay and repair read them.
 */
export const META_SCHEMA = 'liteshift';

export const META_TABLES = {
  offsets: `${META_SCHEMA}.offsets`,
  rejects: `${META_SCHEMA}.rejects`,
  tables: `${META_SCHEMA}.tables`,
  resyncs: `${META_SCHEMA}.resyncs`,
  relaxed: `${META_SCHEMA}.relaxed_constraints`,
  /** The live fallback (pg/fallback.ts): keys changed on PostgreSQL since the switch, and its state. */
  changelog: `${META_SCHEMA}.changelog`,
  fallback: `${META_SCHEMA}.fallback`,
} as const;

export type MetaTable = (typeof META_TABLES)[keyof typeof META_TABLES];

const META_DDL = `
CREATE SCHEMA IF NOT EXISTS ${META_SCHEMA};
CREATE TABLE IF NOT EXISTS ${META_TABLES.offsets} (
  consumer_group text NOT NULL,
  topic text NOT NULL,
  partition integer NOT NULL,
  next_offset bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);
CREATE TABLE IF NOT EXISTS ${META_TABLES.rejects} (
  id bigserial PRIMARY KEY,
  table_name text NOT NULL,
  key jsonb NOT NULL,
  column_name text,
  value text,
  reason text NOT NULL,
  topic text,
  partition integer,
  "offset" bigint,
  rejected_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rejects_table_key ON ${META_TABLES.rejects} (table_name, key);
-- A row refused for a reason that may pass later (a parent on another topic not applied
-- yet, a unique value still held by another row) keeps what retrying it takes: retry is
-- {"columns": [...], "values": [...]} (PostgreSQL text forms) or {"delete": [key text]}.
ALTER TABLE ${META_TABLES.rejects} ADD COLUMN IF NOT EXISTS sqlstate text;
ALTER TABLE ${META_TABLES.rejects} ADD COLUMN IF NOT EXISTS retry jsonb;
ALTER TABLE ${META_TABLES.rejects} ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
ALTER TABLE ${META_TABLES.rejects} ADD COLUMN IF NOT EXISTS retry_after timestamptz;
-- Constraints an application created on a table liteshift adopted, dropped while it loads
-- (rows arrive in no order across tables) and created again at cutover.
CREATE TABLE IF NOT EXISTS ${META_TABLES.relaxed} (
  target_schema text NOT NULL,
  table_name text NOT NULL,
  name text NOT NULL,
  kind text NOT NULL,
  definition text NOT NULL,
  restored boolean NOT NULL DEFAULT false,
  PRIMARY KEY (target_schema, table_name, name)
);
CREATE TABLE IF NOT EXISTS ${META_TABLES.tables} (
  table_name text PRIMARY KEY,
  target_schema text NOT NULL,
  fingerprint text NOT NULL,
  model jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  finalized_at timestamptz
);
CREATE TABLE IF NOT EXISTS ${META_TABLES.resyncs} (
  table_name text PRIMARY KEY,
  epoch integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  swept_at timestamptz,
  deleted bigint
);
`;

/** Concurrent loaders may race on CREATE … IF NOT EXISTS; an advisory lock orders them. */
export async function ensureMetaSchema(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [`${META_SCHEMA}.meta`]);
  try {
    await client.query(META_DDL);
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`${META_SCHEMA}.meta`]);
  }
}

/** Readers that may run before any loader did (verify, status) ask first. */
export async function metaTableExists(client: Pick<pg.ClientBase, 'query'>, table: MetaTable): Promise<boolean> {
  const result = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  return result.rows[0]!.present;
}
