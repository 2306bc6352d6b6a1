import { errorMessage, isKafkaOutage, mappingOptions, openSqlite, postgresError, readSchema, sleep, type Logger, type Settings } from '@liteshift/shared';
import { Extractor } from '@liteshift/extractor';
import { Loader, finalizeTables } from '@liteshift/loader';
import { formatCount, print } from '../output.js';

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
  settings: Pick<Settings, 'sqlitePath' | 'kafkaBrokers' | 'topicPrefix' | 'partitions' | 'chunkRows'> & Partial<Pick<Settings, 'onMisfit' | 'cast' | 'foldIdentifiers'>>,
  flags: { follow: boolean },
  log: Logger,
): Promise<void> {
  // Following writes capture triggers and the extractor's position into the file.
  const db = openSqlite(settings.sqlitePath, { readonly: !flags.follow });
  const model = readSchema(db, mappingOptions(settings));
  const extractor = new Extractor({ ...settings, db, model, brokers: settings.kafkaBrokers, log });
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
      await extractor.close();
      db.close();
    },
  );
}

/**
 * The loader as a service: waits for the extractor's schemas, applies everything up to the
 * snapshot marker's end offsets, then creates indexes, constraints and identities.
 */
export async function loadCommand(
  settings: Pick<Settings, 'databaseUrl' | 'kafkaBrokers' | 'topicPrefix' | 'targetSchema'>,
  flags: { follow: boolean },
  log: Logger,
): Promise<void> {
  const loader = new Loader({ ...settings, brokers: settings.kafkaBrokers, log });
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
      await loader.start();
      await Promise.race([loader.waitFor(marker.endOffsets), new Promise((resolve) => signal.addEventListener('abort', resolve))]);
      await loader.stop();
      if (signal.aborted) return;
      const client = await loader.requirePool().connect();
      try {
        await finalizeTables(client, settings.targetSchema, loader.tableModels(), log);
      } finally {
        client.release();
      }
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
