import {
  canonical,
  captureInstalled,
  metaTableExists,
  META_TABLES,
  deadLetterTopic,
  pgTableName,
  postgresError,
  qualified,
  sqliteTableRef,
  type Logger,
  type PgClient,
  type ReadableCopy,
  type SchemaModel,
  type SqliteDatabase,
  type TableModel,
} from '@liteshift/shared';
import { countSql, describeForeignKey, orphanKeysSql, orphanSql } from './source-queries.js';
import { judge, type LagReport, type OrphanReport, type TableReport, type VerifyReport } from './report.js';
import { diffTableRows } from './row-diff.js';
import { recheckInFlight, type PipelineContext, type Suspect } from './in-flight.js';
import { pipelineStatus } from './status.js';
import { checkCompleteness, completenessReasons } from './completeness.js';

export type { PipelineContext } from './in-flight.js';

export interface VerifyOptions {
  db: SqliteDatabase;
  model: SchemaModel;
  pg: PgClient;
  databaseUrl: string;
  targetSchema: string;
  /**
   * Kafka, for the lag, the dead letters, and for re-checking differences found while
   * changes are in flight. Without it, a difference is reported as found.
   */
  pipeline?: PipelineContext;
  /** Messages on the dead-letter topic, counted by the caller (`pipeline` counts them itself). */
  deadLetters?: { topic: string; count: number };
  /** How long differences found while changes are in flight may wait for the pipeline (default 60 s). */
  catchUpTimeoutMs?: number;
  /** Differences listed per table (all are counted; default 100). */
  limit?: number;
  /** The readable copy of tables SQLite cannot read here: made again first if the file changed since. */
  copy?: ReadableCopy | null;
  log?: Logger;
}

/** Differences per table beyond which they are not taken for changes in flight (and not re-checked). */
const SUSPECT_LIMIT = 10_000;
const ORPHAN_EXAMPLES = 10;

interface TableWork {
  report: TableReport;
  table: TableModel;
  suspects: Suspect[];
  overflow: boolean;
}

/**
 * Reconciles SQLite and PostgreSQL (contract 7): every row compared in key order (range
 * checksums, bisected down to the rows that differ), row counts, foreign-key orphans on
 * both sides, the rows the loader rejected, and, given Kafka, the lag and the dead
 * letters. While changes are in flight, differences are compared again once the pipeline
 * has applied them, so a live migration does not report false differences. The verdict is
 * READY only when nothing differs.
 */
export async function verify(options: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const { db, model, pg, targetSchema, pipeline, log } = options;
  const limit = options.limit ?? 100;
  const sqliteFrom = sqliteTableOf(model);
  const pgFrom = (t: string) => qualified(targetSchema, t);
  try {
    await options.copy?.refresh();
    const completeness = await checkCompleteness(db, pg, targetSchema, model);
    const existing = new Set(
      (await pg.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [targetSchema])).rows.map(
        (r) => r.table_name,
      ),
    );
    const rejects = await rejectCounts(pg);
    const loaded = await loadedModels(pg);
    const status = pipeline ? await pipelineStatus(db, pg, pipeline.admin, model, pipeline.topicPrefix) : null;
    const captured = captureInstalled(db);
    // Changes may be in flight: the application writes through capture, or the loader has not applied everything.
    const live = captured || (status?.loaderLag ?? 0) > 0;

    const work: TableWork[] = [];
    for (const sourceTable of model.tables) {
      // Values are compared with the types the loader converted them to, in the columns the target has.
      const missingColumns = completeness.missingColumns.get(sourceTable.name) ?? [];
      const table = withoutColumns(loaded.get(sourceTable.name) ?? sourceTable, missingColumns);
      const present = existing.has(pgTableName(table));
      const orphans: OrphanReport[] = [];
      for (const fk of table.foreignKeys) {
        if (fk.refColumns.length === 0) continue;
        // PostgreSQL counts its side while SQLite counts its own.
        const counting = present && existing.has(fk.pgRefTable ?? fk.refTable) ? pg.query<{ n: string }>(orphanSql(pgFrom, table, fk, 'postgres')) : null;
        counting?.catch(() => undefined);
        const source = Number((db.prepare(orphanSql(sqliteFrom, table, fk)).get() as { n: bigint }).n);
        const target = counting ? Number((await counting).rows[0]!.n) : 0;
        const report: OrphanReport = { foreignKey: describeForeignKey(table, fk), source, target };
        if (target > source) report.examples = await orphanExamples(pg, pgFrom, table, fk);
        orphans.push(report);
      }
      const item: TableWork = {
        table,
        suspects: [],
        overflow: false,
        report: {
          table: table.name,
          sourceRows: 0,
          targetRows: null,
          orphans,
          rejects: rejects.get(table.name) ?? 0,
          ...(missingColumns.length > 0 ? { missingColumns } : {}),
          ...(table.readFromCopy ? { readFromCopy: true } : {}),
        },
      };
      if (present) {
        const diff = await diffTableRows(db, pg, targetSchema, table, {
          limit,
          onDifference: (first, sourceKey) => {
            if (!live) return;
            if (item.suspects.length < SUSPECT_LIMIT) item.suspects.push({ first, ...(sourceKey ? { sourceKey } : {}) });
            else item.overflow = true;
          },
        });
        // The counts of the comparison itself: taken row by row with the differences, they
        // stay consistent with them even while the application writes.
        item.report.sourceRows = diff.sourceRows;
        item.report.targetRows = diff.targetRows;
        item.report.content = {
          missing: diff.missing,
          extra: diff.extra,
          changed: diff.changed,
          differences: diff.differences,
          changedColumns: diff.changedColumns,
          ranges: diff.ranges,
        };
      } else {
        item.report.sourceRows = Number((db.prepare(countSql(sqliteFrom, table)).get() as { n: bigint }).n);
      }
      work.push(item);
    }

    const reasons: string[] = completenessReasons(completeness);
    const warnings: string[] = [];
    const suspects = work.filter((w) => w.suspects.length > 0);
    if (live && suspects.length > 0) {
      if (!pipeline) {
        warnings.push(
          captured
            ? 'change capture is installed: differences may be changes still in flight; give --kafka-brokers (KAFKA_BROKERS) so verify waits for the loader and re-checks them'
            : 'differences were found while the loader had messages left to apply',
        );
      } else if (status?.extractor.phase === 'snapshot') {
        warnings.push('the snapshot is still running: differences are not re-checked until it completes');
      } else {
        await recheck(options, work, reasons, warnings);
      }
    }
    const end = status ? await pipelineStatus(db, pg, pipeline!.admin, model, pipeline!.topicPrefix) : null;
    let lag: LagReport | undefined;
    if (end) {
      lag = {
        extractor: { captured: end.extractor.captured, phase: end.extractor.phase, head: end.extractor.head, position: end.extractor.position, lag: end.extractor.lag },
        loaderLag: end.loaderLag,
        deadLettered: end.deadLettered,
        deadLetterTopic: deadLetterTopic(pipeline!.topicPrefix),
      };
      const perTable = new Map(end.tables.map((t) => [t.table, t.loaderLag]));
      for (const w of work) w.report.loaderLag = perTable.get(w.table.name) ?? 0;
    }
    const deadLetters = lag ? { topic: lag.deadLetterTopic, count: lag.deadLettered } : options.deadLetters;
    if (deadLetters && deadLetters.count > 0) {
      reasons.push(`${deadLetters.count} message(s) could not be decoded and went to the dead-letter topic ${deadLetters.topic} (\`liteshift dlq\` lists them; --clear once dealt with)`);
    }
    const tables = work.map((w) => w.report);
    const judged = judge(tables, reasons);
    const report: VerifyReport = {
      verdict: judged.verdict,
      reasons: judged.reasons,
      warnings: [...judged.warnings, ...warnings],
      tables,
      ...(completeness.missingTables.length > 0 ? { missingTables: completeness.missingTables } : {}),
      ...(completeness.excluded.tables.length + completeness.excluded.columns.length > 0 ? { excluded: completeness.excluded } : {}),
      ...(lag ? { lag } : {}),
      ...(deadLetters ? { deadLetters } : {}),
      checkedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
    };
    log?.debug({ verdict: report.verdict, ms: report.durationMs }, 'verified');
    return report;
  } catch (error) {
    throw postgresError(error, options.databaseUrl, 'verify');
  }
}

/** Compares the suspects again once the pipeline has caught up; rewrites the tables' content and counts. */
async function recheck(options: VerifyOptions, work: TableWork[], reasons: string[], warnings: string[]): Promise<void> {
  const { db, pg, targetSchema, pipeline, log } = options;
  const eligible = work.filter((w) => w.suspects.length > 0 && !w.overflow);
  for (const w of work.filter((x) => x.overflow)) {
    warnings.push(`${w.table.name}: more than ${SUSPECT_LIMIT} differences, too many to be changes in flight: reported as found`);
  }
  if (eligible.length === 0) return;
  const total = eligible.reduce((n, w) => n + w.suspects.length, 0);
  log?.info({ suspects: total, tables: eligible.map((w) => w.table.name) }, 'differences found while changes were in flight: re-checking them once the pipeline has applied them');
  const outcome = await recheckInFlight(
    {
      db,
      pg,
      schema: targetSchema,
      pipeline: pipeline!,
      deadline: Date.now() + (options.catchUpTimeoutMs ?? 60_000),
      ...(options.copy ? { copy: options.copy } : {}),
      ...(log ? { log } : {}),
    },
    eligible.map((w) => ({ table: w.table, suspects: w.suspects })),
  );
  const limit = options.limit ?? 100;
  for (const w of eligible) {
    const content = w.report.content!;
    const remaining = outcome.remaining.get(w.table.name) ?? [];
    const delta = outcome.delta.get(w.table.name) ?? { source: 0, target: 0 };
    content.missing = remaining.filter((d) => d.kind === 'missing').length;
    content.extra = remaining.filter((d) => d.kind === 'extra').length;
    content.changed = remaining.filter((d) => d.kind === 'changed').length;
    content.differences = remaining.slice(0, limit);
    content.changedColumns = {};
    for (const d of remaining) for (const c of d.columns ?? []) content.changedColumns[c] = (content.changedColumns[c] ?? 0) + 1;
    content.inFlight = { keys: w.suspects.length, resolved: outcome.resolved.get(w.table.name) ?? 0, rounds: outcome.rounds };
    w.report.sourceRows += delta.source;
    w.report.targetRows = (w.report.targetRows ?? 0) + delta.target;
  }
  if (!outcome.caughtUp) {
    const left = [...outcome.remaining.values()].reduce((n, l) => n + l.length, 0);
    reasons.push(`${outcome.stopped}: ${left} difference(s) found while changes were in flight could not be re-checked`);
  } else if (outcome.stopped) {
    warnings.push(outcome.stopped);
  }
  await recountOrphans(options, work, warnings);
}

/**
 * Per-table topics have no order between them, so a child row may arrive before its
 * parent (or outlive it) for a moment: an orphan counted while changes were in flight is
 * counted again now. One that remains while both tables' rows agree cannot be real (an
 * orphan only PostgreSQL has implies a row that differs) and becomes a warning.
 */
async function recountOrphans(options: VerifyOptions, work: TableWork[], warnings: string[]): Promise<void> {
  const { db, pg, targetSchema } = options;
  const sqliteFrom = sqliteTableOf(options.model);
  const pgFrom = (t: string) => qualified(targetSchema, t);
  const clean = new Set(
    work.filter((w) => w.report.content && !w.overflow && w.report.content.missing + w.report.content.extra + w.report.content.changed === 0).map((w) => w.table.name),
  );
  for (const w of work) {
    for (const [i, fk] of w.table.foreignKeys.filter((f) => f.refColumns.length > 0).entries()) {
      const o = w.report.orphans[i];
      if (!o || o.target <= o.source) continue;
      o.source = Number((db.prepare(orphanSql(sqliteFrom, w.table, fk)).get() as { n: bigint }).n);
      o.target = Number((await pg.query<{ n: string }>(orphanSql(pgFrom, w.table, fk, 'postgres'))).rows[0]!.n);
      if (o.target <= o.source) {
        delete o.examples;
        continue;
      }
      o.examples = await orphanExamples(pg, pgFrom, w.table, fk);
      if (clean.has(w.table.name) && clean.has(fk.refTable)) {
        warnings.push(`${o.foreignKey}: ${o.target - o.source} orphan row(s) in PostgreSQL while changes were in flight; every row of both tables agrees`);
        o.target = o.source;
        delete o.examples;
      }
    }
  }
}

/** Where SQLite's rows of a table named in the model are read (its own table, or the readable copy). */
function sqliteTableOf(model: SchemaModel): (name: string) => string {
  return (name) => sqliteTableRef(model.tables.find((t) => t.name === name) ?? { name });
}

/** The table as compared: without the columns the target lacks (reported apart), unless one is in the key. */
function withoutColumns(table: TableModel, missing: readonly string[]): TableModel {
  if (missing.length === 0 || table.key.some((k) => missing.includes(k))) return table;
  return { ...table, columns: table.columns.filter((c) => !missing.includes(c.name)) };
}

async function orphanExamples(pg: PgClient, pgFrom: (t: string) => string, table: TableModel, fk: TableModel['foreignKeys'][number]): Promise<(string | null)[][]> {
  const kinds = table.key.map((k) => table.columns.find((c) => c.name === k)?.kind ?? 'text');
  const result = await pg.query({ text: orphanKeysSql(pgFrom, table, fk, ORPHAN_EXAMPLES), rowMode: 'array' });
  return (result.rows as (string | null)[][]).map((row) => row.map((v, i) => canonical(kinds[i]!, v)));
}

async function rejectCounts(pg: PgClient): Promise<Map<string, number>> {
  if (!(await metaTableExists(pg, META_TABLES.rejects))) return new Map();
  const result = await pg.query<{ table_name: string; n: string }>(`SELECT table_name, count(*) AS n FROM ${META_TABLES.rejects} GROUP BY table_name`);
  return new Map(result.rows.map((r) => [r.table_name, Number(r.n)]));
}

/** The table models the loader built the target from (liteshift.tables), by table name. */
export async function loadedModels(pg: PgClient): Promise<Map<string, TableModel>> {
  return new Map([...(await loadedTables(pg))].map(([name, t]) => [name, t.model]));
}

/** What liteshift.tables records per table: the model the loader applies with, and its writer-schema fingerprint. */
export async function loadedTables(pg: PgClient): Promise<Map<string, { model: TableModel; fingerprint: string }>> {
  if (!(await metaTableExists(pg, META_TABLES.tables))) return new Map();
  const result = await pg.query<{ table_name: string; model: TableModel; fingerprint: string }>(`SELECT table_name, fingerprint, model FROM ${META_TABLES.tables}`);
  return new Map(result.rows.map((r) => [r.table_name, { model: r.model, fingerprint: r.fingerprint }]));
}
