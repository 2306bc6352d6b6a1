import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  /** Connection URL of the new database (same server, user and password as the admin URL). */
  url: string;
  name: string;
  /** Drops the database, disconnecting whoever is still in it. Safe to call twice. */
  drop(): Promise<void>;
}

/** Runs one statement on the admin database with a short-lived connection. */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  adminUrl: string,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await client.query<R>(sql, params);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `postgres://…/postgres` → the same URL naming `database` instead. */
export function urlForDatabase(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/**
 * Creates `liteshift_t_<label>_<random>` on the server of `adminUrl`. Every test drops
 * what it creates (afterAll/afterEach call `drop()`).
 */
export async function createTestDatabase(adminUrl: string, label: string): Promise<TestDatabase> {
  const safe = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 30) || 'db';
  const name = `liteshift_t_${safe}_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  let dropped = false;
  return {
    name,
    url: urlForDatabase(adminUrl, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** Runs `fn` with a connected client on `url`, always closing it. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Every relation a user could have created: tables, views, sequences… outside the system schemas. */
export async function userRelations(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const result = await client.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
        ORDER BY 1`,
    );
    return result.rows.map((r) => r.name);
  });
}

/** Schemas other than the system ones and `public`. */
export async function userSchemas(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const result = await client.query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace
        WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%'
        ORDER BY 1`,
    );
    return result.rows.map((r) => r.nspname);
  });
}

/** The foreign keys of a schema as `child(columns)->parent validated=…`, sorted. */
export async function foreignKeys(client: pg.ClientBase, schema = 'public'): Promise<string[]> {
  const r = await client.query<{ child: string; columns: string[]; parent: string; convalidated: boolean }>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent, c.convalidated,
            array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_constraint c
       JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
      WHERE c.contype = 'f' AND c.connamespace = $1::regnamespace
      GROUP BY c.oid, c.conrelid, c.confrelid, c.convalidated`,
    [schema],
  );
  return r.rows.map((row) => `${row.child}(${row.columns.join(',')})->${row.parent} validated=${row.convalidated}`).sort();
}

/** The columns of each valid, non-partial unique index of a table (`a,b` per index). */
export async function uniqueIndexColumns(client: pg.ClientBase, table: string): Promise<string[]> {
  const r = await client.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
      GROUP BY i.indexrelid`,
    [table],
  );
  return r.rows.map((row) => row.columns.join(','));
}

/** The demo database's foreign keys, as `foreignKeys` lists them once validated. */
export const DEMO_FOREIGN_KEYS = [
  'recurring_patterns(user_id)->users validated=true',
  'tasks(recurring_pattern_id)->recurring_patterns validated=true',
  'tasks(user_id)->users validated=true',
];
