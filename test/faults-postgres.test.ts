import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectSameRows } from './helpers/compare.js';
import { expectNoOffsetAppliedTwice, FaultPipeline, streamingEverywhere } from './helpers/fault-pipeline.js';
import { clusterAvailable, ThrowawayCluster } from './helpers/pg-cluster.js';
import { adminQuery, urlForDatabase } from './helpers/postgres.js';

/*
 * Resilience: PostgreSQL stops and starts again while the loader follows a writer. The
 * machine's own server is shared by everything else, so this test runs a throwaway
 * cluster of its own and stops that one.
 */

describe.runIf(clusterAvailable)('PostgreSQL stopped and started again while the loader follows a writer', () => {
  const cluster = new ThrowawayCluster();
  let p: FaultPipeline;

  beforeAll(async () => {
    await cluster.init();
    await adminQuery(cluster.url, 'CREATE DATABASE target');
    p = new FaultPipeline('fault-postgres', { brokers: inject('kafkaBrokers'), adminUrl: cluster.url, databaseUrl: urlForDatabase(cluster.url, 'target') });
    await p.create();
  });

  afterAll(async () => {
    await cluster.start().catch(() => undefined);
    await p?.destroy();
    await cluster.destroy();
  });

  it('the loader keeps running, retries with backoff, and converges once the server is back', async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(200, 71);
    await writer.waitForAccepted(50);
    const extract = p.startExtract();
    const load = p.startLoad();
    await p.waitFor('every table streaming', streamingEverywhere);
    await writer.waitForAccepted(writer.progress.accepted + 200);

    await cluster.stop();
    // ~3 s of writes the loader cannot apply.
    await writer.waitForAccepted(writer.progress.accepted + 600);
    expect(load.running, load.describe()).toBe(true);
    await cluster.start();
    await writer.waitForAccepted(writer.progress.accepted + 200);
    await p.drain(writer);
    await expectSameRows(p.sqlitePath, p.databaseUrl);

    expect(extract.running && load.running, cluster.log()).toBe(true);
    expect(p.services).toHaveLength(2);
    const retried = load.logLines().filter((l) => l.level === 40 && /retrying/.test(String(l.msg)));
    expect(retried.length, 'the loader logged no retry').toBeGreaterThan(0);
    expectNoOffsetAppliedTwice(p.services);
  }, 240_000);
});
