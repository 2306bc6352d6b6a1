// PostgreSQL for the benchmark: an admin connection that creates a fresh database per
// measurement and drops every one it created (also when the run is interrupted).
import pg from 'pg';

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** host:port/db, never the password. */
export function describeUrl(url) {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

export function urlForDatabase(adminUrl, name) {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export class Databases {
  constructor(adminUrl) {
    this.adminUrl = adminUrl;
    this.created = new Set();
    this.client = null;
    this.serverVersion = '';
  }

  async connect() {
    const client = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 10_000 });
    try {
      await client.connect();
    } catch (error) {
      throw new Error(
        `cannot connect to PostgreSQL at ${describeUrl(this.adminUrl)}: ${error.message}\n` +
          '  the benchmark needs a PostgreSQL server and a role that may CREATE DATABASE; ' +
          'set LITESHIFT_BENCH_DATABASE_URL=postgres://user:password@host:port/postgres',
      );
    }
    client.on('error', () => undefined);
    this.client = client;
    this.serverVersion = (await client.query('SHOW server_version')).rows[0].server_version;
    this.versionNum = Number((await client.query('SHOW server_version_num')).rows[0].server_version_num);
  }

  /** Creates an empty database and returns its URL. */
  async create(name) {
    await this.drop(name);
    await this.client.query(`CREATE DATABASE "${name}"`);
    this.created.add(name);
    return urlForDatabase(this.adminUrl, name);
  }

  async drop(name) {
    const force = this.versionNum >= 130000 ? ' WITH (FORCE)' : '';
    await this.client.query(`DROP DATABASE IF EXISTS "${name}"${force}`);
    this.created.delete(name);
  }

  async dropAll() {
    for (const name of [...this.created]) {
      try {
        await this.drop(name);
      } catch (error) {
        process.stderr.write(`bench: could not drop database ${name}: ${error.message}\n`);
      }
    }
  }

  async close() {
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }
}

/** Runs `fn(client)` with a connection to `url`. */
export async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Row count of `table` in `url`, or null when the table is not there. */
export async function countRows(url, table, schema = 'public') {
  return withClient(url, async (c) => {
    const exists = await c.query('SELECT to_regclass($1) IS NOT NULL AS present', [`"${schema}"."${table}"`]);
    if (!exists.rows[0].present) return null;
    const r = await c.query(`SELECT count(*)::bigint AS n FROM "${schema}"."${table}"`);
    return Number(r.rows[0].n);
  });
}
