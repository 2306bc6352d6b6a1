import type { ExcludedColumn } from '@liteshift/shared';
import type { RowDifference, TableDiff } from './row-diff.js';

export type Verdict = 'READY' | 'NOT READY';

export interface OrphanReport {
  foreignKey: string;
  source: number;
  target: number;
  /** Keys of the first child rows that are orphans in PostgreSQL (when there are more than in SQLite). */
  examples?: (string | null)[][];
}

/** What the row-by-row comparison found (row-diff's TableDiff, without the counts the report has already). */
export interface ContentReport extends Omit<TableDiff, 'table' | 'sourceRows' | 'targetRows'> {
  /**
   * Differences found while changes were in flight, compared again once the pipeline had
   * applied everything up to them: how many keys, how many then agreed, in how many rounds.
   */
  inFlight?: { keys: number; resolved: number; rounds: number };
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
  /** Messages on this table's topic not yet applied (when Kafka brokers were given). */
  loaderLag?: number;
  /** Columns SQLite has and the target table lacks (the rows are compared without them). */
  missingColumns?: string[];
  /** Read from the readable copy (a key whose collation only the application registers). */
  readFromCopy?: boolean;
}

/** The pipeline as `liteshift status` sees it, when Kafka brokers were given. */
export interface LagReport {
  extractor: { captured: boolean; phase: string; head: string; position: string; lag: number };
  loaderLag: number;
  deadLettered: number;
  deadLetterTopic: string;
}

export interface VerifyReport {
  verdict: Verdict;
  reasons: string[];
  warnings: string[];
  tables: TableReport[];
  /** Source tables absent from the target that the row comparison could not name (SQLite could not read them). */
  missingTables?: { table: string; reason: string }[];
  /** What the user left out on purpose (--exclude-table, --exclude-column): not a reason against READY, but said. */
  excluded?: { tables: string[]; columns: ExcludedColumn[] };
  lag?: LagReport;
  /** Messages the loader could not decode (contract 6), when Kafka was asked. */
  deadLetters?: { topic: string; count: number };
  checkedAt: string;
  durationMs: number;
}

export function formatKey(key: readonly (string | null)[]): string {
  return `(${key.map((k) => (k === null ? 'NULL' : k.startsWith('\u0000') ? '<refused>' : k)).join(', ')})`;
}

function describeDifference(d: RowDifference): string {
  return `${d.kind} key ${formatKey(d.key)}${d.columns ? ` in ${d.columns.join(', ')}` : ''}`;
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
      const example = first ? `; first: ${describeDifference(first)}` : '';
      reasons.push(`${t.table}: ${c.missing} missing, ${c.extra} extra, ${c.changed} changed row(s) in PostgreSQL${example}`);
    }
    if (t.rejects > 0) reasons.push(`${t.table}: ${t.rejects} rejected row(s) in liteshift.rejects`);
    for (const o of t.orphans) {
      if (o.target > o.source) {
        const examples = o.examples?.length ? ` (e.g. ${t.table} key ${o.examples.map(formatKey).join(', ')})` : '';
        reasons.push(`${o.foreignKey}: ${o.target} orphan row(s) in PostgreSQL, ${o.source} in SQLite${examples}`);
      } else if (o.source > 0) warnings.push(`${o.foreignKey}: ${o.source} orphan row(s) already in SQLite (foreign key left NOT VALID)`);
    }
  }
  return { verdict: reasons.length === 0 ? 'READY' : 'NOT READY', reasons, warnings };
}

/** The table's own facts give no reason against READY (the "ok" of the report's table). */
export function tableAgrees(t: TableReport): boolean {
  const differing = t.content ? t.content.missing + t.content.extra + t.content.changed : 0;
  return t.targetRows === t.sourceRows && differing === 0 && t.rejects === 0 && t.orphans.every((o) => o.target <= o.source) && !t.missingColumns?.length;
}

export interface RenderOptions {
  /** Differing keys listed per table (the total is always given). */
  maxDifferences?: number;
}

export function renderReport(report: VerifyReport, options: RenderOptions = {}): string {
  const shown = options.maxDifferences ?? 10;
  const lines: string[] = [];
  const width = Math.max(5, ...report.tables.map((t) => t.table.length));
  const withLag = report.lag !== undefined;
  lines.push(
    `${'table'.padEnd(width)}  ${'sqlite'.padStart(10)}  ${'postgres'.padStart(10)}  ${'missing'.padStart(7)}  ${'extra'.padStart(7)}  ${'changed'.padStart(7)}  ${'orphans'.padStart(7)}  ${'rejects'.padStart(7)}${withLag ? `  ${'lag'.padStart(7)}` : ''}  status`,
  );
  for (const t of report.tables) {
    const orphans = t.orphans.reduce((n, o) => n + o.target, 0);
    const c = t.content;
    const ok = tableAgrees(t);
    lines.push(
      `${t.table.padEnd(width)}  ${String(t.sourceRows).padStart(10)}  ${String(t.targetRows ?? '-').padStart(10)}  ${String(c?.missing ?? '-').padStart(7)}  ${String(c?.extra ?? '-').padStart(7)}  ${String(c?.changed ?? '-').padStart(7)}  ${String(orphans).padStart(7)}  ${String(t.rejects).padStart(7)}${withLag ? `  ${String(t.loaderLag ?? 0).padStart(7)}` : ''}  ${ok ? 'ok' : 'DIFFERS'}`,
    );
  }
  const differing = report.tables.filter((t) => t.content && t.content.missing + t.content.extra + t.content.changed > 0);
  if (differing.length > 0) {
    lines.push('');
    lines.push('differences:');
    for (const t of differing) {
      const c = t.content!;
      const total = c.missing + c.extra + c.changed;
      const columns = Object.entries(c.changedColumns)
        .sort((a, b) => b[1] - a[1])
        .map(([column, n]) => `${column} ${n}`);
      lines.push(`  ${t.table}: ${total} row(s)${columns.length ? `; changed columns: ${columns.join(', ')}` : ''}`);
      for (const d of c.differences.slice(0, shown)) lines.push(`    ${d.kind.padEnd(7)}  key ${formatKey(d.key)}${d.columns ? `  columns: ${d.columns.join(', ')}` : ''}`);
      const listed = Math.min(shown, c.differences.length);
      if (total > listed) lines.push(`    … and ${total - listed} more (--json lists the first ${c.differences.length})`);
    }
  }
  for (const t of report.tables) {
    for (const o of t.orphans) {
      if (o.target > o.source && o.examples?.length) {
        lines.push(`orphans: ${o.foreignKey}: ${t.table} key ${o.examples.slice(0, shown).map(formatKey).join(', ')}${o.target > o.examples.length ? ' …' : ''}`);
      }
    }
  }
  if (report.lag) {
    const e = report.lag.extractor;
    lines.push('');
    lines.push(
      `pipeline: ${e.captured ? `extractor ${e.phase}, lag ${e.lag} (changelog head ${e.head}, produced ${e.position})` : 'no change capture'}; ` +
        `loader lag ${report.lag.loaderLag}; dead letters ${report.lag.deadLettered}`,
    );
  }
  const inFlight = report.tables.reduce((n, t) => n + (t.content?.inFlight?.resolved ?? 0), 0);
  if (inFlight > 0) lines.push(`in flight: ${inFlight} difference(s) agreed once the pipeline had applied the changes in flight`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  lines.push('');
  lines.push(`verdict: ${report.verdict}${report.reasons.length ? '' : ` (${report.tables.length} tables, checked in ${(report.durationMs / 1000).toFixed(1)} s)`}`);
  for (const r of report.reasons) lines.push(`  - ${r}`);
  const excluded = excludedText(report);
  if (excluded) lines.push(`  left out on purpose: ${excluded}`);
  return lines.join('\n');
}

/** What --exclude-table and --exclude-column left out, as one line's worth; '' when nothing. */
export function excludedText(report: Pick<VerifyReport, 'excluded'>): string {
  const x = report.excluded;
  if (!x) return '';
  const parts = [
    ...(x.tables.length ? [`table(s) ${x.tables.join(', ')} (--exclude-table)`] : []),
    ...(x.columns.length ? [`column(s) ${x.columns.map((c) => `${c.table}.${c.column}`).join(', ')} (--exclude-column)`] : []),
  ];
  return parts.join('; ');
}
