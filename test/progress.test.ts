import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTodoDatabase } from '@liteshift/shared';
import { describeRun, runCli, type CliResult, migrateArgs as cliMigrateArgs } from './helpers/cli.js';
import { deleteTopicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const COUNTS = { users: 200, tasks: 3000, recurringPatterns: 150 };
const TOTALS: Record<string, number> = { users: COUNTS.users, tasks: COUNTS.tasks, recurring_patterns: COUNTS.recurringPatterns };
/** Small chunks: every table is sent (and applied) in several steps. */
const ENV = { LITESHIFT_CHUNK_ROWS: '250' };

interface ProgressLine {
  service: string;
  table: string;
  rows: number;
  total: number;
  sent?: number;
  rowsPerSec: number;
  etaS: number | null;
}

/** The progress log lines of a run (stderr is a pipe here, not a terminal), per table in order. */
function progressLines(run: CliResult): Map<string, ProgressLine[]> {
  const byTable = new Map<string, ProgressLine[]>();
  for (const line of run.stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as ProgressLine & { msg: string };
    if (entry.msg !== 'progress') continue;
    byTable.set(entry.table, [...(byTable.get(entry.table) ?? []), entry]);
  }
  return byTable;
}

/** Each table logs its progress, rows never go back, and its last line is the whole table. */
function expectProgressToTotals(run: CliResult, applied: boolean): void {
  const byTable = progressLines(run);
  expect([...byTable.keys()].sort(), describeRun(run)).toEqual(Object.keys(TOTALS).sort());
  for (const [table, lines] of byTable) {
    const rows = lines.map((l) => l.rows);
    expect(rows).toEqual([...rows].sort((a, b) => a - b));
    for (const line of lines) {
      expect(line.total).toBe(TOTALS[table]);
      expect(line.rowsPerSec).toBeGreaterThanOrEqual(0);
    }
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ rows: TOTALS[table], total: TOTALS[table], etaS: 0 });
    // migrate: rows are those the loader applied, `sent` those the extractor sent.
    if (applied) expect(last.sent).toBe(TOTALS[table]);
    else expect(last.sent).toBeUndefined();
  }
}

describe('progress without a terminal: log lines', () => {
  const brokers = inject('kafkaBrokers');
  const adminUrl = inject('adminDatabaseUrl');
  const prefix = uniquePrefix('progress');
  const extractPrefix = uniquePrefix('progress-extract');
  let workDir: string;
  let sqlitePath: string;
  let target: TestDatabase;

  const migrateArgs = (...extra: string[]) => cliMigrateArgs({ sqlitePath, databaseUrl: target.url, brokers, prefix }, ...extra);

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'liteshift-progress-'));
    sqlitePath = join(workDir, 'todo.db');
    expect(createTodoDatabase(sqlitePath, COUNTS)).toEqual(COUNTS);
    target = await createTestDatabase(adminUrl, 'progress');
  });

  afterAll(async () => {
    await target?.drop();
    await deleteTopicsWithPrefix(brokers, prefix);
    await deleteTopicsWithPrefix(brokers, extractPrefix);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('migrate logs rows applied per table up to its total; stdout holds only the summary', async () => {
    const run = await runCli(migrateArgs('--force-recreate'), ENV);
    expect(run.code, describeRun(run)).toBe(0);
    expectProgressToTotals(run, true);
    expect(run.stdout).toMatch(/Migration summary[\s\S]*verdict: READY/);
    // Nothing of the progress (no log line, no bar) on stdout.
    expect(run.stdout).not.toMatch(/^\s*\{|"msg"|\| ETA |\x1b\[/m);
  });

  it('migrate --json: stdout is the JSON document, progress stays on stderr', async () => {
    const run = await runCli(migrateArgs('--json'), ENV);
    expect(run.code, describeRun(run)).toBe(0);
    const result = JSON.parse(run.stdout) as { verdict: string; rowsPerTable: Record<string, number> };
    expect(result.verdict).toBe('READY');
    expect(result.rowsPerTable).toEqual(TOTALS);
    expectProgressToTotals(run, true);
  });

  it('extract logs rows sent per table up to its total', async () => {
    const run = await runCli(['extract', '--sqlite-path', sqlitePath, '--kafka-brokers', brokers, '--topic-prefix', extractPrefix], ENV);
    expect(run.code, describeRun(run)).toBe(0);
    expectProgressToTotals(run, false);
    expect(run.stdout.trim()).toBe(`snapshot sent: 3 tables, ${(COUNTS.users + COUNTS.tasks + COUNTS.recurringPatterns).toLocaleString('en-US')} rows`);
  });
});
