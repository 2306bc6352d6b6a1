import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { canConnect, startLocalCluster } from './local-postgres.js';
import { createLogger, defaultLogFormat, describePostgresUrl, stackDown, stackUp } from '@liteshift/shared';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    /** State dir of the broker this run started or reused; '' when KAFKA_BROKERS points elsewhere. */
    kafkaStackDir: string;
    adminDatabaseUrl: string;
  }
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = join(repoRoot, '.liteshift', 'test-stack');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = createLogger({ service: 'test-setup', level: process.env.LOG_LEVEL ?? 'info', format: defaultLogFormat() });

  // Checked first: it fails in milliseconds, a broker start takes seconds.
  const adminDatabaseUrl = process.env.LITESHIFT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const stopPostgres = await requirePostgres(adminDatabaseUrl, log);

  let startedHere = false;
  let brokers = process.env.KAFKA_BROKERS;
  let kafkaStackDir = '';
  if (brokers) {
    log.info({ brokers }, 'using the Kafka named by KAFKA_BROKERS');
  } else {
    const stack = await stackUp({ stateDir, log });
    brokers = stack.brokers;
    kafkaStackDir = stack.stateDir;
    // A broker reused from another run belongs to that run, which will stop it.
    startedHere = !stack.reused;
  }

  project.provide('kafkaBrokers', brokers);
  project.provide('kafkaStackDir', kafkaStackDir);
  project.provide('adminDatabaseUrl', adminDatabaseUrl);

  return async () => {
    if (startedHere) await stackDown({ stateDir, log, purge: true });
    await stopPostgres?.();
  };
}

/** Returns how to stop PostgreSQL when this run had to start it. */
async function requirePostgres(url: string, log: ReturnType<typeof createLogger>): Promise<(() => Promise<void>) | null> {
  let reason = await canConnect(url);
  if (reason === null) return null;
  const local = /@(127\.0\.0\.1|localhost)[:/]/.test(url) ? await startLocalCluster().catch(() => null) : null;
  if (local) {
    log.info('started the local PostgreSQL cluster for this test run');
    for (let i = 0; i < 30 && reason !== null; i++) {
      await new Promise((r) => setTimeout(r, 500));
      reason = await canConnect(url);
    }
    if (reason === null) return local;
    await local();
  }
  throw new Error(
    `PostgreSQL is not reachable at ${describePostgresUrl(url)} (${reason}). ` +
      'Start it (README: "Getting PostgreSQL"), or set LITESHIFT_TEST_DATABASE_URL to a superuser URL of a running server.',
  );
}
