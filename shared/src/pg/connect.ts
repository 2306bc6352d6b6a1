import pg from 'pg';
import { LiteshiftError, errorMessage } from '../errors.js';
import { describePostgresUrl, scrubSecrets } from '../redact.js';
import { certificateProblem } from '../tls-errors.js';
import { postgresConnectionTls } from './tls.js';

export type PgClient = pg.Client;
export type PgPool = pg.Pool;
export type PgPoolClient = pg.PoolClient;

/**
 * Every session works in UTC with ISO dates, so that timestamps read back compare with
 * what SQLite stored; the application name makes liteshift visible in pg_stat_activity.
 * TLS is always given explicitly (tls.ts), so node-postgres never applies its own reading
 * of sslmode or of PGSSLMODE.
 */
function clientConfig(url: string, applicationName: string, limits?: SessionLimits): pg.ClientConfig {
  const options = ['-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=1'];
  if (limits) {
    options.push(
      `-c statement_timeout=${limits.statementTimeoutS * 1000}`,
      `-c lock_timeout=${limits.lockTimeoutS * 1000}`,
      `-c idle_in_transaction_session_timeout=${limits.idleInTransactionTimeoutS * 1000}`,
    );
  }
  return {
    ...postgresConnectionTls(url),
    application_name: applicationName,
    connectionTimeoutMillis: 10_000,
    // A peer that vanished (host down, connection dropped by a firewall) is noticed.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // A server that went silent (the network froze mid-transaction) never answers: the
    // client gives up a little after the server would have cancelled the statement.
    ...(limits && limits.statementTimeoutS > 0 ? { query_timeout: limits.statementTimeoutS * 1000 + CLIENT_GRACE_MS } : {}),
    options: options.join(' '),
  };
}

/**
 * Limits of a session on the apply path, in seconds (0: none). PostgreSQL enforces them:
 * a cancelled statement or a lock not granted is retried; a session idle in a transaction
 * (its client cut off) is ended, and its locks released, for another loader to go on.
 */
export interface SessionLimits {
  statementTimeoutS: number;
  lockTimeoutS: number;
  idleInTransactionTimeoutS: number;
}

const CLIENT_GRACE_MS = 5_000;

/** The settings of the apply path's limits (--pg-statement-timeout, --pg-lock-timeout, --pg-idle-in-transaction-timeout). */
export interface ApplyLimitSettings {
  pgStatementTimeout: number;
  pgLockTimeout: number;
  pgIdleInTransactionTimeout: number;
}

export function sessionLimits(s: ApplyLimitSettings): SessionLimits {
  return { statementTimeoutS: s.pgStatementTimeout, lockTimeoutS: s.pgLockTimeout, idleInTransactionTimeoutS: s.pgIdleInTransactionTimeout };
}

/** The passwords a URL carries: in its user info, or as ?password= (which node-postgres reads too). */
function secretsOf(url: string): string[] {
  try {
    const parsed = new URL(url);
    return [decodeURIComponent(parsed.password), parsed.searchParams.get('password') ?? ''].filter(Boolean);
  } catch {
    return [];
  }
}

/** The TLS failures (refused, untrusted, wrong host), or undefined for any other error. */
function tlsError(error: unknown, where: string, message: string): LiteshiftError | undefined {
  const problem = certificateProblem(error);
  if (/does not support SSL/i.test(message)) {
    return new LiteshiftError('PG_TLS_FAILED', `PostgreSQL at ${where} does not accept TLS connections`, {
      hint: 'turn ssl on in its postgresql.conf, or connect without TLS: sslmode=disable',
      cause: error,
    });
  }
  if (problem === 'untrusted') {
    return new LiteshiftError('PG_TLS_FAILED', `PostgreSQL at ${where}: its TLS certificate is not trusted (${message})`, {
      hint: 'give the CA that signed it: --postgres-ca-file (or PGSSLROOTCERT, or sslrootcert= in the URL); sslmode=require encrypts without checking it',
      cause: error,
    });
  }
  if (problem === 'other-host') {
    return new LiteshiftError('PG_TLS_FAILED', `PostgreSQL at ${where}: its TLS certificate is for another host (${message})`, {
      hint: 'connect by a name the certificate lists, or check only the CA with sslmode=verify-ca',
      cause: error,
    });
  }
  return undefined;
}

/** Maps a driver error to one line a user can act on; never echoes the URL's password. */
export function postgresError(error: unknown, url: string, doing = 'connect to PostgreSQL'): LiteshiftError {
  if (error instanceof LiteshiftError) return error;
  const where = describePostgresUrl(url);
  const e = error as { code?: string; message?: string };
  const message = scrubSecrets(errorMessage(error), secretsOf(url));
  const tls = tlsError(error, where, message);
  if (tls) return tls;
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
    // idle_in_transaction_session_timeout ended the session (its client went silent).
    case '25P03':
      return new LiteshiftError('PG_UNREACHABLE', `cannot ${doing} at ${where}: ${message}`, {
        hint: 'is PostgreSQL running there? check --postgres-url (or DATABASE_URL); see README "Getting PostgreSQL"',
        retriable: true,
        cause: error,
      });
    case '28P01':
    case '28000':
      return new LiteshiftError('PG_AUTH_FAILED', `PostgreSQL at ${where} refused the credentials: ${message}`, {
        // pg_hba.conf `hostssl` lines: the server accepts this user over TLS only.
        hint: /no encryption/.test(message)
          ? 'the server requires TLS here: add sslmode=require (or verify-full) to the URL, or set --postgres-sslmode (or PGSSLMODE)'
          : 'check the user and password in --postgres-url (or DATABASE_URL)',
        cause: error,
      });
    case '3D000':
      return new LiteshiftError('PG_DATABASE_MISSING', `PostgreSQL at ${where}: ${message}`, {
        hint: `create it first, e.g. createdb ${where.split('/').pop()}`,
        cause: error,
      });
    // statement_timeout, lock_timeout: the apply path's limits; the batch is tried again.
    case '57014':
    case '55P03':
      return new LiteshiftError('PG_QUERY_FAILED', `PostgreSQL at ${where}: ${message} (${doing})`, {
        hint: 'another session holds what this one needs, or the statement ran past --pg-statement-timeout; it is retried',
        retriable: true,
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

/** Sessions with `limits` when given (the apply path); without, statements may run as long as they need (DDL, verification). */
export function createPool(url: string, applicationName: string, max: number, limits?: SessionLimits): PgPool {
  const pool = new pg.Pool({ ...clientConfig(url, applicationName, limits), max });
  pool.on('error', () => undefined);
  // pg-pool listens for errors only on idle clients: a session ended while checked out (a
  // server restart, pg_terminate_backend) would crash the process. The query in flight
  // fails anyway, and its caller decides what to do.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
