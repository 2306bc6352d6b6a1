import { tableAgrees, type VerifyReport } from '../report.js';
import type { CaptureStatus, PipelineStatus, TableStatus } from '../status.js';
import type { StatusSample } from './history.js';

/** Where the pipeline stands, read every few seconds (cheap: offsets and the changelog head). */
export interface PipelineReading {
  capture: CaptureStatus;
  /** Per-table loader lag; null without Kafka. */
  loaderLag: Map<string, number> | null;
  rejects: number;
  /** Messages on the dead-letter topic; null without Kafka. */
  deadLettered: number | null;
  /** After cutover, while the live fallback is installed (status.ts). */
  fallback?: PipelineStatus['fallback'];
}

export interface StatusPageTable {
  table: string;
  phase: TableStatus['phase'];
  snapshot?: { done: number; total: number; percent: number };
  /** The table's re-synchronisation by the extractor (a table rebuilt by the application). */
  note?: string;
  /** Null without Kafka, or before the table is captured. */
  loaderLag: number | null;
  /** From the last verdict; absent before it (or for a table it did not cover). */
  parity?: { sourceRows: number; targetRows: number | null; missing: number; extra: number; changed: number; rejects: number; agrees: boolean };
}

/** What GET /api/status answers; the page renders nothing else. */
export interface StatusPageState {
  /** When the pipeline was last read (null before the first reading). */
  readAt: string | null;
  /** Why the last reading failed (PostgreSQL or Kafka restarting); null when it worked. */
  readError: string | null;
  /** Whether Kafka brokers were given: without them there is no loader lag. */
  kafka: boolean;
  extractor: CaptureStatus['extractor'] | null;
  loaderLag: number | null;
  rejects: number | null;
  deadLettered: number | null;
  /** The way back after cutover: direction, lag, which side is fenced; null before it is installed. */
  fallback: PipelineStatus['fallback'] | null;
  tables: StatusPageTable[];
  verdict: Pick<VerifyReport, 'verdict' | 'reasons' | 'warnings' | 'checkedAt' | 'durationMs'> | null;
  /** Why the last verification failed, when it did after the verdict shown. */
  verifyError: string | null;
  /** Seconds between verifications. */
  intervalSeconds: number;
  /** Chart samples, oldest first (only those after `?since=` when asked). */
  history: StatusSample[];
  historyWindowSeconds: number;
}

export interface StateInputs {
  reading: PipelineReading | null;
  readAt: Date | null;
  readError: string | null;
  kafka: boolean;
  report: VerifyReport | null;
  verifyError: string | null;
  intervalSeconds: number;
  history: StatusSample[];
  historyWindowSeconds: number;
}

/** Joins the latest reading and the last verdict per table (tables of either, reading's order first). */
export function buildState(inputs: StateInputs): StatusPageState {
  const { reading, report } = inputs;
  const verified = new Map((report?.tables ?? []).map((t) => [t.table, t]));
  const names = [...(reading?.capture.tables.map((t) => t.table) ?? []), ...verified.keys()];
  const captured = new Map(reading?.capture.tables.map((t) => [t.table, t]));
  const tables = [...new Set(names)].map((name): StatusPageTable => {
    const status = captured.get(name);
    const t = verified.get(name);
    return {
      table: name,
      phase: status?.phase ?? 'not captured',
      ...(status?.snapshot ? { snapshot: status.snapshot } : {}),
      ...(status?.note ? { note: status.note } : {}),
      loaderLag: reading?.loaderLag?.get(name) ?? null,
      ...(t
        ? {
            parity: {
              sourceRows: t.sourceRows,
              targetRows: t.targetRows,
              missing: t.content?.missing ?? 0,
              extra: t.content?.extra ?? 0,
              changed: t.content?.changed ?? 0,
              rejects: t.rejects,
              agrees: tableAgrees(t),
            },
          }
        : {}),
    };
  });
  return {
    readAt: inputs.readAt?.toISOString() ?? null,
    readError: inputs.readError,
    kafka: inputs.kafka,
    extractor: reading?.capture.extractor ?? null,
    loaderLag: reading?.loaderLag ? [...reading.loaderLag.values()].reduce((a, b) => a + b, 0) : null,
    rejects: reading?.rejects ?? null,
    deadLettered: reading?.deadLettered ?? null,
    fallback: reading?.fallback ?? null,
    tables,
    verdict: report
      ? { verdict: report.verdict, reasons: report.reasons, warnings: report.warnings, checkedAt: report.checkedAt, durationMs: report.durationMs }
      : null,
    verifyError: inputs.verifyError,
    intervalSeconds: inputs.intervalSeconds,
    history: inputs.history,
    historyWindowSeconds: inputs.historyWindowSeconds,
  };
}
