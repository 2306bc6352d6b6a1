import {
  connectAdmin,
  connectPostgres,
  createKafka,
  errorMessage,
  loaderGroup,
  openSqlite,
  readOffsets,
  readSchema,
  sleep,
  type Admin,
  type Logger,
  type PgClient,
  type SchemaModel,
  type SqliteDatabase,
} from '@liteshift/shared';
import type { VerifyReport } from '../report.js';
import { captureStatus, pipelineStatus, rejectTotal } from '../status.js';
import { History } from './history.js';
import { buildState, type PipelineReading, type StatusPageState } from './state.js';

export interface StatusBoardOptions {
  sqlitePath: string;
  databaseUrl: string;
  /** Without brokers the page has no loader lag and no dead letters. */
  kafkaBrokers?: string[];
  topicPrefix: string;
  /** PostgreSQL schema of the target tables (where a rollback fence would be); public by default. */
  targetSchema?: string;
  /** Seconds between verifications, shown on the page. */
  intervalSeconds: number;
  log: Logger;
  /** How often the pipeline is read (default 2 s). */
  sampleMs?: number;
  /** How much history the chart keeps (default 30 minutes). */
  windowMs?: number;
}

const DEFAULT_SAMPLE_MS = 2_000;
const DEFAULT_WINDOW_MS = 30 * 60_000;

/**
 * The state behind the status page: reads the pipeline every few seconds on connections
 * of its own (a reading costs a few offset queries; verification, the expensive part,
 * runs elsewhere and hands its verdicts in), and keeps a bounded history for the chart.
 */
export class StatusBoard {
  private readonly sampleMs: number;
  private readonly history: History;
  private readonly kafka: ReturnType<typeof createKafka> | null;
  private db: SqliteDatabase | null = null;
  private model: { version: number; model: SchemaModel } | null = null;
  private pg: PgClient | null = null;
  private admin: Admin | null = null;
  private reading: PipelineReading | null = null;
  private readAt: Date | null = null;
  private readError: string | null = null;
  private applied: { at: number; total: bigint } | null = null;
  private report: VerifyReport | null = null;
  private verifyError: string | null = null;
  private readonly stop = new AbortController();
  private sampling: Promise<void> | null = null;

  constructor(private readonly options: StatusBoardOptions) {
    this.sampleMs = options.sampleMs ?? DEFAULT_SAMPLE_MS;
    const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.history = new History(windowMs, Math.ceil(windowMs / this.sampleMs) + 1);
    this.kafka = options.kafkaBrokers?.length ? createKafka({ brokers: options.kafkaBrokers, clientId: 'liteshift-status', log: options.log }) : null;
  }

  /** Starts reading the pipeline every sample period, until close(); a failed reading is kept as the page's error. */
  start(): void {
    if (this.sampling) return;
    const signal = this.stop.signal;
    this.sampling = (async () => {
      while (!signal.aborted) {
        await this.sample();
        await sleep(this.sampleMs, signal);
      }
    })();
  }

  recordVerdict(report: VerifyReport): void {
    this.report = report;
    this.verifyError = null;
  }

  recordVerifyFailure(error: unknown): void {
    this.verifyError = errorMessage(error);
  }

  /** The page's JSON; `since` (epoch ms) limits the history to newer samples. */
  state(since?: number): StatusPageState {
    return buildState({
      reading: this.reading,
      readAt: this.readAt,
      readError: this.readError,
      kafka: this.kafka !== null,
      report: this.report,
      verifyError: this.verifyError,
      intervalSeconds: this.options.intervalSeconds,
      history: this.history.samples(since),
      historyWindowSeconds: this.history.windowMs / 1000,
    });
  }

  /** Stops the readings (after the one in hand) and closes the board's connections. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.sampling;
    await this.disconnect();
    this.db?.close();
    this.db = null;
  }

  private async sample(): Promise<void> {
    try {
      const { reading, appliedTotal } = await this.read();
      const now = Date.now();
      const previous = this.applied;
      this.applied = { at: now, total: appliedTotal };
      this.reading = reading;
      this.readAt = new Date(now);
      this.readError = null;
      this.history.push({
        at: now,
        // A loader that restarted from scratch (offsets dropped) moves backwards: no rate then.
        appliedPerSecond: previous && appliedTotal >= previous.total ? Number(appliedTotal - previous.total) / ((now - previous.at) / 1000) : null,
        extractorLag: reading.capture.extractor.captured ? reading.capture.extractor.lag : null,
        loaderLag: reading.loaderLag ? [...reading.loaderLag.values()].reduce((a, b) => a + b, 0) : null,
      });
    } catch (error) {
      const message = errorMessage(error);
      if (message !== this.readError) this.options.log.warn({ err: message }, 'status page: reading the pipeline failed; trying again');
      this.readError = message;
      // Reconnect at the next sample: the server may have restarted.
      await this.disconnect();
    }
  }

  private async read(): Promise<{ reading: PipelineReading; appliedTotal: bigint }> {
    const { topicPrefix } = this.options;
    this.db ??= openSqlite(this.options.sqlitePath, { readonly: true });
    const model = this.currentModel(this.db);
    this.pg ??= await connectPostgres(this.options.databaseUrl, 'liteshift-status');
    if (this.kafka && this.options.kafkaBrokers) this.admin ??= await connectAdmin(this.kafka, this.options.kafkaBrokers);
    const appliedTotal = [...(await readOffsets(this.pg, loaderGroup(topicPrefix))).values()].reduce((a, b) => a + b, 0n);
    if (!this.admin) {
      return { reading: { capture: captureStatus(this.db, model, topicPrefix), loaderLag: null, rejects: await rejectTotal(this.pg), deadLettered: null }, appliedTotal };
    }
    const status = await pipelineStatus(this.db, this.pg, this.admin, model, topicPrefix, this.options.targetSchema);
    return {
      reading: {
        capture: status,
        loaderLag: new Map(status.tables.map((t) => [t.table, t.loaderLag])),
        rejects: status.rejects,
        deadLettered: status.deadLettered,
        ...(status.fallback ? { fallback: status.fallback } : {}),
      },
      appliedTotal,
    };
  }

  /** The schema, read again only when SQLite's schema version moves (a table or column added while following). */
  private currentModel(db: SqliteDatabase): SchemaModel {
    const version = Number(db.pragma('schema_version', { simple: true }));
    if (this.model?.version !== version) this.model = { version, model: readSchema(db, { profile: false }) };
    return this.model.model;
  }

  private async disconnect(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    await this.pg?.end().catch(() => undefined);
    this.admin = null;
    this.pg = null;
  }
}
