import type { Command } from 'commander';
import { LiteshiftError, connectPostgres, describePostgresUrl, postgresError, reverseTopicPrefix, sqliteCreateTableSql, type Logger, type Notice, type Settings } from '@liteshift/shared';
import { SqliteApplier, exportPlan, exportSqlite, openTarget, type ExportPlan, type ExportResult } from '@liteshift/reverse';
import { renderReport } from '@liteshift/verifier';
import { EXCLUSION_KEYS, context, withSettings } from '../settings-options.js';
import { formatCount, formatDuration, print, printJson } from '../output.js';
import { verifyOnce } from './verify.js';

/** The exclusions of the migration: what was left out on purpose is listed by the verdict, not counted against it. */
const EXPORT_KEYS = ['sqlitePath', 'databaseUrl', 'kafkaBrokers', 'topicPrefix', 'targetSchema', 'partitions', 'chunkRows', ...EXCLUSION_KEYS] as const;
const APPLY_KEYS = ['sqlitePath', 'kafkaBrokers', 'topicPrefix'] as const;
/** Exit code of a verdict other than READY (as every command that ends in a verdict). */
const EXIT_NOT_READY = 1;

type ExportSettings = Pick<Settings, Exclude<(typeof EXPORT_KEYS)[number], (typeof EXCLUSION_KEYS)[number]>> & Partial<Pick<Settings, (typeof EXCLUSION_KEYS)[number]>>;

/** `liteshift export-sqlite` (PostgreSQL back into a SQLite file, verified) and `liteshift apply-sqlite` (its applier alone). */
export function addExportSqliteCommands(program: Command): void {
  withSettings(
    program
      .command('export-sqlite')
      .description('the way back: one snapshot of PostgreSQL into the SQLite file (the application\'s own, or a new one) through Kafka, then verify (exit 0 only when READY)')
      .option('--dry-run', 'print what would be exported (tables, and the SQLite types of tables created on PostgreSQL) and write nothing')
      .option('--json', 'print the result as JSON'),
    EXPORT_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    if (flags.dryRun) {
      const { settings } = context('cli', EXPORT_KEYS, flags, ['kafkaBrokers', ...EXCLUSION_KEYS]);
      await showExportPlan(settings, Boolean(flags.json));
      return;
    }
    const { settings, log } = context('cli', EXPORT_KEYS, flags, EXCLUSION_KEYS);
    if (!(await exportCommand(settings, Boolean(flags.json), log))) process.exitCode = EXIT_NOT_READY;
  });

  withSettings(
    program
      .command('apply-sqlite')
      .description('the SQLite applier alone: apply the reverse topics into the SQLite file from the position it holds (finishes an interrupted export-sqlite)')
      .option('--json', 'print the result as JSON'),
    APPLY_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    const { settings, log } = context('cli', APPLY_KEYS, flags);
    await applyCommand(settings, Boolean(flags.json), log);
  });
}

async function exportCommand(settings: ExportSettings, json: boolean, log: Logger): Promise<boolean> {
  const say = json ? () => undefined : print;
  say(`liteshift export-sqlite: ${describePostgresUrl(settings.databaseUrl)} → ${settings.sqlitePath} through Kafka ${settings.kafkaBrokers.join(',')}`);
  const result = await exportSqlite({ ...settings, log, onPhase: (phase) => say(`· ${phase}`) });
  say('· verifying the SQLite file against PostgreSQL');
  // Without Kafka: the forward pipeline's lag says nothing about the way back.
  const { kafkaBrokers: _forward, ...verifySettings } = settings;
  const report = await verifyOnce(verifySettings, { json }, log);
  if (json) {
    printJson({ verdict: report.verdict, export: result, report });
  } else {
    printExportSummary(result);
    print('');
    print(renderReport(report));
  }
  log.info({ verdict: report.verdict, reasons: report.reasons }, `verdict: ${report.verdict}`);
  return report.verdict === 'READY';
}

function printExportSummary(result: ExportResult): void {
  const rows = result.tables.reduce((n, t) => n + t.rows, 0);
  print('');
  print(`Export summary (into ${result.target === 'new' ? 'a new file' : 'the existing file'})`);
  for (const t of result.tables) {
    const deletes = t.deletes ? `, ${formatCount(t.deletes)} deleted` : '';
    print(`    ${t.table.padEnd(28)} ${formatCount(t.rows).padStart(12)} rows${deletes}${t.origin === 'created' ? '  (created on PostgreSQL after the switch)' : ''}`);
  }
  print(`  Snapshot:       ${formatCount(rows)} rows in ${formatDuration(result.snapshotMs)}`);
  const a = result.applied;
  print(`  Applied:        ${formatCount(a.messages)} messages in ${formatDuration(result.applyMs)} (${formatCount(a.upserted)} rows written, ${formatCount(a.deleted)} deleted, ${formatCount(a.unchanged)} unchanged)`);
  printNotices(result.notices.filter((n) => n.level === 'warn'));
}

function printNotices(notices: readonly Notice[], all = false): void {
  if (notices.length === 0) return;
  print('');
  print(`Notices (${notices.length}):`);
  for (const n of notices) print(`  ${all ? `[${n.level}] ` : ''}${[n.table, n.column].filter(Boolean).join('.')}: ${n.message}`);
}

/** The dry run: reads PostgreSQL's catalog and liteshift.tables, writes nothing anywhere. */
async function showExportPlan(settings: Omit<ExportSettings, 'kafkaBrokers'>, json: boolean): Promise<ExportPlan> {
  const pg = await connectPostgres(settings.databaseUrl, 'liteshift-export-plan');
  try {
    const plan = await exportPlan(pg, settings.targetSchema).catch((error: unknown) => {
      throw postgresError(error, settings.databaseUrl, 'read the tables');
    });
    if (json) {
      printJson({ tables: plan.tables.map((t) => ({ ...t, ddl: sqliteCreateTableSql(t.table) })), notices: plan.notices });
      return plan;
    }
    print(`Export plan: ${describePostgresUrl(settings.databaseUrl)} schema ${settings.targetSchema} → ${settings.sqlitePath} (dry run: nothing is written)`);
    for (const t of plan.tables) {
      print('');
      print(`-- ${t.table.name}: ${t.origin === 'migrated' ? 'migrated from SQLite (its model from liteshift.tables)' : 'created on PostgreSQL after the switch (SQLite types from its catalog)'}`);
      if (t.origin === 'created') {
        for (const c of t.table.columns) print(`--   ${c.name}: ${c.reason}`);
        print(`${sqliteCreateTableSql(t.table)};`);
      }
    }
    printNotices(plan.notices, true);
    return plan;
  } finally {
    await pg.end().catch(() => undefined);
  }
}

async function applyCommand(settings: Pick<Settings, (typeof APPLY_KEYS)[number]>, json: boolean, log: Logger): Promise<void> {
  const { db } = openTarget(settings.sqlitePath);
  const applier = new SqliteApplier({ db, sqlitePath: settings.sqlitePath, brokers: settings.kafkaBrokers, topicPrefix: settings.topicPrefix, log });
  try {
    await applier.connect();
    const notices = await applier.refreshSchemas();
    if (applier.topics().length === 0) {
      throw new LiteshiftError('CONFIG_INVALID', `${settings.sqlitePath} holds no position on the reverse topics ${reverseTopicPrefix(settings.topicPrefix)}.*: export-sqlite never wrote to it`, {
        hint: 'run liteshift export-sqlite into it (with the same --topic-prefix)',
      });
    }
    const totals = await applier.run();
    if (json) printJson({ applied: totals, notices });
    else print(`applied ${formatCount(totals.messages)} message(s) to ${settings.sqlitePath}: ${formatCount(totals.upserted)} rows written, ${formatCount(totals.deleted)} deleted, ${formatCount(totals.unchanged)} unchanged`);
  } finally {
    await applier.close();
    db.close();
  }
}
