import { describe, expect, it } from 'vitest';
import type { VerifyReport } from '../report.js';
import { buildState, type StateInputs } from './state.js';

const extractor = { captured: true, phase: 'streaming', head: '10', position: '8', lag: 2, updatedAt: null };

const inputs = (over: Partial<StateInputs>): StateInputs => ({
  reading: null,
  readAt: null,
  readError: null,
  kafka: true,
  report: null,
  verifyError: null,
  intervalSeconds: 30,
  history: [],
  historyWindowSeconds: 1800,
  ...over,
});

const report: VerifyReport = {
  verdict: 'NOT READY',
  reasons: ['b: 1 missing, 0 extra, 0 changed row(s) in PostgreSQL'],
  warnings: [],
  tables: [
    { table: 'a', sourceRows: 2, targetRows: 2, orphans: [], rejects: 0 },
    {
      table: 'b',
      sourceRows: 3,
      targetRows: 2,
      orphans: [],
      rejects: 0,
      content: { missing: 1, extra: 0, changed: 0, differences: [], changedColumns: {}, ranges: { checked: 1, rechecked: 1, bisected: 0, rowsFetched: 3 } },
    },
    { table: 'gone', sourceRows: 1, targetRows: null, orphans: [], rejects: 0 },
  ],
  checkedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 12,
};

describe('status page state', () => {
  it('joins the pipeline reading and the last verdict per table', () => {
    const state = buildState(
      inputs({
        reading: {
          capture: {
            extractor,
            tables: [
              { table: 'a', topic: 'p.a', phase: 'streaming', note: 're-synchronised at 2026-01-01T00:00:00.000Z (3 rows sent again): rebuilt by the application' },
              { table: 'b', topic: 'p.b', phase: 'snapshot', snapshot: { done: 1, total: 4, percent: 25 } },
            ],
          },
          loaderLag: new Map([['a', 0], ['b', 5]]),
          rejects: 0,
          deadLettered: 0,
        },
        readAt: new Date(0),
        report,
      }),
    );
    expect(state.loaderLag).toBe(5);
    expect(state.verdict).toMatchObject({ verdict: 'NOT READY', reasons: report.reasons, checkedAt: report.checkedAt });
    expect(state.tables.map((t) => [t.table, t.phase, t.loaderLag, t.parity?.agrees])).toEqual([
      ['a', 'streaming', 0, true],
      ['b', 'snapshot', 5, false],
      ['gone', 'not captured', null, false],
    ]);
    expect(state.tables[1]).toMatchObject({ snapshot: { percent: 25 }, parity: { sourceRows: 3, targetRows: 2, missing: 1 } });
    expect(state.tables[0]!.note).toMatch(/^re-synchronised at .*: rebuilt by the application$/);
    expect(state.tables[1]!.note).toBeUndefined();
  });

  it('without Kafka or a verdict yet: no lag, no parity', () => {
    const state = buildState(
      inputs({ kafka: false, reading: { capture: { extractor, tables: [{ table: 'a', topic: 'p.a', phase: 'streaming' }] }, loaderLag: null, rejects: 0, deadLettered: null } }),
    );
    expect(state).toMatchObject({ kafka: false, loaderLag: null, deadLettered: null, verdict: null, extractor: { lag: 2 } });
    expect(state.tables).toEqual([{ table: 'a', phase: 'streaming', loaderLag: null }]);
  });
});
