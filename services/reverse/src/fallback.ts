/**
 * `liteshift fallback`: the live fallback after cutover, one service with two loops — the
 * reverse stream (PostgreSQL's changelog → `<prefix>.reverse.<table>`, reverse-stream.ts)
 * and the SQLite applier following those topics into the original file through its fence
 * (sqlite-applier.ts). The file stays fenced against the application throughout; the
 * applier writes through the fence inside its own transactions only, and deletes what its
 * writes appended to the forward changelog (no echo). Outages of PostgreSQL are waited
 * out: the stream reconnects and sends again what it had not deleted.
 */
import {
  LiteshiftError,
  META_TABLES,
  MessageProducer,
  connectAdmin,
  connectPostgres,
  createKafka,
  endOffsets,
  ensureTopics,
  errorMessage,
  fallbackInstalled,
  fallbackLag,
  pgFenceInstalled,
  type Health,
  fenceInstalled,
  openSqlite,
  pgColumnOf,
  postgresError,
  publishSchemas,
  reverseTopicPrefix,
  schemaRecord,
  schemaTopic,
  sleep,
  startAppliedOffsetsAt,
  tableTopic,
  type CapturedPgTable,
  type Logger,
  type PartitionOffsets,
  type PgClient,
  type SqliteDatabase,
} from '@liteshift/shared';
import { EventDispatcher } from '@liteshift/extractor';
import { exportPlan, type ExportTable } from './export-model.js';
import { ReverseStream } from './reverse-stream.js';
import { SqliteApplier } from './sqlite-applier.js';
import { TARGET_BUSY_TIMEOUT_MS } from './sqlite-target.js';
import type { FallbackMetrics } from './fallback-metrics.js';

export interface FallbackOptions {
  sqlitePath: string;
  databaseUrl: string;
  targetSchema: string;
  kafkaBrokers: string[];
  topicPrefix: string;
  partitions: number;
  log: Logger;
  /** Changelog entries per reverse batch. */
  batchSize?: number;
  /** Counted per batch, and lag and fences read every few seconds, when given. */
  metrics?: FallbackMetrics;
  /** Told ready once following, and not ready while PostgreSQL is unreachable. */
  health?: Health;
}

/** How often the lag and the fences are read for the metrics. */
const READ_EVERY_MS = 5_000;

/** How often an empty changelog is asked again: the fallback's latency floor. */
const POLL_MS = 50;

/** The tables cutover puts under capture: every table migrated from SQLite, by its SQLite name and PostgreSQL key. */
export function capturedTables(tables: readonly ExportTable[]): CapturedPgTable[] {
  return tables
    .filter((t) => t.origin === 'migrated')
    .map((t) => ({ name: t.table.name, pgTable: t.pgTable, pgKey: t.table.key.map((k) => t.pgColumns[t.table.columns.findIndex((c) => c.name === k)]?.name ?? pgColumnOf(t.table, k)) }));
}

export async function runFallback(o: FallbackOptions, signal: AbortSignal): Promise<void> {
  const { log } = o;
  const db = openFallbackTarget(o.sqlitePath);
  const kafka = createKafka({ brokers: o.kafkaBrokers, clientId: 'liteshift-fallback', log });
  let pg: PgClient | null = null;
  let producer: MessageProducer | null = null;
  const admin = await connectAdmin(kafka, o.kafkaBrokers);
  const applier = new SqliteApplier({ db, sqlitePath: o.sqlitePath, brokers: o.kafkaBrokers, topicPrefix: o.topicPrefix, log, throughFence: true });
  try {
    pg = await connect(o);
    if (!(await fallbackInstalled(pg))) {
      throw new LiteshiftError('NOT_READY', 'no live fallback is installed on PostgreSQL: cutover installs it when it ends READY (unless --no-fallback), and rollback removes it', {
        hint: 'run `liteshift cutover` first; after a completed rollback there is nothing to follow',
      });
    }
    const plan = await exportPlan(pg, o.targetSchema);
    const tables = plan.tables.filter((t) => t.origin === 'migrated');
    const prefix = reverseTopicPrefix(o.topicPrefix);
    const topics = tables.map((t) => tableTopic(prefix, t.table.name));
    await ensureTopics(admin, [{ topic: schemaTopic(prefix), partitions: 1, compacted: true }, ...topics.map((topic) => ({ topic, partitions: o.partitions, compacted: true }))]);
    producer = new MessageProducer({ brokers: o.kafkaBrokers, clientId: 'liteshift-fallback', log });
    await publishSchemas(producer, prefix, tables.map((t, i) => schemaRecord(t.table, topics[i]!)));
    await positionOnce(pg, db, admin, topics, log);
    const dispatcher = new EventDispatcher(producer, prefix);
    for (const t of tables) dispatcher.register(t.table);
    await applier.connect();
    await applier.refreshSchemas();
    log.info({ tables: tables.length, sqlite: o.sqlitePath }, 'live fallback following PostgreSQL into SQLite');
    const byName = new Map(tables.map((t) => [t.table.name, t]));
    o.health?.ready('following PostgreSQL into SQLite');
    let readAt = 0;
    const stream = async (): Promise<void> => {
      while (!signal.aborted) {
        try {
          if (o.metrics && Date.now() - readAt > READ_EVERY_MS) {
            readAt = Date.now();
            o.metrics.read(await fallbackLag(pg!, db, admin), { sqlite: fenceInstalled(db), postgresql: await pgFenceInstalled(pg!, o.targetSchema) });
          }
          const batch = await new ReverseStream(pg!, o.targetSchema, dispatcher, byName).pollOnce(o.batchSize ?? 5_000);
          for (const r of batch.refused.examples) log.error({ ...r }, 'a row PostgreSQL holds cannot be written into SQLite as its column declares: not sent back (rollback will say NOT READY)');
          if (batch.entries > 0) {
            o.metrics?.batch(batch.events, batch.oldest ? Date.now() - batch.oldest.getTime() : null);
            log.debug({ entries: batch.entries, events: batch.events }, 'changes sent back');
          } else await sleep(POLL_MS, signal);
        } catch (error) {
          const failure = postgresError(error, o.databaseUrl, 'read the changelog');
          if (!failure.retriable || signal.aborted) throw failure;
          log.warn({ err: errorMessage(failure) }, 'PostgreSQL is unreachable; the fallback waits for it');
          o.health?.notReady(`PostgreSQL unreachable: ${errorMessage(failure)}`);
          await pg?.end().catch(() => undefined);
          pg = await reconnect(o, signal);
          o.health?.ready('following PostgreSQL into SQLite');
        }
      }
    };
    await Promise.all([stream(), applier.follow(signal)]);
  } finally {
    await applier.close();
    await producer?.close();
    await admin.disconnect().catch(() => undefined);
    await pg?.end().catch(() => undefined);
    db.close();
  }
}

/** The SQLite file after cutover: fenced (the fallback writes through the fence), foreign keys off as every applier writes. */
export function openFallbackTarget(path: string): SqliteDatabase {
  const db = openSqlite(path, { busyTimeoutMs: TARGET_BUSY_TIMEOUT_MS });
  if (!fenceInstalled(db)) {
    db.close();
    throw new LiteshiftError('NOT_READY', `${path} is not fenced: the live fallback follows PostgreSQL only after a READY cutover, while the application writes to PostgreSQL`, {
      hint: 'run `liteshift cutover` first (or `liteshift export-sqlite` to copy PostgreSQL into a file once)',
    });
  }
  db.pragma('foreign_keys = OFF');
  return db;
}

/**
 * The file's position on the reverse topics starts at their end when the fallback first
 * runs: what an earlier export left there is not the fallback's. Done once (recorded on
 * PostgreSQL), before the first change is sent.
 */
async function positionOnce(pg: PgClient, db: SqliteDatabase, admin: Parameters<typeof endOffsets>[0], topics: readonly string[], log: Logger): Promise<void> {
  const state = (await pg.query<{ positioned: boolean }>(`SELECT positioned FROM ${META_TABLES.fallback}`)).rows[0];
  if (state?.positioned) return;
  const start: Record<string, PartitionOffsets> = {};
  for (const topic of topics) start[topic] = await endOffsets(admin, topic);
  startAppliedOffsetsAt(db, start);
  await pg.query(`UPDATE ${META_TABLES.fallback} SET positioned = true`);
  log.info({ topics: topics.length }, 'SQLite file positioned at the end of the reverse topics');
}

function connect(o: FallbackOptions): Promise<PgClient> {
  return connectPostgres(o.databaseUrl, 'liteshift-fallback').catch((error: unknown) => {
    throw postgresError(error, o.databaseUrl);
  });
}

async function reconnect(o: FallbackOptions, signal: AbortSignal): Promise<PgClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(o);
    } catch (error) {
      if (!(error as LiteshiftError).retriable || signal.aborted) throw error;
      await sleep(Math.min(5_000, 250 * attempt), signal);
    }
  }
}
