import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  LiteshiftError,
  connectPostgres,
  createTodoDatabase,
  defaultCacheDir,
  describePostgresUrl,
  postgresError,
  stackUp,
  type Logger,
  type Settings,
} from '@liteshift/shared';
import { migrate } from './migrate.js';
import { formatCount, print } from '../output.js';
import type { Logging } from '../settings-options.js';

export const DEFAULT_DEMO_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/liteshift_demo';

export interface DemoOptions {
  users: number;
  tasks: number;
  recurringPatterns: number;
  sqlitePath?: string;
  databaseUrl?: string;
  kafkaBrokers?: string[];
  settings: Pick<Settings, 'topicPrefix' | 'targetSchema' | 'partitions' | 'chunkRows' | 'pgStatementTimeout' | 'pgLockTimeout' | 'pgIdleInTransactionTimeout'>;
  json: boolean;
}

/** Builds the Todo database, brings up Kafka if none is given, and migrates it end to end. */
export async function demo(options: DemoOptions, log: Logger, logFor: (service: string) => Logger, logging: Logging): Promise<boolean> {
  const sqlitePath = options.sqlitePath ?? join(defaultCacheDir(), 'demo', `todo-${options.tasks}.db`);
  mkdirSync(join(sqlitePath, '..'), { recursive: true });
  print(`Building the demo Todo database (${formatCount(options.users)} users, ${formatCount(options.tasks)} tasks, ${formatCount(options.recurringPatterns)} recurring patterns) at ${sqlitePath}`);
  createTodoDatabase(sqlitePath, { users: options.users, tasks: options.tasks, recurringPatterns: options.recurringPatterns });

  let brokers = options.kafkaBrokers;
  if (!brokers) {
    print('Starting a local Kafka broker (liteshift stack up; the first start downloads Kafka from Maven Central)…');
    const stack = await stackUp({ log });
    print(`KAFKA_BROKERS=${stack.brokers}${stack.reused ? ' (already running)' : ''}`);
    brokers = [stack.brokers];
  }
  const databaseUrl = options.databaseUrl ?? DEFAULT_DEMO_DATABASE_URL;
  await ensureDatabase(databaseUrl);

  const result = await migrate(
    { ...options.settings, sqlitePath, databaseUrl, kafkaBrokers: brokers },
    { forceRecreate: true, json: options.json },
    log,
    logFor,
    logging,
  );
  return result.report.verdict === 'READY';
}

/**
 * The demo's target database is created when missing; the server itself must exist.
 * Through connectPostgres, so that the URL's TLS settings apply here too.
 */
async function ensureDatabase(url: string): Promise<void> {
  try {
    await (await connectPostgres(url, 'liteshift-demo')).end();
    return;
  } catch (error) {
    if (!(error instanceof LiteshiftError && error.code === 'PG_DATABASE_MISSING')) throw error;
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = await connectPostgres(admin.toString(), 'liteshift-demo');
  try {
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    print(`Created database ${describePostgresUrl(url)}`);
  } catch (error) {
    throw postgresError(error, url, 'create the demo database');
  } finally {
    await client.end().catch(() => undefined);
  }
}
