import { Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric name liteshift exports starts with this. */
export const METRIC_PREFIX = 'liteshift_';

/**
 * The one registry of a process, with Node's own metrics (memory, CPU, event-loop lag)
 * under the same prefix. Services register their metrics on it.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
