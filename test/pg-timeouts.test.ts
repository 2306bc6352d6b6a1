import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, runCli } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { FaultPipeline, until } from './helpers/fault-pipeline.js';
import { FreezingProxy } from './helpers/freezing-proxy.js';
import { withClient } from './helpers/postgres.js';

/*
 * A loader cut off from PostgreSQL in the middle of a transaction (the network froze: no
 * answer, no reset) held its offset row's lock for as long as TCP let it, and waited on
 * it forever. With the apply path's limits the server ends the silent session, which
 * releases the lock, and the loader gives up its query and tries the batch again.
 * The shared PostgreSQL server is never stopped: a proxy the test controls freezes one
 * connection.
 */

describe('a loader whose PostgreSQL connection goes silent mid-transaction', () => {
  const adminUrl = inject('adminDatabaseUrl');
  const p = new FaultPipeline('pg-silent', { brokers: inject('kafkaBrokers'), adminUrl, counts: { users: 60, tasks: 600, recurringPatterns: 60 } });
  let proxy: FreezingProxy;

  beforeAll(async () => {
    await p.create();
    const extract = await runCli(['extract'], p.env, 120_000);
    expect(extract.code, describeRun(extract)).toBe(0);
    const target = new URL(p.databaseUrl);
    proxy = await FreezingProxy.start(target.hostname, Number(target.port || 5432));
  });
  afterAll(async () => {
    await proxy?.close();
    await p.destroy();
  });

  it('gives up, its session is ended with the lock it held, and every row is applied', async () => {
    p.diagnoseOnFailure();
    const viaProxy = new URL(p.databaseUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    // The first offset lock taken goes silent once PostgreSQL has granted it.
    proxy.freezeOnce('FOR UPDATE');
    const load = p.startLoad({
      DATABASE_URL: viaProxy.toString(),
      LITESHIFT_PG_STATEMENT_TIMEOUT: '5',
      LITESHIFT_PG_LOCK_TIMEOUT: '3',
      LITESHIFT_PG_IDLE_IN_TRANSACTION_TIMEOUT: '3',
    });
    await until('a connection frozen holding its offset lock', () => proxy.frozen > 0 || !load.running, 60_000);
    await until('every message applied', async () => {
      const run = await runCli(['status', '--json'], p.env, 60_000);
      return run.code === 0 && (JSON.parse(run.stdout) as { loaderLag: number }).loaderLag === 0;
    }, 90_000);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expect(load.running, load.describe()).toBe(true);
    expect(load.logLines().some((l) => l.msg === 'batch failed; retrying'), load.describe()).toBe(true);
    // PostgreSQL ends a session idle in a transaction after 3 s: the frozen one (and one
    // the loader may be between statements of just now) is gone within a few seconds.
    const idleInTransaction = (): Promise<number> =>
      withClient(adminUrl, async (c) =>
        Number(
          (
            await c.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction' AND now() - state_change > interval '1 second'", [new URL(p.databaseUrl).pathname.slice(1)])
          ).rows[0].n,
        ),
      );
    await until('no session left idle in a transaction', async () => (await idleInTransaction()) === 0, 30_000, 500);
  });
});
