import { createLogger, describePostgresUrl, type Logger, type Settings } from '@liteshift/shared';
import { renderReport } from '@liteshift/verifier';
import { runMigration, type MigrationResult } from '../migration.js';
import type { Logging } from '../settings-options.js';
import { formatCount, formatDuration, print, printJson } from '../output.js';
import { Progress, wantsBars } from '../progress.js';

export type MigrateSettings = Pick<
  Settings,
  'sqlitePath' | 'databaseUrl' | 'kafkaBrokers' | 'topicPrefix' | 'targetSchema' | 'partitions' | 'chunkRows'
> &
  Partial<Pick<Settings, 'onMisfit' | 'cast' | 'foldIdentifiers' | 'rename' | 'timestamps' | 'excludeTable' | 'excludeColumn'>>;

export async function migrate(
  settings: MigrateSettings,
  flags: { forceRecreate: boolean; json: boolean },
  log: Logger,
  logFor: (service: string) => Logger,
  logging: Logging,
): Promise<MigrationResult> {
  const say = flags.json ? () => undefined : print;
  say(`liteshift migrate: ${settings.sqlitePath} → ${describePostgresUrl(settings.databaseUrl)} through Kafka ${settings.kafkaBrokers.join(',')}`);
  const bars = wantsBars(process.stderr, logging.format, flags.json);
  const progress = new Progress({ log, bars, applied: true });
  // With bars on stderr, every log line of the migration goes above them.
  const logAbove = (service: string): Logger => createLogger({ service, level: logging.level, format: logging.format, write: progress.print });
  let result: MigrationResult;
  try {
    result = await runMigration({
      ...settings,
      forceRecreate: flags.forceRecreate,
      log: bars ? logAbove('cli') : log,
      logFor: bars ? logAbove : logFor,
      ...(bars ? { logLines: progress.print } : {}),
      logLevel: logging.level,
      logFormat: logging.format,
      onPhase: (phase) => {
        // Bars are only for the snapshot: a phase line must not land in the middle of them.
        progress.stop();
        say(`· ${phase}`);
      },
      progress,
    });
  } finally {
    progress.stop();
  }
  if (flags.json) {
    printJson({
      verdict: result.report.verdict,
      durationMs: result.durationMs,
      phasesMs: result.phasesMs,
      rowsPerTable: result.rowsPerTable,
      notices: result.notices,
      report: result.report,
    });
  } else {
    printSummary(result);
  }
  return result;
}

function printSummary(result: MigrationResult): void {
  const total = Object.values(result.rowsPerTable).reduce((a, b) => a + b, 0);
  print('');
  print('Migration summary');
  print(`  Tables found:   ${result.model.tables.length}`);
  for (const [table, rows] of Object.entries(result.rowsPerTable)) print(`    ${table.padEnd(28)} ${formatCount(rows).padStart(12)} rows`);
  print(`  Migrated:       ${formatCount(total)} rows in ${formatDuration(result.phasesMs.snapshotAndLoad)} (${formatCount(Math.round((total * 1000) / Math.max(1, result.phasesMs.snapshotAndLoad)))} rows/s)`);
  print(`  Constraints:    ${formatDuration(result.phasesMs.finalize)}`);
  print(`  Verified:       ${result.report.verdict} in ${formatDuration(result.phasesMs.verify)}`);
  print(`  Duration:       ${formatDuration(result.durationMs)}`);
  const warnings = result.notices.filter((n) => n.level === 'warn');
  if (warnings.length > 0) {
    print('');
    print(`Notices (${warnings.length}):`);
    for (const n of warnings) print(`  ${[n.table, n.column].filter(Boolean).join('.')}: ${n.message}`);
  }
  print('');
  print(renderReport(result.report));
}
