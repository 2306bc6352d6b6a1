import {
  Health,
  sessionLimits,
  type ApplyLimitSettings,
  ReadableCopy,
  createLogger,
  createMetricsRegistry,
  errorMessage,
  isKafkaOutage,
  mappingOptions,
  openSqlite,
  postgresError,
  readSchema,
  schemaVersion,
  sleep,
  type Logger,
  type Settings,
} from '@liteshift/shared';
import { Extractor, ExtractorMetrics, type ExtractorOptions } from '@liteshift/extractor';
import { Loader, LoaderMetrics } from '@liteshift/loader';
import { keepHeapNearLiveData } from '../heap.js';
import { formatCount, print } from '../output.js';
import { Progress, wantsBars } from '../progress.js';
import type { Logging } from '../settings-options.js';
import { serveHttp, type HttpSettings } from '../http.js';

/** Runs `work`, and on SIGTERM/SIGINT lets it finish its batch and close before exiting. */
export async function untilSignal<T>(log: Logger, work: (signal: AbortSignal) => Promise<T>, close: () => Promise<void>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'stopping after the batch in hand');
    controller.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await close();
  }
}

export async function extractCommand(
  settings: Pick<Settings, 'sqlitePath' | 'kafkaBrokers' | 'topicPrefix' | 'partitions' | 'chunkRows'> &
    Partial<Pick<Settings, 'onMisfit' | 'cast' | 'foldIdentifiers' | 'rename' | 'timestamps' | 'excludeTable' | 'excludeColumn'>> &
    HttpSettings,
  flags: { follow: boolean },
  stderrLog: Logger,
  logging: Logging,
): Promise<void> {
  keepHeapNearLiveData();
  // Snapshot progress: bars on a terminal, with every log line above them; else log lines.
  const bars = wantsBars(process.stderr, logging.format, false);
  const progress = new Progress({ log: stderrLog, bars, applied: false });
  const log = bars ? createLogger({ service: 'extractor', level: logging.level, format: logging.format, write: progress.print }) : stderrLog;
  const registry = createMetricsRegistry('extractor');
  // Up before the schema is read (a profile of a large file takes a while): live, not ready.
  const health = new Health('reading the SQLite schema');
  const server = await serveHttp(settings, log, registry, () => health.state);
  try {
    await extract(settings, flags, log, { metrics: new ExtractorMetrics(registry, log), health }, progress);
  } finally {
    await server?.close();
  }
}

async function extract(
  settings: Parameters<typeof extractCommand>[0],
  flags: Parameters<typeof extractCommand>[1],
  log: Logger,
  operating: Pick<ExtractorOptions, 'metrics' | 'health'>,
  progress: Progress,
): Promise<void> {
  // Following writes capture triggers and the extractor's position into the file.
  const db = openSqlite(settings.sqlitePath, { readonly: !flags.follow });
  const copy = await ReadableCopy.attach(db, log);
  // Before the schema is read: DDL landing while it is read is picked up once following.
  const version = schemaVersion(db);
  const model = readSchema(db, mappingOptions(settings));
  progress.expect(model.tables.map((t) => ({ name: t.name, total: t.rowCount ?? 0 })));
  const extractor = new Extractor({ ...settings, db, model, schemaVersion: version, brokers: settings.kafkaBrokers, log, ...operating, onProgress: progress.sent.bind(progress), copy });
  await untilSignal(
    log,
    async (signal) => {
      await extractor.connect();
      if (flags.follow) {
        await extractor.follow(signal);
        return;
      }
      await extractor.prepareTopics();
      const result = await extractor.snapshot();
      const total = Object.values(result.rowsPerTable).reduce((a, b) => a + b, 0);
      print(`snapshot sent: ${model.tables.length} tables, ${formatCount(total)} rows`);
    },
    async () => {
      progress.stop();
      await extractor.close();
      copy?.close();
      db.close();
    },
  );
}

/**
 * The loader as a service: waits for the extractor's schemas, applies everything up to the
 * snapshot marker's end offsets, then creates indexes, constraints and identities.
 */
export async function loadCommand(
  settings: Pick<Settings, 'databaseUrl' | 'kafkaBrokers' | 'topicPrefix' | 'targetSchema'> & ApplyLimitSettings & HttpSettings,
  flags: { follow: boolean },
  log: Logger,
): Promise<void> {
  keepHeapNearLiveData();
  const registry = createMetricsRegistry('loader');
  const loader = new Loader({ ...settings, brokers: settings.kafkaBrokers, log, metrics: new LoaderMetrics(registry, log), limits: sessionLimits(settings) });
  const server = await serveHttp(settings, log, registry, () => loader.health());
  try {
    await load(loader, settings, flags, log);
  } finally {
    await server?.close();
  }
}

async function load(loader: Loader, settings: Parameters<typeof loadCommand>[0], flags: { follow: boolean }, log: Logger): Promise<void> {
  await untilSignal(
    log,
    async (signal) => {
      await loader.connect();
      if (flags.follow) {
        await waitForSchemas(loader, settings, signal, log);
        await loader.follow(signal);
        return;
      }
      let marker = await loader.snapshotMarker();
      let waited = false;
      while (!marker?.completedAt && !signal.aborted) {
        if (!waited) log.info('waiting for the extractor to complete a snapshot');
        waited = true;
        await sleep(2_000, signal);
        marker = await loader.snapshotMarker();
      }
      if (!marker || signal.aborted) return;
      if (!(await loader.runUntil(marker.endOffsets, signal))) return;
      await loader.finalize();
      print(`snapshot applied: ${formatCount(loader.totals.upserted)} rows upserted, ${loader.totals.rejected} rejected, ${loader.totals.deadLettered} dead-lettered`);
    },
    () => loader.close(),
  );
}

/**
 * A loader started before the extractor waits for the first writer schemas, and rides out
 * PostgreSQL or Kafka being down meanwhile, as `follow` does later.
 */
async function waitForSchemas(loader: Loader, settings: Pick<Settings, 'databaseUrl'>, signal: AbortSignal, log: Logger): Promise<void> {
  let told = false;
  while (!signal.aborted) {
    try {
      if ((await loader.refreshSchemas()).length > 0) return;
      if (!told) log.info('waiting for the extractor to publish its schemas');
      told = true;
    } catch (error) {
      const outage = isKafkaOutage(error) || postgresError(error, settings.databaseUrl, 'read the target tables').retriable;
      if (!outage) throw error;
      log.warn({ err: errorMessage(postgresError(error, settings.databaseUrl, 'read the target tables')) }, 'cannot read the writer schemas yet; retrying');
    }
    await sleep(2_000, signal);
  }
}
