import { describe, expect, it } from 'vitest';
import { judge, renderReport, type TableReport, type VerifyReport } from './report.js';

const ranges = { checked: 1, rechecked: 0, bisected: 0, rowsFetched: 0 };

function table(overrides: Partial<TableReport> = {}): TableReport {
  return {
    table: 'tasks',
    sourceRows: 10,
    targetRows: 10,
    orphans: [],
    rejects: 0,
    content: { missing: 0, extra: 0, changed: 0, differences: [], changedColumns: {}, ranges },
    ...overrides,
  };
}

function report(tables: TableReport[], extra: Partial<VerifyReport> = {}): VerifyReport {
  const { verdict, reasons, warnings } = judge(tables);
  return { verdict, reasons, warnings, tables, checkedAt: '2026-01-01T00:00:00Z', durationMs: 1234, ...extra };
}

describe('judge', () => {
  it('READY when nothing differs', () => {
    expect(judge([table()])).toEqual({ verdict: 'READY', reasons: [], warnings: [] });
  });

  it('names the table, the counts and the first differing key with its columns', () => {
    const t = table({
      targetRows: 11,
      content: {
        missing: 0,
        extra: 1,
        changed: 1,
        differences: [
          { kind: 'changed', key: ['42'], columns: ['title', 'done'] },
          { kind: 'extra', key: ['99'] },
        ],
        changedColumns: { title: 1, done: 1 },
        ranges,
      },
    });
    const { verdict, reasons } = judge([t]);
    expect(verdict).toBe('NOT READY');
    expect(reasons).toEqual([
      'tasks: 10 rows in SQLite, 11 in PostgreSQL (+1)',
      'tasks: 0 missing, 1 extra, 1 changed row(s) in PostgreSQL; first: changed key (42) in title, done',
    ]);
  });

  it('orphans only PostgreSQL has are a reason (with their keys); orphans SQLite has too, a warning', () => {
    const t = table({
      orphans: [
        { foreignKey: 'tasks(user_id) → users(id)', source: 0, target: 1, examples: [['7']] },
        { foreignKey: 'tasks(list_id) → lists(id)', source: 2, target: 2 },
      ],
    });
    const { verdict, reasons, warnings } = judge([t]);
    expect(verdict).toBe('NOT READY');
    expect(reasons).toEqual(['tasks(user_id) → users(id): 1 orphan row(s) in PostgreSQL, 0 in SQLite (e.g. tasks key (7))']);
    expect(warnings).toEqual(['tasks(list_id) → lists(id): 2 orphan row(s) already in SQLite (foreign key left NOT VALID)']);
  });

  it('a missing table, rejected rows and reasons given from outside (dead letters) are NOT READY', () => {
    expect(judge([table({ targetRows: null })]).reasons).toEqual(['tasks: missing in PostgreSQL']);
    expect(judge([table({ rejects: 2 })]).reasons).toEqual(['tasks: 2 rejected row(s) in liteshift.rejects']);
    expect(judge([table()], ['3 message(s) could not be decoded']).verdict).toBe('NOT READY');
  });
});

describe('renderReport', () => {
  it('lists the differing keys and columns, capped, with the total', () => {
    const differences = Array.from({ length: 12 }, (_, i) => ({ kind: 'changed' as const, key: [String(i + 1)], columns: ['title'] }));
    const text = renderReport(
      report([table({ content: { missing: 0, extra: 0, changed: 15, differences, changedColumns: { title: 15 }, ranges } })]),
      { maxDifferences: 10 },
    );
    expect(text).toContain('tasks: 15 row(s); changed columns: title 15');
    expect(text).toMatch(/changed\s+key \(1\)\s+columns: title/);
    expect(text).toMatch(/changed\s+key \(10\)\s+columns: title/);
    expect(text).not.toMatch(/key \(11\)/);
    expect(text).toContain('… and 5 more (--json lists the first 12)');
    expect(text).toMatch(/verdict: NOT READY\n {2}- tasks: 0 missing, 0 extra, 15 changed/);
  });

  it('shows the pipeline when Kafka was asked, and the time when READY', () => {
    const text = renderReport(
      report([table({ loaderLag: 0 })], {
        lag: { extractor: { captured: true, phase: 'streaming', head: '120', position: '118', lag: 2 }, loaderLag: 5, deadLettered: 0, deadLetterTopic: 'p._dlq' },
      }),
    );
    expect(text).toContain('pipeline: extractor streaming, lag 2 (changelog head 120, produced 118); loader lag 5; dead letters 0');
    expect(text).toMatch(/^table\s+sqlite\s+postgres\s+missing\s+extra\s+changed\s+orphans\s+rejects\s+lag\s+status$/m);
    expect(text).toContain('verdict: READY (1 tables, checked in 1.2 s)');
  });
});

describe('what SQLite holds and PostgreSQL lacks', () => {
  it('a table whose columns are missing in PostgreSQL DIFFERS', () => {
    const r = report([table({ missingColumns: ['note'] })]);
    expect(renderReport(r)).toMatch(/tasks .* DIFFERS$/m);
  });

  it('what the user left out on purpose is listed under the verdict, not a reason against it', () => {
    const r = report([table()], { excluded: { tables: ['audit'], columns: [{ table: 'users', column: 'avatar' }] } });
    expect(r.verdict).toBe('READY');
    const text = renderReport(r);
    expect(text).toMatch(/^verdict: READY/m);
    expect(text).toContain('  left out on purpose: table(s) audit (--exclude-table); column(s) users.avatar (--exclude-column)');
  });
});
