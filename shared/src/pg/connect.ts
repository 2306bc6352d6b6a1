import pg from 'pg';
import { LiteshiftError, errorMessage } from '../errors.js';
import { describePostgresUrl, scrubSecrets } from '../redact.js';
import { retry } from '../retry.js';

export type PgClient = pg.Client;
export type PgPool = pg.Pool;
export type PgPoolClient = pg.PoolClient;

/**
 * Every session works in UTC with ISO dates, so that timestamps read back compare with
 * what SQLite stored; the application name makes liteshift visible in pg_stat_activity.
 */
function clientConfig(url: string, applicationName: string): pg.ClientConfig {
  return {
    connectionString: url,
    application_name: applicationName,
    connectionTimeoutMillis: 10_000,
    options: '-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=1',
  };
}

function secretsOf(url: string): string[] {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password ? [password] : [];
  } catch {
    return [];
  }
}

/** Maps a driver error to one line a user can act on; never echoes the URL's password. */
export function postgresError(error: unknown, url: string, doing = 'connect to PostgreSQL'): LiteshiftError {
  if (error instanceof LiteshiftError) return error;
  const where = describePostgresUrl(url);
  const e = error as { code?: string; message?: string };
  const message = scrubSecrets(errorMessage(error), secretsOf(url));
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ECONNRESET':
    case 'EPIPE':
    // The server is shutting down or restarting, or an administrator ended the session:
    // another attempt on a new connection can succeed.
    case '57P01':
    case '57P02':
    case '57P03':
      return new LiteshiftError('PG_UNREACHABLE', `cannot ${doing} at ${where}: ${message}`, {
        hint: 'is PostgreSQL running there? check --postgres-url (or DATABASE_URL); see README "Getting PostgreSQL"',
        retriable: true,
        cause: error,
      });
    case '28P01':
    case '28000':
      return new LiteshiftError('PG_AUTH_FAILED', `PostgreSQL at ${where} refused the credentials: ${message}`, {
        hint: 'check the user and password in --postgres-url (or DATABASE_URL)',
        cause: error,
      });
    case '3D000':
      return new LiteshiftError('PG_DATABASE_MISSING', `PostgreSQL at ${where}: ${message}`, {
        hint: `create it first, e.g. createdb ${where.split('/').pop()}`,
        cause: error,
      });
    default:
      if (/timeout|Connection terminated|not queryable/i.test(message)) {
        return new LiteshiftError('PG_UNREACHABLE', `cannot ${doing} at ${where}: ${message}`, {
          hint: 'is PostgreSQL reachable from here? check host, port and firewall',
          retriable: true,
          cause: error,
        });
      }
      return new LiteshiftError('PG_QUERY_FAILED', `PostgreSQL at ${where}: ${message}`, {
        retriable: e.code?.startsWith('40') === true || e.code?.startsWith('08') === true,
        cause: error,
      });
  }
}

export async function connectPostgres(url: string, applicationName = 'liteshift'): Promise<PgClient> {
  const client = new pg.Client(clientConfig(url, applicationName));
  // An error after connect (server restart) must not crash the process as an unhandled event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw postgresError(error, url);
  }
}

/** Connects, retrying while the server is unreachable (a restart), never on bad credentials. */
export async function connectPostgresWithRetry(url: string, applicationName: string, retries = 2): Promise<PgClient> {
  return retry(() => connectPostgres(url, applicationName), { retries, initialDelayMs: 500, maxDelayMs: 4000 });
}

export function createPool(url: string, applicationName: string, max: number): PgPool {
  const pool = new pg.Pool({ ...clientConfig(url, applicationName), max });
  pool.on('error', () => undefined);
  // pg-pool listens for errors only on idle clients: a session ended while checked out (a
  // server restart, pg_terminate_backend) would crash the process. The query in flight
  // fails anyway, and its caller decides what to do.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
