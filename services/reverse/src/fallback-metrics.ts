import { Counter, Gauge, Histogram, METRIC_PREFIX, type Registry } from '@liteshift/shared';

/** Seconds from a change on PostgreSQL to its event on the reverse topic. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The live fallback's Prometheus metrics: its direction (always PostgreSQL → SQLite while
 * it runs), its lag in both halves, which side is fenced, and the changes sent back.
 */
export class FallbackMetrics {
  private readonly lag: Gauge<'part'>;
  private readonly fenced: Gauge<'side'>;
  private readonly sent: Counter;
  private readonly latency: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    new Gauge({ name: `${METRIC_PREFIX}fallback_direction`, help: 'The live fallback runs: changes flow PostgreSQL → SQLite', labelNames: ['from', 'to'], registers }).set({ from: 'postgresql', to: 'sqlite' }, 1);
    this.lag = new Gauge({ name: `${METRIC_PREFIX}fallback_lag`, help: 'Changes captured on PostgreSQL not yet sent back (changelog), and reverse messages not yet in the SQLite file (applier)', labelNames: ['part'], registers });
    this.fenced = new Gauge({ name: `${METRIC_PREFIX}fallback_fenced`, help: '1 while that side refuses the application\'s writes', labelNames: ['side'], registers });
    this.sent = new Counter({ name: `${METRIC_PREFIX}fallback_events_sent_total`, help: 'Change events sent back to SQLite (one per key and batch)', registers });
    this.latency = new Histogram({ name: `${METRIC_PREFIX}fallback_latency_seconds`, help: 'From the oldest change of a batch on PostgreSQL to its events on Kafka', buckets: LATENCY_BUCKETS, registers });
  }

  batch(events: number, latencyMs: number | null): void {
    this.sent.inc(events);
    if (latencyMs !== null) this.latency.observe(latencyMs / 1000);
  }

  read(lag: { changelog: number; applier: number }, fenced: { sqlite: boolean; postgresql: boolean }): void {
    this.lag.set({ part: 'changelog' }, lag.changelog);
    this.lag.set({ part: 'applier' }, lag.applier);
    this.fenced.set({ side: 'sqlite' }, Number(fenced.sqlite));
    this.fenced.set({ side: 'postgresql' }, Number(fenced.postgresql));
  }
}
