import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { createTodoDatabase } from '@liteshift/shared';
import { describeRun, runCli, type CliResult } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { deleteTopicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { createTestDatabase, withClient, type TestDatabase } from './helpers/postgres.js';
import { caughtUp, Service, waitForStatus, type LiveStatus } from './helpers/services.js';
import { startWriter, type Writer } from './helpers/writer.js';

/*
 * Lag-aware verification (DESIGN contract 7) on a live migration: while the application
 * writes, a difference found before the loader applied the change is compared again once
 * it has; a live migration reports no false differences, and a real one is still named.
 */

const COUNTS = { users: 200, tasks: 3000, recurringPatterns: 300 };
const CATCH_UP_MS = 90_000;

interface Report {
  verdict: string;
  reasons: string[];
  warnings: string[];
  lag?: { extractor: { captured: boolean; lag: number }; loaderLag: number; deadLettered: number };
  tables: {
    table: string;
    content?: {
      missing: number;
      extra: number;
      changed: number;
      differences: { kind: string; key: (string | null)[]; columns?: string[] }[];
      inFlight?: { keys: number; resolved: number; rounds: number };
    };
  }[];
}

function parse(text: string, context: string): Report {
  try {
    return JSON.parse(text) as Report;
  } catch {
    throw new Error(`no JSON report:\n${context}`);
  }
}

const differences = (report: Report): string[] =>
  report.tables
    .flatMap((t) => (t.content?.differences ?? []).map((d) => `${t.table} ${d.kind} (${d.key.join(', ')})${d.columns ? ` ${d.columns.join(',')}` : ''}`))
    .sort();

const resolvedInFlight = (report: Report): number => report.tables.reduce((n, t) => n + (t.content?.inFlight?.resolved ?? 0), 0);

describe('verify on a live migration (extract --follow, load --follow, an application writing)', () => {
  const brokers = inject('kafkaBrokers');
  const adminUrl = inject('adminDatabaseUrl');
  const prefix = uniquePrefix('verify-live');
  let workDir = '';
  let sqlitePath = '';
  let target: TestDatabase;
  let extract: Service;
  let load: Service;
  const services: Service[] = [];
  const writers: Writer[] = [];

  const env = (): Record<string, string> => ({
    SQLITE_PATH: sqlitePath,
    DATABASE_URL: target.url,
    KAFKA_BROKERS: brokers,
    LITESHIFT_TOPIC_PREFIX: prefix,
    LOG_FORMAT: 'json',
  });

  const start = (label: string, args: string[]): Service => {
    const service = new Service(label, args, env());
    services.push(service);
    return service;
  };

  const writer = (rate: number, seed: number): Writer => {
    const w = startWriter(sqlitePath, { rate, seed });
    writers.push(w);
    return w;
  };

  const waitFor = (what: string, until: (s: LiveStatus) => boolean = (s) => caughtUp(s)): Promise<LiveStatus> =>
    waitForStatus(env(), [extract, load], { deadlineMs: CATCH_UP_MS, until, what });

  const diagnose = (): void => {
    onTestFailed(() => {
      const parts = services.map((s) => s.describe(6000));
      for (const w of writers) parts.push(`--- writer (${w.running ? 'running' : 'exited'}) ${JSON.stringify(w.progress)} ---\n${w.stderr}`);
      console.error(`[verify-live] processes:\n${parts.join('\n')}`);
    });
  };

  const verifyJson = async (...extra: string[]): Promise<{ run: CliResult; report: Report }> => {
    const run = await runCli(['verify', '--json', ...extra], env(), 180_000);
    return { run, report: parse(run.stdout, describeRun(run)) };
  };

  /** Waits for a log line of `service` whose message matches, failing early when it exits. */
  const waitForLog = async (service: Service, message: RegExp, deadlineMs = 60_000): Promise<void> => {
    const deadline = Date.now() + deadlineMs;
    while (!service.logLines().some((l) => message.test(String(l.msg)))) {
      if (!service.running) throw new Error(`${service.label} exited before logging ${message}\n${service.describe()}`);
      if (Date.now() > deadline) throw new Error(`${service.label} logged no ${message} within ${deadlineMs} ms\n${service.describe()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'liteshift-verify-live-'));
    sqlitePath = join(workDir, 'todo.db');
    expect(createTodoDatabase(sqlitePath, COUNTS)).toEqual(COUNTS);
    target = await createTestDatabase(adminUrl, 'verify_live');
    extract = start('extract', ['extract', '--follow']);
    load = start('load#1', ['load', '--follow']);
  });

  afterAll(async () => {
    for (const w of writers) w.kill();
    await Promise.all(services.map((s) => s.stop('SIGTERM', 15_000).catch(() => undefined)));
    for (const s of services) s.kill();
    await target?.drop().catch(() => undefined);
    await deleteTopicsWithPrefix(brokers, prefix);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('catches up: READY with the lag in the report', async () => {
    diagnose();
    await waitFor('the snapshot applied and zero lag');
    const { run, report } = await verifyJson();
    expect(run.code, describeRun(run)).toBe(0);
    expect(report.verdict).toBe('READY');
    expect(report.lag?.extractor.captured).toBe(true);
    expect(report.lag?.loaderLag).toBe(0);
    expect(report.lag?.deadLettered).toBe(0);
  });

  it('while the application writes: READY every time, no false differences', async () => {
    diagnose();
    const w = writer(150, 31);
    await w.waitForAccepted(100);
    for (let i = 0; i < 3; i++) {
      const { run, report } = await verifyJson();
      expect(run.code, `verification ${i + 1} while writing\n${describeRun(run)}`).toBe(0);
      expect(report.verdict).toBe('READY');
      expect(differences(report)).toEqual([]);
    }
    expect(w.running).toBe(true);
    const summary = await w.stop();
    expect(summary.refused).toBe(0);
    expect(summary.accepted).toBeGreaterThan(100);
  }, 240_000);

  it('differences found while the loader is down are re-checked once it has applied them: READY', async () => {
    diagnose();
    const w = writer(100, 32);
    await w.waitForAccepted(50);
    const stopped = await load.stop('SIGTERM', 30_000);
    expect(stopped.code, load.describe()).toBe(0);
    // The application writes on; PostgreSQL falls behind for certain.
    await w.waitForAccepted(w.progress.accepted + 100);
    const verifying = start('verify', ['verify', '--json', '--catch-up-timeout', '120']);
    await waitForLog(verifying, /waiting for the pipeline to catch up \(loader\)/);
    load = start('load#2', ['load', '--follow']);
    const code = await verifying.whenExited();
    expect(code, verifying.describe()).toBe(0);
    const report = parse(verifying.stdout, verifying.describe());
    expect(report.verdict).toBe('READY');
    expect(differences(report)).toEqual([]);
    // It did find rows that differed, and found them equal once applied.
    expect(resolvedInFlight(report)).toBeGreaterThan(0);
    expect(verifying.logLines().filter((l) => String(l.msg).startsWith('verdict:')).map((l) => l.verdict)).toEqual(['READY']);
    const summary = await w.stop();
    expect(summary.refused).toBe(0);
  }, 240_000);

  it('verify --watch: one verdict per interval, printed and logged, until SIGTERM (exit 0 after READY)', async () => {
    diagnose();
    const w = writer(100, 33);
    await w.waitForAccepted(50);
    const watching = start('verify --watch', ['verify', '--watch', '--interval', '1', '--json']);
    const deadline = Date.now() + CATCH_UP_MS;
    const verdicts = () => watching.logLines().filter((l) => String(l.msg).startsWith('verdict:'));
    while (verdicts().length < 3) {
      if (!watching.running) throw new Error(`verify --watch exited\n${watching.describe()}`);
      if (Date.now() > deadline) throw new Error(`verify --watch logged ${verdicts().length} verdicts\n${watching.describe()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const stopped = await watching.stop('SIGTERM', 60_000);
    await w.stop();
    expect(stopped.killed, watching.describe()).toBe(false);
    expect(stopped.code, watching.describe()).toBe(0);
    const logged = verdicts();
    expect(logged.length).toBeGreaterThanOrEqual(3);
    expect(logged.map((l) => l.verdict)).toEqual(logged.map(() => 'READY'));
    const printed = watching.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => parse(line, watching.describe()));
    expect(printed.length).toBe(logged.length);
    expect(printed.map((r) => r.verdict)).toEqual(printed.map(() => 'READY'));
  }, 240_000);

  it('a real corruption under capture is still named (NOT READY), and repair through the changelog brings READY', async () => {
    diagnose();
    await waitFor('zero lag with the writer stopped');
    const ids = await withClient(target.url, async (client) => {
      const r = await client.query<{ id: string }>('SELECT id::text AS id FROM tasks ORDER BY id LIMIT 2 OFFSET 100');
      const [a, b] = r.rows.map((row) => row.id);
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query("UPDATE tasks SET title = title || ' (tampered)' WHERE id = $1", [a]);
      await client.query('DELETE FROM tasks WHERE id = $1', [b]);
      await client.query("INSERT INTO tasks (id, user_id, title) VALUES (999999, (SELECT min(id) FROM users), 'not in SQLite')");
      await client.query('COMMIT');
      return { a: a!, b: b! };
    });
    const { run, report } = await verifyJson();
    expect(run.code, describeRun(run)).toBe(1);
    expect(report.verdict).toBe('NOT READY');
    expect(differences(report)).toEqual([`tasks changed (${ids.a}) title`, `tasks extra (999999)`, `tasks missing (${ids.b})`].sort());
    const tasks = report.tables.find((t) => t.table === 'tasks')!.content!;
    // Re-checked once the pipeline was caught up: none of them was in flight.
    expect(tasks.inFlight).toMatchObject({ keys: 3, resolved: 0 });

    const repair = await runCli(['repair', '--json'], env(), 180_000);
    expect(repair.code, describeRun(repair)).toBe(0);
    const result = JSON.parse(repair.stdout) as { verdict: string; via: string; repaired: Record<string, unknown>[] };
    expect(result.via).toBe('changelog');
    expect(result.verdict).toBe('READY');
    expect(result.repaired).toEqual([{ table: 'tasks', missing: 1, extra: 1, changed: 1, upserts: 2, deletes: 1 }]);
    await expectSameRows(sqlitePath, target.url);
  }, 240_000);
});
