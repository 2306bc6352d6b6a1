import {
  LiteshiftError,
  connectAdmin,
  connectPostgres,
  createKafka,
  describePostgresUrl,
  fenceInstalled,
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
  type ExcludedColumn,
  sleep,
  type Logger,
  type SqliteDatabase,
} from '@liteshift/shared';
import { finalizeTables } from '@liteshift/loader';
import { loadedModels, pipelineStatus, verify, type PipelineStatus, type VerifyReport } from '@liteshift/verifier';

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
    if (!(await status()).extractor.captured) {
      throw new LiteshiftError('NOT_READY', 'change capture is not installed in this SQLite file', {
        hint: 'run `liteshift extract --follow` and `liteshift load --follow` first, and cut over once they have caught up',
      });
    }
    // While the application writes, lag never sits at exactly zero: catching up to a
    // small lag is enough to fence; the drain after the fence then reaches zero quickly,
    // which keeps the window in which writes are refused short.
    p.onPhase?.('waiting for the lag to catch up');
    await waitForLag(status, CATCH_UP_LAG, p.timeoutMs, p.log);

    p.onPhase?.('fencing writes on SQLite');
    const message = `liteshift: this database has moved to PostgreSQL at ${describePostgresUrl(p.databaseUrl)}; writes are refused (cutover)`;
    installFence(db, model.tables, message);
    const fenced = Date.now();
    const underFence = { signature: schemaSignature(db), at: new Date(fenced).toISOString() };
    try {
      p.onPhase?.('draining the last changes');
      await waitForLag(status, 0, p.timeoutMs, p.log);

      p.onPhase?.('creating unique indexes and foreign keys, moving identities');
      const loaded = await loadedModels(pg);
      const tables = model.tables.map((t) => loaded.get(t.name) ?? t);
      const notices = await finalizeTables(pg, p.targetSchema, tables, p.log, 'complete');
      for (const notice of notices) p.log.warn({ table: notice.table }, notice.message);

      p.onPhase?.('verifying');
      const report = await verify({ db, model, pg, databaseUrl: p.databaseUrl, targetSchema: p.targetSchema, copy });
      if (schemaChanged(db, model.tables, underFence)) {
        report.verdict = 'NOT READY';
        report.reasons.push('the schema of SQLite changed during cutover (an application migration?): run cutover again once extract and load have caught up');
      }
      if (report.verdict !== 'READY') {
        removeFence(db);
        p.log.warn({ reasons: report.reasons }, 'not READY: fence lifted, SQLite takes writes again');
      }
      return { ready: report.verdict === 'READY', report, databaseUrlLine: `DATABASE_URL=${maskPostgresUrl(p.databaseUrl)}`, fenceMs: Date.now() - fenced };
    } catch (error) {
      removeFence(db);
      throw error;
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

/** `cutover --abort`: SQLite takes writes again. */
export function abortCutover(sqlitePath: string): number {
  const db = openSqlite(sqlitePath);
  try {
    return fenceInstalled(db) ? removeFence(db) : 0;
  } finally {
    db.close();
  }
}

/** Changes (extractor) and messages (loader) still in flight when the fence may go up. */
const CATCH_UP_LAG = 1_000;

async function waitForLag(status: () => Promise<PipelineStatus>, atMost: number, timeoutMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  for (;;) {
    const s = await status();
    if (s.extractor.lag <= atMost && s.loaderLag <= atMost) return;
    if (Date.now() > deadline) {
      throw new LiteshiftError(
        'NOT_READY',
        `lag did not reach ${atMost} within ${Math.round(timeoutMs / 1000)} s (extractor ${s.extractor.lag}, loader ${s.loaderLag})`,
        { hint: 'are `liteshift extract --follow` and `liteshift load --follow` running? see `liteshift status`' },
      );
    }
    if (Date.now() - last > 5_000) {
      last = Date.now();
      log.info({ extractorLag: s.extractor.lag, loaderLag: s.loaderLag, target: atMost }, 'waiting for the lag to drop');
    }
    await sleep(250);
  }
}
