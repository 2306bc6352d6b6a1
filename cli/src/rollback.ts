import { constants as osConstants } from 'node:os';
import {
  LiteshiftError,
  META_TABLES,
  ReadableCopy,
  connectAdmin,
  connectPostgres,
  createKafka,
  fallbackLag,
  fallbackInstalled,
  installPgFence,
  mappingOptions,
  openSqlite,
  pgColumnName,
  pgTableName,
  readSchema,
  removeFallback,
  removeFence,
  removePgFence,
  type Admin,
  type Logger,
  type PgClient,
  type SqliteDatabase,
  type TableModel,
} from '@liteshift/shared';
import { verify, type VerifyReport } from '@liteshift/verifier';
import { exportPlan, type ExportTable } from '@liteshift/reverse';
import { printError } from './output.js';
import { waitForLag } from './wait-for-lag.js';
import type { CutoverParams } from './cutover.js';

/**
 * `liteshift rollback`: the way back after the switch, with the forward cutover's
 * guarantees mirrored. The fallback service must be following; rollback waits for zero
 * reverse lag, fences PostgreSQL (a trigger refusing writes with a message naming
 * SQLite), drains, verifies SQLite equals PostgreSQL, then lifts SQLite's fence and
 * removes PostgreSQL's capture and fence. Anything else — NOT READY, a drain that does
 * not end, Ctrl-C — lifts PostgreSQL's fence and changes nothing else.
 */
/** What cutover needs, the other way round. */
export type RollbackParams = Omit<CutoverParams, 'fallback'>;

export interface RollbackResult {
  ready: boolean;
  report: VerifyReport;
  fenceMs: number;
}

/** Changes still on their way back when PostgreSQL may be fenced. */
const CATCH_UP_LAG = 1_000;
/** The fallback service beats every poll (50 ms when idle); three missed seconds mean it is not running. */
const HEARTBEAT_STALE_MS = 15_000;

export async function runRollback(p: RollbackParams): Promise<RollbackResult> {
  const db = openSqlite(p.sqlitePath);
  const pg = await connectPostgres(p.databaseUrl, 'liteshift-rollback');
  const kafka = createKafka({ brokers: p.kafkaBrokers, clientId: 'liteshift-rollback', log: p.log });
  let admin: Admin | null = null;
  let copy: ReadableCopy | null = null;
  try {
    if (!(await fallbackInstalled(pg))) {
      throw new LiteshiftError('NOT_READY', 'no live fallback is installed on PostgreSQL: nothing to roll back to', {
        hint: 'cutover installs it when it ends READY (unless --no-fallback); without it, `liteshift export-sqlite` copies PostgreSQL into the file once',
      });
    }
    admin = await connectAdmin(kafka, p.kafkaBrokers);
    await requireFallbackRunning(pg, 'PostgreSQL was not fenced');
    const lag = async (): Promise<Record<string, number>> => {
      const l = await fallbackLag(pg, db, admin!);
      return { 'change(s) not sent back': l.changelog, 'message(s) not applied to SQLite': l.applier };
    };
    p.onPhase?.('waiting for the fallback to catch up');
    const caughtUp = await waitForLag(lag, CATCH_UP_LAG, Math.min(p.timeoutMs, 60_000), p.log);
    if (!caughtUp.ok) {
      throw new LiteshiftError('PIPELINE_BEHIND', `the fallback did not catch up (${caughtUp.lag}): PostgreSQL was not fenced`, {
        hint: 'see `liteshift status`; roll back once the fallback lag is near zero',
      });
    }
    copy = await ReadableCopy.attach(db, p.log);
    const model = readSchema(db, { ...mappingOptions(p), profile: false });
    p.onPhase?.('fencing writes on PostgreSQL');
    const message = `liteshift: this database has moved back to SQLite (${p.sqlitePath}); writes are refused (rollback)`;
    await installPgFence(pg, p.targetSchema, model.tables.map(pgTableName), message);
    const fenced = Date.now();
    const unguard = liftPgFenceOnSignal(p.databaseUrl, p.targetSchema);
    try {
      p.onPhase?.('draining the last changes back into SQLite');
      const drained = await waitForLag(lag, 0, p.timeoutMs, p.log, () => requireFallbackRunning(pg, 'PostgreSQL fence lifted, it takes writes again'));
      if (!drained.ok) {
        throw new LiteshiftError('NOT_READY', `the last changes did not reach SQLite within ${Math.round(p.timeoutMs / 1000)} s (${drained.lag}): PostgreSQL fence lifted`, {
          hint: 'see `liteshift status` and the fallback service\'s log; run rollback again once its lag is near zero',
        });
      }
      p.onPhase?.('verifying SQLite against PostgreSQL');
      const report = await verify({ db, model, pg, databaseUrl: p.databaseUrl, targetSchema: p.targetSchema, copy });
      const unsafe = schemaChangesSinceSwitch(model.tables, (await exportPlan(pg, p.targetSchema)).tables);
      if (unsafe.length > 0) {
        report.verdict = 'NOT READY';
        report.reasons.push(...unsafe);
      }
      if (report.verdict === 'READY') {
        removeFence(db);
        await removeFallback(pg, p.targetSchema);
      } else {
        await removePgFence(pg, p.targetSchema);
        p.log.warn({ reasons: report.reasons }, 'not READY: PostgreSQL fence lifted, it takes writes again');
      }
      return { ready: report.verdict === 'READY', report, fenceMs: Date.now() - fenced };
    } catch (error) {
      await removePgFence(pg, p.targetSchema).catch(() => undefined);
      throw error;
    } finally {
      unguard();
    }
  } finally {
    await admin?.disconnect().catch(() => undefined);
    await pg.end().catch(() => undefined);
    copy?.close();
    db.close();
  }
}

/** `rollback --abort`: PostgreSQL takes writes again; the fallback keeps following. */
export async function abortRollback(databaseUrl: string, targetSchema: string): Promise<number> {
  const pg = await connectPostgres(databaseUrl, 'liteshift-rollback');
  try {
    return await removePgFence(pg, targetSchema);
  } finally {
    await pg.end().catch(() => undefined);
  }
}

async function requireFallbackRunning(pg: PgClient, consequence: string): Promise<void> {
  const beat = (await pg.query<{ age: number | null }>(`SELECT extract(epoch FROM now() - heartbeat_at) * 1000 AS age FROM ${META_TABLES.fallback}`)).rows[0]?.age ?? null;
  if (beat === null || beat > HEARTBEAT_STALE_MS) {
    throw new LiteshiftError('PIPELINE_STOPPED', `the fallback service is not running (${beat === null ? 'it never ran' : `its last heartbeat is ${Math.round(beat / 1000)} s old`}): ${consequence}`, {
      hint: 'start `liteshift fallback` (same --topic-prefix, --sqlite-path and --postgres-url), and roll back once `liteshift status` shows its lag near zero',
    });
  }
}

/**
 * Schema changes made on PostgreSQL after the switch that the fallback did not bring back
 * (those before it started, it did): a table or a column SQLite lacks would lose its data.
 */
export function schemaChangesSinceSwitch(sqlite: readonly TableModel[], postgres: readonly ExportTable[]): string[] {
  const reasons: string[] = [];
  for (const t of postgres) {
    if (t.origin === 'created') {
      reasons.push(`table ${t.pgTable} was created on PostgreSQL after the switch and SQLite does not have it (copy it with \`liteshift export-sqlite\`, or drop it)`);
      continue;
    }
    const known = new Set(sqlite.find((m) => m.name === t.table.name)?.columns.map(pgColumnName) ?? []);
    const added = t.pgColumns.filter((c) => !known.has(c.name)).map((c) => c.name);
    if (added.length > 0) reasons.push(`${t.table.name}: column(s) ${added.join(', ')} added on PostgreSQL after the fallback started; SQLite does not have them and would lose their values (drop them on PostgreSQL, or stay on it)`);
  }
  return reasons;
}


/** Ctrl-C, SIGTERM or a closed terminal while PostgreSQL is fenced lift its fence first, on a connection of their own. */
function liftPgFenceOnSignal(databaseUrl: string, schema: string): () => void {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const lift = (signal: NodeJS.Signals): void => {
    void abortRollback(databaseUrl, schema)
      .then((removed) => printError(`liteshift rollback: interrupted (${signal}): ${removed > 0 ? 'PostgreSQL fence lifted, it takes writes again' : 'no fence was up'}; nothing was rolled back`))
      .catch((error: unknown) => printError(`liteshift rollback: interrupted (${signal}); lifting the PostgreSQL fence failed (${String(error)}): run \`liteshift rollback --abort\``))
      .finally(() => process.exit(128 + (osConstants.signals[signal] ?? 0)));
  };
  for (const signal of signals) process.once(signal, lift);
  return () => {
    for (const signal of signals) process.off(signal, lift);
  };
}
