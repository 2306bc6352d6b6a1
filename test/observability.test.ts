import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectSameRows } from './helpers/compare.js';
import { expectNoOffsetAppliedTwice, FaultPipeline, until } from './helpers/fault-pipeline.js';
import { get, readyz, type Answer } from './helpers/http.js';
import { freePort } from './helpers/ports.js';
import { clusterAvailable, ThrowawayCluster } from './helpers/pg-cluster.js';
import { adminQuery, urlForDatabase, withClient } from './helpers/postgres.js';
import type { Service } from './helpers/services.js';

/*
 * Operating the services (issue 8): /healthz, /readyz and /metrics of `extract --follow`
 * and `load --follow` (readiness also through a PostgreSQL outage), and what SIGTERM does
 * to a loader in the middle of a snapshot.
 */

/** Waits until the service answers /healthz at all (it binds before connecting anywhere). */
async function listening(service: Service, port: number): Promise<Answer> {
  let answer: Answer | null = null;
  await until(
    `${service.label} serving HTTP on ${port}`,
    async () => {
      if (!service.running) throw new Error(`${service.label} exited\n${service.describe()}`);
      answer = await get(port, '/healthz').catch(() => null);
      return answer !== null;
    },
    60_000,
    100,
  );
  return answer!;
}

/** Values of one metric by its `table` label, from Prometheus text. */
function metric(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const table = /(?:^|,)table="([^"]*)"/.exec(match[2]!)?.[1];
    if (table !== undefined) out.set(table, Number(match[3]));
  }
  return out;
}

describe('health, readiness and metrics of extract --follow and load --follow', () => {
  const counts = { users: 300, tasks: 4000, recurringPatterns: 500 };
  const p = new FaultPipeline('observe', { brokers: inject('kafkaBrokers'), adminUrl: inject('adminDatabaseUrl'), counts });
  let loader: Service;
  let extractor: Service;
  let loaderPort = 0;
  let extractorPort = 0;

  beforeAll(async () => {
    await p.create();
    loaderPort = await freePort();
    extractorPort = await freePort();
  });
  afterAll(() => p.destroy());

  it('a loader started before any extractor is live but not ready', async () => {
    p.diagnoseOnFailure();
    loader = p.startLoad({ LITESHIFT_HTTP_PORT: String(loaderPort), LOG_LEVEL: 'info' });
    const health = await listening(loader, loaderPort);
    expect(health.status).toBe(200);
    // It connects to PostgreSQL and Kafka, then waits for schemas no extractor has published.
    await until('the loader waiting for the extractor', () => loader.logLines().some((l) => l.msg === 'waiting for the extractor to publish its schemas'));
    const ready = await readyz(loaderPort);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('not consuming') });
    expect((await get(loaderPort, '/healthz')).status).toBe(200);
    expect((await get(loaderPort, '/nothing-here')).status).toBe(404);
  }, 90_000);

  it('both are ready once the extractor streams, and every row is counted in /metrics with zero lag', async () => {
    p.diagnoseOnFailure();
    extractor = p.startExtract({ LITESHIFT_HTTP_PORT: String(extractorPort), LOG_LEVEL: 'info' });
    await listening(extractor, extractorPort);
    await until('the extractor ready', async () => (await readyz(extractorPort)).status === 200, 90_000, 200);
    await until('the loader ready', async () => (await readyz(loaderPort)).status === 200, 90_000, 200);
    await p.waitFor('the snapshot applied');

    const rows = { users: counts.users, tasks: counts.tasks, recurring_patterns: counts.recurringPatterns };
    const loaderMetrics = await get(loaderPort, '/metrics');
    expect(loaderMetrics.status).toBe(200);
    expect(Object.fromEntries(metric(loaderMetrics.body, 'liteshift_loader_rows_upserted_total'))).toEqual(rows);
    expect(Object.fromEntries(metric(loaderMetrics.body, 'liteshift_loader_lag'))).toEqual({ users: 0, tasks: 0, recurring_patterns: 0 });
    expect(metric(loaderMetrics.body, 'liteshift_loader_rows_rejected_total').size).toBe(0);
    expect(metric(loaderMetrics.body, 'liteshift_loader_batch_seconds_count').get('tasks')).toBeGreaterThan(0);
    expect(loaderMetrics.body).toMatch(/^liteshift_process_resident_memory_bytes\{service="loader"\} \d+/m);

    const extractorMetrics = (await get(extractorPort, '/metrics')).body;
    expect(Object.fromEntries(metric(extractorMetrics, 'liteshift_extractor_rows_read_total'))).toEqual(rows);
    expect(Object.fromEntries(metric(extractorMetrics, 'liteshift_extractor_messages_produced_total'))).toEqual(rows);
    expect(Object.fromEntries(metric(extractorMetrics, 'liteshift_extractor_snapshot_progress_ratio'))).toEqual({ users: 1, tasks: 1, recurring_patterns: 1 });
    expect(Object.fromEntries(metric(extractorMetrics, 'liteshift_extractor_lag'))).toEqual({ users: 0, tasks: 0, recurring_patterns: 0 });

    // One info line per batch, with its table, counts and offsets.
    const batches = loader.logLines().filter((l) => l.msg === 'batch applied');
    expect(batches.length).toBeGreaterThan(0);
    expect(batches[0]).toMatchObject({ level: 30, service: 'loader', table: expect.any(String), from: expect.any(String), to: expect.any(String), upserted: expect.any(Number) });
    // A database is named host:port/db in the logs, never by its connection string.
    expect(loader.stderr).not.toContain('postgres://');
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  }, 180_000);

  it('SIGTERM stops both with exit 0 and closes their HTTP servers', async () => {
    p.diagnoseOnFailure();
    expect(await loader.stop('SIGTERM')).toMatchObject({ code: 0, killed: false });
    expect(await extractor.stop('SIGTERM')).toMatchObject({ code: 0, killed: false });
    await expect(get(loaderPort, '/healthz')).rejects.toThrow();
    await expect(get(extractorPort, '/healthz')).rejects.toThrow();
  }, 60_000);
});

describe.runIf(clusterAvailable)('the loader\'s readiness follows PostgreSQL (a throwaway cluster, stopped and started)', () => {
  const cluster = new ThrowawayCluster();
  let p: FaultPipeline;
  let port = 0;

  beforeAll(async () => {
    await cluster.init();
    await adminQuery(cluster.url, 'CREATE DATABASE target');
    p = new FaultPipeline('observe-pg', {
      brokers: inject('kafkaBrokers'),
      adminUrl: cluster.url,
      databaseUrl: urlForDatabase(cluster.url, 'target'),
      counts: { users: 50, tasks: 500, recurringPatterns: 20 },
    });
    await p.create();
    port = await freePort();
  });
  afterAll(async () => {
    await cluster.start().catch(() => undefined);
    await p?.destroy();
    await cluster.destroy();
  });

  it('not ready while PostgreSQL is down, saying which database and never the URL; ready again once it is back', async () => {
    p.diagnoseOnFailure();
    p.startExtract();
    const load = p.startLoad({ LITESHIFT_HTTP_PORT: String(port), LOG_LEVEL: 'info' });
    await listening(load, port);
    await p.waitFor('the snapshot applied');
    await until('the loader ready', async () => (await readyz(port)).status === 200, 60_000, 200);

    await cluster.stop();
    let down: Answer | null = null;
    await until('the loader not ready', async () => (down = await readyz(port)).status === 503, 60_000, 200);
    expect(JSON.parse(down!.body).reason).toContain(`127.0.0.1:${cluster.port}/target`);
    expect(down!.body).not.toContain('postgres://');
    // Waiting out an outage is no failure: still live.
    expect((await get(port, '/healthz')).status).toBe(200);

    await cluster.start();
    await until('the loader ready again', async () => (await readyz(port)).status === 200, 120_000, 200);
    expect(load.running, load.describe()).toBe(true);
  }, 240_000);
});

describe('a loader SIGTERMed in the middle of a large snapshot', () => {
  const counts = { users: 2000, tasks: 200_000, recurringPatterns: 2000 };
  const p = new FaultPipeline('observe-term', {
    brokers: inject('kafkaBrokers'),
    adminUrl: inject('adminDatabaseUrl'),
    counts,
    env: { LITESHIFT_CHUNK_ROWS: '1000' },
  });

  beforeAll(() => p.create(), 120_000);
  afterAll(() => p.destroy());

  it('finishes the batch in hand, exits 0; a new loader completes it with zero differences', async () => {
    p.diagnoseOnFailure();
    p.startExtract();
    const first = p.startLoad();
    const tasksApplied = () => first.logLines().filter((l) => l.msg === 'batch applied' && l.table === 'tasks').length;
    await until('the first loader applying tasks', () => tasksApplied() >= 3, 180_000, 50);
    expect(await first.stop('SIGTERM')).toMatchObject({ code: 0, killed: false });
    expect(first.logLines().some((l) => l.msg === 'stopping after the batch in hand')).toBe(true);
    // Stopped part-way, with no transaction left open.
    const tasks = await withClient(p.databaseUrl, async (c) => Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM tasks')).rows[0]!.n));
    expect(tasks).toBeLessThan(counts.tasks);
    expect(await p.loaderTransactionsOpen()).toBe(0);

    p.startLoad();
    await p.waitFor('the snapshot applied by the second loader', undefined, 300_000);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    expectNoOffsetAppliedTwice(p.services);
  }, 480_000);
});
