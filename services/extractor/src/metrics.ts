import { Counter, Gauge, Histogram, METRIC_PREFIX, errorMessage, type Logger, type Registry } from '@liteshift/shared';

/** Seconds Kafka takes to acknowledge one batch of change events. */
const SEND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The extractor's Prometheus metrics, counted per batch where the work happens (the
 * dispatcher and the snapshot), never per row. Lag is read from the changelog at scrape.
 */
export class ExtractorMetrics {
  private readonly rowsRead: Counter<'table'>;
  private readonly messages: Counter<'table'>;
  private readonly sendSeconds: Histogram<'table'>;
  private readonly snapshot: Gauge<'table'>;
  private lagSource: (() => Map<string, number>) | null = null;

  constructor(registry: Registry, log: Logger) {
    const registers = [registry];
    this.rowsRead = new Counter({ name: `${METRIC_PREFIX}extractor_rows_read_total`, help: 'Rows read from SQLite (snapshot reads and re-reads of changed rows)', labelNames: ['table'], registers });
    this.messages = new Counter({ name: `${METRIC_PREFIX}extractor_messages_produced_total`, help: 'Messages acknowledged by Kafka (change events and tombstones)', labelNames: ['table'], registers });
    this.sendSeconds = new Histogram({ name: `${METRIC_PREFIX}extractor_send_seconds`, help: 'Time Kafka took to acknowledge one batch', labelNames: ['table'], buckets: SEND_BUCKETS, registers });
    this.snapshot = new Gauge({ name: `${METRIC_PREFIX}extractor_snapshot_progress_ratio`, help: 'Share of a table sent by the snapshot under way or last run (0 to 1)', labelNames: ['table'], registers });
    const lag: Gauge<'table'> = new Gauge({
      name: `${METRIC_PREFIX}extractor_lag`,
      help: 'Changes committed in SQLite and not yet acknowledged by Kafka (changelog head − produced position)',
      labelNames: ['table'],
      registers,
      collect: () => {
        if (!this.lagSource) return;
        try {
          for (const [table, changes] of this.lagSource()) lag.set({ table }, changes);
        } catch (error) {
          // A scrape never fails the service: the last values stay.
          log.debug({ err: errorMessage(error) }, 'extractor lag not read');
        }
      },
    });
  }

  /** Where the per-table lag comes from (the following extractor's changelog). */
  readLagFrom(source: () => Map<string, number>): void {
    this.lagSource = source;
  }

  read(table: string, rows: number): void {
    if (rows > 0) this.rowsRead.inc({ table }, rows);
  }

  produced(table: string, messages: number, seconds: number): void {
    this.messages.inc({ table }, messages);
    this.sendSeconds.observe({ table }, seconds);
  }

  snapshotProgress(table: string, done: number, total: number): void {
    this.snapshot.set({ table }, total > 0 ? Math.min(1, done / total) : 1);
  }
}
