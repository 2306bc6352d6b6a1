import {
  connectAdmin,
  connectPostgres,
  createKafka,
  endOffsets,
  openSqlite,
  readSchema,
  mappingOptions,
  ReadableCopy,
  pgTableName,
  tableTopic,
  type Settings,
  type Logger,
  type Notice,
  type PartitionOffsets,
  type SchemaModel,
  type SqlValue,
  type TableModel,
  qualified,
  sqlValueFromCanonical,
  type PgClient,
  type ApplyLimitSettings,
  sessionLimits,
  deleteOffsets,
  loaderGroup,
  startAtEnd,
} from '@liteshift/shared';
import { Extractor } from '@liteshift/extractor';
import { completeConstraints, dropTargetTables } from '@liteshift/loader';
import { LoaderThread } from './loader-thread.js';
import type { Progress } from './progress.js';
import { diffTableRows, keyOnly, loadedModels, verify, type VerifyReport } from '@liteshift/verifier';

export interface MigrationParams extends ApplyLimitSettings {
  sqlitePath: string;
  databaseUrl: string;
  kafkaBrokers: string[];
  topicPrefix: string;
  targetSchema: string;
  partitions: number;
  chunkRows: number;
  /** How the schema maps to PostgreSQL (--on-misfit, --cast, --fold-identifiers, --rename). */
  onMisfit?: Settings['onMisfit'];
  cast?: Settings['cast'];
  foldIdentifiers?: Settings['foldIdentifiers'];
  rename?: Settings['rename'];
  timestamps?: Settings['timestamps'];
  excludeTable?: Settings['excludeTable'];
  excludeColumn?: Settings['excludeColumn'];
  forceRecreate: boolean;
  log: Logger;
  logFor: (service: string) => Logger;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  onPhase?: (phase: string) => void;
  /** Rows per table as the snapshot moves: sent by the extractor, applied by the loader. */
  progress?: Pick<Progress, 'expect' | 'sent' | 'applied'>;
  /** Where the loader thread's log lines go (above progress bars), else stderr. */
  logLines?: (line: string) => void;
}

export interface MigrationResult {
  model: SchemaModel;
  rowsPerTable: Record<string, number>;
  notices: Notice[];
  report: VerifyReport;
  phasesMs: { plan: number; snapshotAndLoad: number; finalize: number; verify: number };
  durationMs: number;
}

/**
 * A one-shot migration: plan, snapshot through Kafka while the loader applies it,
 * finalize the target (indexes, foreign keys, identities), verify. Every connection is
 * checked before anything is written.
 */
export async function runMigration(p: MigrationParams): Promise<MigrationResult> {
  const started = Date.now();
  const { log } = p;
  p.onPhase?.('reading the SQLite schema');
  const db = openSqlite(p.sqlitePath, { readonly: true });
  const closers: (() => Promise<unknown>)[] = [async () => db.close()];
  try {
    const copy = await ReadableCopy.attach(db, log);
    if (copy) closers.push(async () => copy.close());
    let model = readSchema(db, mappingOptions(p));
    let planMs = Date.now() - started;
    log.info({ tables: model.tables.length, ms: planMs }, 'schema read');

    p.onPhase?.('checking PostgreSQL and Kafka');
    const pg = await connectPostgres(p.databaseUrl, 'liteshift-migrate');
    closers.push(() => pg.end());
    const keyByRowid = p.forceRecreate ? [] : await keyedByRowidInTarget(pg, model);
    if (keyByRowid.length > 0) {
      model = readSchema(db, { ...mappingOptions(p), keyByRowid });
      planMs = Date.now() - started;
    }
    const kafka = createKafka({ brokers: p.kafkaBrokers, clientId: 'liteshift-migrate', log });
    const admin = await connectAdmin(kafka, p.kafkaBrokers);
    closers.push(() => admin.disconnect());

    const extractor = new Extractor({
      db,
      model,
      brokers: p.kafkaBrokers,
      topicPrefix: p.topicPrefix,
      partitions: p.partitions,
      chunkRows: p.chunkRows,
      log: p.logFor('extractor'),
      batchLogLevel: 'debug',
      copy,
      ...(p.progress ? { onProgress: p.progress.sent.bind(p.progress) } : {}),
    });
    closers.push(() => extractor.close());
    await extractor.connect();
    const loader = new LoaderThread(
      {
        databaseUrl: p.databaseUrl,
        limits: sessionLimits(p),
        brokers: p.kafkaBrokers,
        topicPrefix: p.topicPrefix,
        targetSchema: p.targetSchema,
        logLevel: p.logLevel,
        logFormat: p.logFormat,
      },
      {
        ...(p.progress ? { onApplied: p.progress.applied.bind(p.progress) } : {}),
        ...(p.logLines ? { onLog: p.logLines } : {}),
      },
    );
    const group = loaderGroup(p.topicPrefix);
    closers.push(() => loader.close());
    await loader.connect();

    const topics = model.tables.map((t) => tableTopic(p.topicPrefix, t.name));
    if (p.forceRecreate) {
      p.onPhase?.('dropping the target tables (--force-recreate)');
      await dropTargetTables(pg, p.targetSchema, model.tables);
      await deleteOffsets(pg, group, topics);
    }

    const preexisting = p.forceRecreate ? [] : await tablesWithRows(pg, p.targetSchema, model);

    p.onPhase?.('snapshot → Kafka → PostgreSQL');
    const loadStarted = Date.now();
    await extractor.prepareTopics();
    const ends: Record<string, PartitionOffsets> = {};
    for (const topic of topics) ends[topic] = await endOffsets(admin, topic);
    await startAtEnd(pg, group, ends);
    await loader.consume();
    p.progress?.expect(model.tables.map((t) => ({ name: t.name, total: t.rowCount ?? 0 })));
    const snapshot = await extractor.snapshot();
    await loader.waitUntil(snapshot.marker.endOffsets);
    if (preexisting.length > 0) {
      p.onPhase?.('deleting rows that are no longer in SQLite (the target held an earlier run)');
      let deleted = 0;
      for (const table of preexisting) {
        const keys: SqlValue[][] = [];
        const keyKinds = table.key.map((k) => table.columns.find((c) => c.name === k)!.kind);
        await diffTableRows(db, pg, p.targetSchema, keyOnly(table), {
          limit: 0,
          onDifference: (d) => {
            if (d.kind === 'extra') keys.push(d.key.map((v, i) => sqlValueFromCanonical(keyKinds[i]!, v)));
          },
        });
        if (keys.length > 0) await extractor.emitDeletes(table.name, keys);
        deleted += keys.length;
      }
      if (deleted > 0) await loader.waitUntil(await extractor.tableEndOffsets());
      log.info({ deleted }, 'rows deleted from SQLite since the earlier run are deleted in PostgreSQL too');
    }
    await loader.stop();
    const loadMs = Date.now() - loadStarted;

    p.onPhase?.('creating indexes, foreign keys and identities');
    const finalizeStarted = Date.now();
    const notices = [...model.notices, ...(await completeConstraints(pg, p.targetSchema, model.tables, log))];
    const finalizeMs = Date.now() - finalizeStarted;

    p.onPhase?.('verifying');
    const verifyStarted = Date.now();
    const report = await verify({ db, model, pg, databaseUrl: p.databaseUrl, targetSchema: p.targetSchema, copy });
    const verifyMs = Date.now() - verifyStarted;
    return {
      model,
      rowsPerTable: snapshot.rowsPerTable,
      notices,
      report,
      phasesMs: { plan: planMs, snapshotAndLoad: loadMs, finalize: finalizeMs, verify: verifyMs },
      durationMs: Date.now() - started,
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

/**
 * Tables the model keys by their declared key that an earlier run keyed by rowid (their key
 * held NULL then): the target's rows have no other key, so the plan keeps it.
 */
async function keyedByRowidInTarget(pg: PgClient, model: SchemaModel): Promise<string[]> {
  const loaded = await loadedModels(pg);
  return model.tables.filter((t) => !t.keyIsRowid && loaded.get(t.name)?.declaredKey !== undefined).map((t) => t.name);
}

/** Target tables that already hold rows: an earlier run's, which may include rows deleted since. */
async function tablesWithRows(pg: PgClient, schema: string, model: SchemaModel): Promise<TableModel[]> {
  const out: TableModel[] = [];
  for (const table of model.tables) {
    const exists = await pg.query('SELECT to_regclass($1) IS NOT NULL AS present', [qualified(schema, pgTableName(table))]);
    if (!exists.rows[0].present) continue;
    const any = await pg.query(`SELECT 1 FROM ${qualified(schema, pgTableName(table))} LIMIT 1`);
    if (any.rowCount) out.push(table);
  }
  return out;
}
