import {
  LiteshiftError,
  connectAdmin,
  connectPostgres,
  createKafka,
  describePostgresUrl,
  fenceInstalled,
  installFallbackCapture,
  installFence,
  maskPostgresUrl,
  mappingOptions,
  missingTriggers,
  openSqlite,
  readSchema,
  readCapturedTables,
  removeFence,
  schemaSignature,
  ReadableCopy,
  controlTopic,
  loaderGroup,
  readHeartbeat,
  readExtractorStatus,
  type Admin,
  type ExcludedColumn,
  type Kafka,
  type Logger,
  type SqliteDatabase,
  type TableModel,
  errorMessage,
} from '@liteshift/shared';
import { constants as osConstants } from 'node:os';
import { printError } from './output.js';
import { waitForLag } from './wait-for-lag.js';
import { relaxForStreaming, completeConstraints, retryParked } from '@liteshift/loader';
import { capturedTables, exportPlan } from '@liteshift/reverse';
import { loadedModels, pipelineStatus, verify, type VerifyReport } from '@liteshift/verifier';

export interface CutoverParams {
  sqlitePath: string;
  databaseUrl: string;
  kafkaBrokers: string[];
  topicPrefix: string;
  targetSchema: string;
  /** What the user left out on purpose (the verdict lists it). */
  excludeTable?: readonly string[];
  excludeColumn?: readonly ExcludedColumn[];
  timeoutMs: number;
  /** Capture PostgreSQL's changes from the switch on, for `liteshift rollback` (default); false: --no-fallback. */
  fallback?: boolean;
  log: Logger;
  onPhase?: (phase: string) => void;
}

export interface CutoverResult {
  ready: boolean;
  report: VerifyReport;
  /** The line the user changes in the application's configuration. */
  databaseUrlLine: string;
  fenceMs: number;
}

/**
 * Cutover (DESIGN contract 8): wait for the lag to catch up, fence writes on SQLite, drain to zero lag, create and
 * validate foreign keys and unique indexes, move identities, verify. READY keeps the
 * fence and prints the line to change; anything else lifts the fence and says why. The
 * extractor and loader must be following while this runs.
 */
export async function runCutover(p: CutoverParams): Promise<CutoverResult> {
  const db = openSqlite(p.sqlitePath);
  const pg = await connectPostgres(p.databaseUrl, 'liteshift-cutover');
  const kafka = createKafka({ brokers: p.kafkaBrokers, clientId: 'liteshift-cutover', log: p.log });
  const admin = await connectAdmin(kafka, p.kafkaBrokers);
  let copy: ReadableCopy | null = null;
  try {
    copy = await ReadableCopy.attach(db, p.log);
    const model = readSchema(db, { ...mappingOptions(p), profile: false });
    const status = () => pipelineStatus(db, pg, admin, model, p.topicPrefix);
    const lags = async (): Promise<Record<string, number>> => {
      const s = await status();
      return { 'extractor lag': s.extractor.lag, 'loader lag': s.loaderLag };
    };
    if (!(await status()).extractor.captured) {
      throw new LiteshiftError('NOT_READY', 'change capture is not installed in this SQLite file', {
        hint: 'run `liteshift extract --follow` and `liteshift load --follow` first, and cut over once they have caught up',
      });
    }
    // A fence with nobody to drain behind it would only stop the application: both
    // services must be alive first.
    p.onPhase?.('checking that the extractor and the loader are running');
    await requireRunning(db, kafka, admin, p.topicPrefix, 'SQLite was not fenced');
    // While the application writes, lag never sits at exactly zero: catching up to a
    // small lag is enough to fence; the drain after the fence then reaches zero quickly,
    // which keeps the window in which writes are refused short.
    p.onPhase?.('waiting for the lag to catch up');
    const caughtUp = await waitForLag(lags, CATCH_UP_LAG, Math.min(p.timeoutMs, CATCH_UP_WAIT_MS), p.log);
    if (!caughtUp.ok) {
      throw new LiteshiftError('PIPELINE_BEHIND', `the pipeline did not catch up within ${Math.round(Math.min(p.timeoutMs, CATCH_UP_WAIT_MS) / 1000)} s (${caughtUp.lag}): SQLite was not fenced`, {
        hint: 'cut over once `liteshift status` shows the extractor and loader lag near zero',
      });
    }

    p.onPhase?.('fencing writes on SQLite');
    const message = `liteshift: this database has moved to PostgreSQL at ${describePostgresUrl(p.databaseUrl)}; writes are refused (cutover)`;
    installFence(db, model.tables, message);
    const fenced = Date.now();
    const unguard = liftFenceOnSignal(db);
    // What cutover created holds only from the switch on: streaming resumes without it.
    let constrained: TableModel[] = [];
    const resumeStreaming = async (): Promise<void> => {
      removeFence(db);
      if (constrained.length > 0) await relaxForStreaming(pg, p.targetSchema, constrained, p.log);
    };
    const underFence = { signature: schemaSignature(db), at: new Date(fenced).toISOString() };
    try {
      p.onPhase?.('draining the last changes');
      const drained = await waitForLag(lags, 0, p.timeoutMs, p.log, () => requireRunning(db, kafka, admin, p.topicPrefix, 'fence lifted, SQLite takes writes again'));
      if (!drained.ok) {
        throw new LiteshiftError('NOT_READY', `the last changes were not applied within ${Math.round(p.timeoutMs / 1000)} s (${drained.lag}): fence lifted`, {
          hint: 'see `liteshift status`; run cutover again once the lag is near zero',
        });
      }

      p.onPhase?.('creating unique indexes and foreign keys, moving identities');
      const loaded = await loadedModels(pg);
      const tables = model.tables.map((t) => loaded.get(t.name) ?? t);
      constrained = tables;
      const notices = await completeConstraints(pg, p.targetSchema, tables, p.log);
      for (const notice of notices) p.log.warn({ table: notice.table }, notice.message);
      // Every parent is in now: rows parked for want of one are applied, or stay rejects.
      const parked = await retryParked(pg, { group: loaderGroup(p.topicPrefix), schema: p.targetSchema, tables: loaded, due: false });
      if (parked.applied + parked.refused > 0) p.log.info(parked, 'parked rows tried again after the drain');

      p.onPhase?.('verifying');
      const report = await verify({ db, model, pg, databaseUrl: p.databaseUrl, targetSchema: p.targetSchema, copy });
      if (schemaChanged(db, model.tables, underFence)) {
        report.verdict = 'NOT READY';
        report.reasons.push('the schema of SQLite changed during cutover (an application migration?): run cutover again once extract and load have caught up');
      }
      if (report.verdict !== 'READY') {
        await resumeStreaming();
        p.log.warn({ reasons: report.reasons }, 'not READY: fence lifted, SQLite takes writes again');
      } else if (p.fallback !== false) {
        // Before the line to change is printed: the application's first write on PostgreSQL is captured.
        p.onPhase?.('installing the live fallback (changes on PostgreSQL are captured for `liteshift rollback`)');
        await installFallbackCapture(pg, p.targetSchema, capturedTables((await exportPlan(pg, p.targetSchema)).tables));
      }
      return { ready: report.verdict === 'READY', report, databaseUrlLine: `DATABASE_URL=${maskPostgresUrl(p.databaseUrl)}`, fenceMs: Date.now() - fenced };
    } catch (error) {
      await resumeStreaming().catch((e: unknown) => p.log.warn({ err: errorMessage(e) }, 'constraints created by cutover not dropped again; `liteshift cutover --abort` drops them'));
      throw error;
    } finally {
      unguard();
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
    await pg.end().catch(() => undefined);
    copy?.close();
    db.close();
  }
}

/**
 * An application migration under the fence: a table rebuilt loses its fence with it (the
 * extractor puts it back and sends the table again), and what it wrote meanwhile may not
 * be in PostgreSQL yet.
 */
function schemaChanged(db: SqliteDatabase, tables: readonly { name: string }[], since: { signature: string; at: string }): boolean {
  const resynced = Object.values(readCapturedTables(db) ?? {}).some((t) => (t.resync?.startedAt ?? '') >= since.at);
  return resynced || schemaSignature(db) !== since.signature || missingTriggers(db, tables, 'fence').length > 0;
}

/**
 * `cutover --abort`: SQLite takes writes again, and PostgreSQL drops what cutover created
 * (unique indexes, foreign keys, adopted tables' own constraints) so that streaming resumes.
 */
export async function abortCutover(p: Pick<CutoverParams, 'sqlitePath' | 'targetSchema' | 'log'> & { databaseUrl?: string }): Promise<number> {
  const db = openSqlite(p.sqlitePath);
  try {
    const removed = fenceInstalled(db) ? removeFence(db) : 0;
    if (!p.databaseUrl) {
      p.log.warn('no --postgres-url (DATABASE_URL): what cutover created in PostgreSQL stays; give it to drop that too');
      return removed;
    }
    const pg = await connectPostgres(p.databaseUrl, 'liteshift-cutover');
    try {
      const loaded = [...(await loadedModels(pg)).values()];
      if (loaded.length > 0) await relaxForStreaming(pg, p.targetSchema, loaded, p.log);
    } finally {
      await pg.end().catch(() => undefined);
    }
    return removed;
  } finally {
    db.close();
  }
}

/** Changes (extractor) and messages (loader) still in flight when the fence may go up. */
const CATCH_UP_LAG = 1_000;
/** How long the pipeline may take to get there before cutover gives up without fencing. */
const CATCH_UP_WAIT_MS = 60_000;
/** Three of the extractor's heartbeats (every 5 s) missed: it is not running. */
const HEARTBEAT_STALE_MS = 15_000;

/** Throws, in one line, when the extractor's heartbeat is stale or the loader group has no member. */
async function requireRunning(db: SqliteDatabase, kafka: Kafka, admin: Admin, prefix: string, consequence: string): Promise<void> {
  const heartbeat = await readHeartbeat(kafka, admin, prefix);
  const age = heartbeat ? Date.now() - Date.parse(heartbeat.at) : Infinity;
  // A first snapshot under way beats in the SQLite file instead (its progress, every second).
  const status = readExtractorStatus(db);
  const snapshotting = status.phase === 'snapshot' && status.updatedAt !== undefined && Date.now() - Date.parse(status.updatedAt) <= HEARTBEAT_STALE_MS;
  if (age > HEARTBEAT_STALE_MS && !snapshotting) {
    throw new LiteshiftError(
      'PIPELINE_STOPPED',
      `the extractor is not running (${heartbeat ? `its last heartbeat on ${controlTopic(prefix)} is ${Math.round(age / 1000)} s old` : `no heartbeat on ${controlTopic(prefix)}`}): ${consequence}`,
      { hint: 'start `liteshift extract --follow` (same --topic-prefix), and cut over once `liteshift status` shows it streaming' },
    );
  }
  const group = loaderGroup(prefix);
  const [described] = (await admin.describeGroups([group])).groups;
  if (!described || described.members.length === 0) {
    throw new LiteshiftError('PIPELINE_STOPPED', `no loader is running (consumer group ${group} has no member): ${consequence}`, {
      hint: 'start `liteshift load --follow` (same --topic-prefix), and cut over once `liteshift status` shows the loader lag near zero',
    });
  }
}

/**
 * Any way this process is told to stop while SQLite is fenced (Ctrl-C, SIGTERM, the
 * terminal closed) lifts the fence first: the fence is a promise to the application.
 */
function liftFenceOnSignal(db: SqliteDatabase): () => void {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const lift = (signal: NodeJS.Signals): void => {
    const removed = removeFence(db);
    printError(`liteshift cutover: interrupted (${signal}): ${removed > 0 ? 'fence lifted, SQLite takes writes again' : 'no fence was up'}; nothing was cut over`);
    process.exit(128 + (osConstants.signals[signal] ?? 0));
  };
  for (const signal of signals) process.once(signal, lift);
  return () => {
    for (const signal of signals) process.off(signal, lift);
  };
}

