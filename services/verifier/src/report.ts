import type { RowDifference } from './row-diff.js';

export type Verdict = 'READY' | 'NOT READY';

export interface OrphanReport {
  foreignKey: string;
  source: number;
  target: number;
}

export interface ContentReport {
  missing: number;
  extra: number;
  changed: number;
  /** The first differences, with their keys (and, for changed rows, the columns). */
  differences: RowDifference[];
  /** Key ranges compared by checksum, and those compared row by row because their checksums differed. */
  ranges: { checked: number; rechecked: number };
}

export interface TableReport {
  table: string;
  sourceRows: number;
  /** Null when the target table does not exist. */
  targetRows: number | null;
  orphans: OrphanReport[];
  rejects: number;
  /** Row-by-row comparison; absent when the target table is missing. */
  content?: ContentReport;
}

export interface VerifyReport {
  verdict: Verdict;
  reasons: string[];
  warnings: string[];
  tables: TableReport[];
  checkedAt: string;
  durationMs: number;
}

/** The verdict and its reasons, from the per-table facts. */
export function judge(tables: TableReport[], extraReasons: string[] = []): { verdict: Verdict; reasons: string[]; warnings: string[] } {
  const reasons = [...extraReasons];
  const warnings: string[] = [];
  for (const t of tables) {
    if (t.targetRows === null) {
      reasons.push(`${t.table}: missing in PostgreSQL`);
      continue;
    }
    if (t.targetRows !== t.sourceRows) {
      const delta = t.targetRows - t.sourceRows;
      reasons.push(`${t.table}: ${t.sourceRows} rows in SQLite, ${t.targetRows} in PostgreSQL (${delta > 0 ? '+' : ''}${delta})`);
    }
    if (t.content && t.content.missing + t.content.extra + t.content.changed > 0) {
      const c = t.content;
      const first = c.differences[0];
      const example = first ? `; first: ${first.kind} key (${first.key.join(', ')})${first.columns ? ` in ${first.columns.join(', ')}` : ''}` : '';
      reasons.push(`${t.table}: ${c.missing} missing, ${c.extra} extra, ${c.changed} changed row(s) in PostgreSQL${example}`);
    }
    if (t.rejects > 0) reasons.push(`${t.table}: ${t.rejects} rejected row(s) in liteshift.rejects`);
    for (const o of t.orphans) {
      if (o.target > o.source) reasons.push(`${o.foreignKey}: ${o.target} orphan row(s) in PostgreSQL, ${o.source} in SQLite`);
      else if (o.source > 0) warnings.push(`${o.foreignKey}: ${o.source} orphan row(s) already in SQLite (foreign key left NOT VALID)`);
    }
  }
  return { verdict: reasons.length === 0 ? 'READY' : 'NOT READY', reasons, warnings };
}

export function renderReport(report: VerifyReport): string {
  const lines: string[] = [];
  const width = Math.max(5, ...report.tables.map((t) => t.table.length));
  lines.push(
    `${'table'.padEnd(width)}  ${'sqlite'.padStart(10)}  ${'postgres'.padStart(10)}  ${'differ'.padStart(7)}  ${'orphans'.padStart(7)}  ${'rejects'.padStart(7)}  status`,
  );
  for (const t of report.tables) {
    const orphans = t.orphans.reduce((n, o) => n + o.target, 0);
    const differing = t.content ? t.content.missing + t.content.extra + t.content.changed : 0;
    const ok = t.targetRows === t.sourceRows && differing === 0 && t.rejects === 0 && t.orphans.every((o) => o.target <= o.source);
    lines.push(
      `${t.table.padEnd(width)}  ${String(t.sourceRows).padStart(10)}  ${String(t.targetRows ?? '-').padStart(10)}  ${String(differing).padStart(7)}  ${String(orphans).padStart(7)}  ${String(t.rejects).padStart(7)}  ${ok ? 'ok' : 'DIFFERS'}`,
    );
  }
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  lines.push('');
  lines.push(`verdict: ${report.verdict}${report.reasons.length ? '' : ` (${report.tables.length} tables, checked in ${(report.durationMs / 1000).toFixed(1)} s)`}`);
  for (const r of report.reasons) lines.push(`  - ${r}`);
  return lines.join('\n');
}
