import { Counter, Gauge, Histogram, METRIC_PREFIX, errorMessage, type Logger, type Registry } from '@liteshift/shared';
import type { LoaderEvents } from './events.js';

/** Seconds one batch takes in PostgreSQL: COPY, upsert, deletes and its offsets, committed. */
const BATCH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** A scrape answers with the last lag known rather than wait on a broker that is down. */
const LAG_TIMEOUT_MS = 2_000;

/**
 * The loader's Prometheus metrics, counted once per committed batch (never per row).
 * Lag (end offsets − applied) is read from the broker at scrape.
 */
export class LoaderMetrics {
  private readonly upserted: Counter<'table'>;
  private readonly deleted: Counter<'table'>;
  private readonly rejected: Counter<'table'>;
  private readonly deadLettered: Counter<'table'>;
  private readonly batchSeconds: Histogram<'table'>;
  private lagSource: (() => Promise<Map<string, number>>) | null = null;

  constructor(registry: Registry, log: Logger) {
    const registers = [registry];
    const counter = (name: string, help: string): Counter<'table'> => new Counter({ name: `${METRIC_PREFIX}loader_${name}`, help, labelNames: ['table'], registers });
    this.upserted = counter('rows_upserted_total', 'Rows inserted or updated in PostgreSQL (after collapsing each batch per key)');
    this.deleted = counter('rows_deleted_total', 'Rows deleted in PostgreSQL');
    this.rejected = counter('rows_rejected_total', 'Rows PostgreSQL refused, written to liteshift.rejects');
    this.deadLettered = counter('messages_dead_lettered_total', 'Messages that could not be decoded, sent to the dead-letter topic');
    this.batchSeconds = new Histogram({ name: `${METRIC_PREFIX}loader_batch_seconds`, help: 'Time to apply and commit one batch', labelNames: ['table'], buckets: BATCH_BUCKETS, registers });
    const lag: Gauge<'table'> = new Gauge({
      name: `${METRIC_PREFIX}loader_lag`,
      help: 'Messages on the table topic not yet applied to PostgreSQL (end offsets − applied offsets)',
      labelNames: ['table'],
      registers,
      collect: async () => {
        if (!this.lagSource) return;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer from Kafka within ${LAG_TIMEOUT_MS} ms`)), LAG_TIMEOUT_MS);
        });
        try {
          for (const [table, messages] of await Promise.race([this.lagSource(), timeout])) lag.set({ table }, messages);
        } catch (error) {
          // A scrape never fails the service: the last values stay.
          log.debug({ err: errorMessage(error) }, 'loader lag not read');
        } finally {
          clearTimeout(timer);
        }
      },
    });
  }

  /** Where the per-table lag comes from (the loader's applied offsets against the topics' ends). */
  readLagFrom(source: () => Promise<Map<string, number>>): void {
    this.lagSource = source;
  }

  /** Counts every batch a loader applies. */
  subscribe(events: LoaderEvents): void {
    events.on('batch-applied', ({ table, stats, deadLettered, ms }) => {
      if (stats.upserted > 0) this.upserted.inc({ table }, stats.upserted);
      if (stats.deleted > 0) this.deleted.inc({ table }, stats.deleted);
      if (stats.rejected > 0) this.rejected.inc({ table }, stats.rejected);
      if (deadLettered > 0) this.deadLettered.inc({ table }, deadLettered);
      this.batchSeconds.observe({ table }, ms / 1000);
    });
  }
}
