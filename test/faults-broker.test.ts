import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger, stackDown, stackUp } from '@liteshift/shared';
import { expectSameRows } from './helpers/compare.js';
import { expectNoOffsetAppliedTwice, FaultPipeline, streamingEverywhere, until } from './helpers/fault-pipeline.js';
import { readyz, type Answer } from './helpers/http.js';
import { freePort } from './helpers/ports.js';

/*
 * Resilience: the Kafka broker stops and comes back while `extract --follow` and
 * `load --follow` run under a write load. Neither process may exit; both wait the outage
 * out (retrying with backoff, and saying so), then catch up to exactly the source. The
 * extractor's /readyz says it cannot send while the broker is away, and ready once it can.
 * The broker is this test's own, so the suite's shared broker is not disturbed.
 */

const log = createLogger({ service: 'test-broker', level: 'warn', format: 'json' });

describe('the broker stopped and restarted while extract and load follow a writer', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'liteshift-fault-broker-'));
  let brokers = '';
  let p: FaultPipeline;

  beforeAll(async () => {
    brokers = (await stackUp({ stateDir, log })).brokers;
    p = new FaultPipeline('fault-broker', { brokers, adminUrl: inject('adminDatabaseUrl') });
    await p.create();
  });

  afterAll(async () => {
    await stackUp({ stateDir, log }).catch(() => undefined);
    await p?.destroy();
    await stackDown({ stateDir, log, purge: true }).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('neither service exits; both resume on their own; zero differences after', async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(200, 41);
    await writer.waitForAccepted(50);
    const port = await freePort();
    const extract = p.startExtract({ LITESHIFT_HTTP_PORT: String(port) });
    const load = p.startLoad();
    // The loader too is past its start-up and following (the snapshot applied: a lag the
    // writer's pace keeps small) when the broker goes.
    await p.waitFor('every table streaming, the loader following', (s) => streamingEverywhere(s) && s.loaderLag < 500);
    await writer.waitForAccepted(writer.progress.accepted + 150);
    expect((await readyz(port)).status).toBe(200);

    const stopped = await stackDown({ stateDir, log });
    expect(stopped.stopped).toBe(true);
    // The application goes on writing while Kafka is away (~12 s: longer than the
    // producer's own retries, so the extractor's waiting is what carries it through).
    const duringOutage = writer.progress.accepted;
    await writer.waitForAccepted(duringOutage + 2400);
    // Changes it cannot send make the extractor not ready (once the producer's own retries give up).
    let away: Answer | null = null;
    await until('the extractor not ready while Kafka is away', async () => (away = await readyz(port)).status === 503, 90_000, 200);
    expect(JSON.parse(away!.body)).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/Kafka/) });
    expect(extract.running, extract.describe()).toBe(true);
    expect(load.running, load.describe()).toBe(true);

    const restarted = await stackUp({ stateDir, log });
    expect(restarted.reused).toBe(false);
    expect(restarted.brokers).toBe(brokers);
    await until('the extractor ready again', async () => (await readyz(port)).status === 200, 90_000, 200);
    await writer.waitForAccepted(writer.progress.accepted + 150);
    await p.drain(writer);
    await expectSameRows(p.sqlitePath, p.databaseUrl);

    // The same two processes did all of it, and said they were waiting.
    expect(p.services).toHaveLength(2);
    expect(extract.running && load.running).toBe(true);
    const warned = (s: typeof extract) => s.logLines().filter((l) => l.level === 40 && /retrying|restarts|starting a new one/.test(String(l.msg)));
    expect(warned(extract).length, 'the extractor logged no retry').toBeGreaterThan(0);
    expect(warned(load).length, 'the loader logged no retry').toBeGreaterThan(0);
    expectNoOffsetAppliedTwice(p.services);
  }, 240_000);
});
