import { readState, writeState } from '../sqlite/capture.js';
import type { SqliteDatabase } from '../sqlite/open.js';

/**
 * The extractor's state in the SQLite file (`_liteshift_state`, one row per name): its
 * position, written only once Kafka has acknowledged (contract 3), and what it is doing.
 * The extractor writes it; status, verify's in-flight re-check and cutover read it.
 */
const STATE = {
  /** Last changelog sequence Kafka acknowledged (bigint). */
  position: 'position',
  /** What the extractor is doing, for `liteshift status` (JSON ExtractorStatus). */
  status: 'status',
  /** The first snapshot of a following extractor, once complete (JSON CompletedSnapshot). */
  snapshot: 'snapshot',
  /** That snapshot while under way (JSON SnapshotProgress), so a restart resumes it. */
  snapshotProgress: 'snapshot_progress',
  /** Every table the extractor snapshotted or is snapshotting, with its epoch (JSON Record<string, CapturedTable>). */
  tables: 'tables',
} as const;

export interface ExtractorStatus {
  phase?: string;
  updatedAt?: string;
  watermark?: string;
  /** During a snapshot: rows sent of rows to send, per table. */
  tables?: Record<string, { done: number; total: number }>;
}

export interface CompletedSnapshot {
  watermark: string;
  completedAt: string;
}

export interface SnapshotProgress {
  snapshotId: string;
  watermark: string;
  startedAt: string;
  /** Table → rows, for tables whose every row Kafka has acknowledged. */
  done: Record<string, number>;
}

/**
 * A table the extractor captures, as it last left it. A table without an entry, or whose
 * snapshot has no `snapshotAt`, has rows Kafka may not hold: it is snapshotted on start.
 */
export interface CapturedTable {
  /**
   * Re-synchronisations so far: 0 for a table snapshotted once. Each one (a table rebuilt by
   * the application, re-planned types) re-sends the table under a writer schema naming the
   * new epoch; the loader then deletes the rows that epoch did not send (contracts/resync.ts).
   */
  epoch: number;
  /** When every row of the last (re)snapshot was acknowledged by Kafka; absent while one is under way. */
  snapshotAt?: string;
  rows?: number;
  /** Column → type tag (avro/change-event.ts columnTypeTag) as last published: a restart compares its own plan with them. */
  types?: Record<string, string>;
  /** The last re-synchronisation and why, for `liteshift status`. */
  resync?: { reason: string; startedAt: string; completedAt?: string; rows?: number };
}

function readJson<T>(db: SqliteDatabase, name: string): T | null {
  const raw = readState(db, name);
  return typeof raw === 'string' ? (JSON.parse(raw) as T) : null;
}

/** The changelog sequence Kafka has acknowledged; 0 before anything was streamed (or without capture). */
export function readExtractorPosition(db: SqliteDatabase): bigint {
  const position = readState(db, STATE.position);
  return typeof position === 'bigint' ? position : 0n;
}

export function writeExtractorPosition(db: SqliteDatabase, position: bigint): void {
  writeState(db, STATE.position, position);
}

export function readExtractorStatus(db: SqliteDatabase): ExtractorStatus {
  return readJson<ExtractorStatus>(db, STATE.status) ?? {};
}

export function writeExtractorStatus(db: SqliteDatabase, status: Omit<ExtractorStatus, 'updatedAt'>): void {
  writeState(db, STATE.status, JSON.stringify({ ...status, updatedAt: new Date().toISOString() }));
}

export function readCompletedSnapshot(db: SqliteDatabase): CompletedSnapshot | null {
  return readJson<CompletedSnapshot>(db, STATE.snapshot);
}

export function readSnapshotProgress(db: SqliteDatabase): SnapshotProgress | null {
  return readJson<SnapshotProgress>(db, STATE.snapshotProgress);
}

export function writeSnapshotProgress(db: SqliteDatabase, progress: SnapshotProgress): void {
  writeState(db, STATE.snapshotProgress, JSON.stringify(progress));
}

/** The first snapshot is in Kafka whole: the stream starts at its watermark. One transaction, so a crash leaves one or the other. */
export function completeSnapshot(db: SqliteDatabase, watermark: bigint): void {
  db.transaction(() => {
    writeState(db, STATE.position, watermark);
    writeState(db, STATE.snapshot, JSON.stringify({ watermark: watermark.toString(), completedAt: new Date().toISOString() } satisfies CompletedSnapshot));
    writeState(db, STATE.snapshotProgress, null);
  }).immediate();
}

/** The tables the extractor captures; null before it recorded any (an extractor of an earlier version). */
export function readCapturedTables(db: SqliteDatabase): Record<string, CapturedTable> | null {
  return readJson<Record<string, CapturedTable>>(db, STATE.tables);
}

export function writeCapturedTables(db: SqliteDatabase, tables: Record<string, CapturedTable>): void {
  writeState(db, STATE.tables, JSON.stringify(tables));
}
