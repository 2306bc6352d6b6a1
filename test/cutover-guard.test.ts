import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeRun, humanStderrLines, runCli } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { FaultPipeline, until } from './helpers/fault-pipeline.js';
import { Service, liveStatus } from './helpers/services.js';
import type { Writer } from './helpers/writer.js';

/*
 * The cutover fence is a promise to the application: whatever ends the cutover process
 * (Ctrl-C, SIGTERM, the terminal closed), SQLite takes writes again; and the fence never
 * goes up while nobody runs to drain behind it.
 */

const FENCE = /this database has moved to PostgreSQL/;

/** Every refusal the probe met was the fence, and none came once `after` (ms) had passed. */
async function onlyFenceRefusalsUntil(writer: Writer, settleMs = 1_500): Promise<void> {
  await new Promise((r) => setTimeout(r, settleMs));
  const before = writer.progress;
  await writer.waitForAccepted(before.accepted + 20, 30_000);
  expect(writer.progress.refused, 'a write was refused after the fence was lifted').toBe(before.refused);
}

/** Holds a lock on `table` in the target until released: the loader stays alive, but cannot apply that table. */
async function holdTable(databaseUrl: string, table: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return async () => {
    await client.query('COMMIT').catch(() => undefined);
    await client.end().catch(() => undefined);
  };
}

describe('cutover guards the fence', () => {
  const p = new FaultPipeline('cutover-guard', { brokers: inject('kafkaBrokers'), adminUrl: inject('adminDatabaseUrl'), counts: { users: 50, tasks: 500, recurringPatterns: 50 } });

  beforeAll(async () => {
    await p.create();
    p.startExtract();
    p.startLoad();
    await p.waitFor('streaming and caught up');
  });
  afterAll(() => p.destroy());

  it('refuses to fence while no loader runs: one line, exit 2, SQLite untouched', async () => {
    p.diagnoseOnFailure();
    expect((await p.load!.stop('SIGTERM')).code, p.load!.describe()).toBe(0);
    const run = await runCli(['cutover', '--timeout', '30'], p.env, 120_000);
    expect(run.code, describeRun(run)).toBe(2);
    expect(humanStderrLines(run)).toEqual([expect.stringMatching(/^liteshift: no loader is running \(consumer group \S+ has no member\): SQLite was not fenced \(start `liteshift load --follow`/)]);
    expect((await liveStatus(p.env)).extractor).toMatchObject({ fenced: false });
    p.startLoad();
    await p.waitFor('the loader back and caught up');
  });

  it('SIGINT while draining lifts the fence and says so; a probe writing throughout meets only the fence, and nothing after', async () => {
    p.diagnoseOnFailure();
    const probe = p.writer(40, 11);
    await probe.waitForAccepted(20);
    // The loader runs but cannot apply tasks: the drain cannot end.
    const release = await holdTable(p.databaseUrl, 'tasks');
    try {
      const cutover = new Service('cutover', ['cutover', '--timeout', '120'], p.env);
      p.services.push(cutover);
      await until('the cutover draining', () => /draining the last changes/.test(cutover.stdout) || !cutover.running, 60_000);
      expect(cutover.running, cutover.describe()).toBe(true);
      expect((await liveStatus(p.env)).extractor).toMatchObject({ fenced: true });
      await probe.waitForRefused(probe.progress.refused + 1, 30_000);
      const stopped = await cutover.stop('SIGINT', 30_000);
      expect(stopped.code, cutover.describe()).toBe(130);
      expect(cutover.stderr).toMatch(/liteshift cutover: interrupted \(SIGINT\): fence lifted, SQLite takes writes again; nothing was cut over/);
      await onlyFenceRefusalsUntil(probe);
      expect((await liveStatus(p.env)).extractor).toMatchObject({ fenced: false });
    } finally {
      await release();
    }
    const summary = await probe.stop();
    expect(Object.keys(summary.refusals).length).toBeGreaterThan(0);
    for (const message of Object.keys(summary.refusals)) expect(message).toMatch(FENCE);
    await p.waitFor('zero lag');
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });

  it('a loader gone while draining: the fence is lifted, exit 2, in one line', async () => {
    p.diagnoseOnFailure();
    const probe = p.writer(40, 12);
    await probe.waitForAccepted(20);
    const release = await holdTable(p.databaseUrl, 'tasks');
    try {
      const cutover = new Service('cutover#2', ['cutover', '--timeout', '120'], p.env);
      p.services.push(cutover);
      await until('the cutover draining', () => /draining the last changes/.test(cutover.stdout) || !cutover.running, 60_000);
      p.load!.kill();
      expect(await cutover.whenExited(), cutover.describe()).toBe(2);
      expect(cutover.stderr).toMatch(/liteshift: no loader is running \(consumer group \S+ has no member\): fence lifted, SQLite takes writes again/);
      await onlyFenceRefusalsUntil(probe);
    } finally {
      await release();
    }
    for (const message of Object.keys((await probe.stop()).refusals)) expect(message).toMatch(FENCE);
    p.startLoad();
    await p.waitFor('the loader back and caught up');
  });

  it('refuses to fence while the extractor is not running', async () => {
    p.diagnoseOnFailure();
    expect((await p.extract!.stop('SIGTERM')).code, p.extract!.describe()).toBe(0);
    // Its heartbeat goes stale after three missed beats (15 s).
    await new Promise((r) => setTimeout(r, 16_000));
    const run = await runCli(['cutover', '--timeout', '30'], p.env, 120_000);
    expect(run.code, describeRun(run)).toBe(2);
    expect(humanStderrLines(run)).toEqual([expect.stringMatching(/^liteshift: the extractor is not running \(its last heartbeat on \S+ is \d+ s old\): SQLite was not fenced/)]);
    expect((await liveStatus(p.env)).extractor).toMatchObject({ fenced: false });
  });
});
