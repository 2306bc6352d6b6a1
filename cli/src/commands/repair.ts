import { Option, type Command } from 'commander';
import { LiteshiftError, describePostgresUrl } from '@liteshift/shared';
import { renderReport } from '@liteshift/verifier';
import { EXCLUSION_KEYS, context, withSettings } from '../settings-options.js';
import { runRepair } from '../repair.js';
import { formatCount, print, printJson } from '../output.js';

const REPAIR_KEYS = ['sqlitePath', 'databaseUrl', 'kafkaBrokers', 'topicPrefix', 'targetSchema', ...EXCLUSION_KEYS] as const;
/** Exit code of a verdict other than READY (as every command that ends in a verdict). */
const EXIT_NOT_READY = 1;

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new LiteshiftError('CONFIG_INVALID', `--timeout must be a positive number of seconds, got "${value}"`);
  return n;
}

/** `liteshift repair`: its flags, and what it prints. */
export function addRepairCommand(program: Command): void {
  withSettings(
    program
      .command('repair')
      .description('send the rows that differ through Kafka again as SQLite holds them, apply them, verify again (exit 0 only when READY)')
      .option('--no-apply', 'do not run a loader here: wait for the running `liteshift load --follow` to apply the re-sent rows')
      .addOption(new Option('--timeout <seconds>', 'how long the re-sent rows may take to be applied').argParser(seconds).default(120))
      .option('--json', 'print the result as JSON'),
    REPAIR_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    const { settings, log, logFor } = context('cli', REPAIR_KEYS, flags, EXCLUSION_KEYS);
    const json = Boolean(flags.json);
    const say = json ? () => undefined : print;
    say(`liteshift repair: ${settings.sqlitePath} → ${describePostgresUrl(settings.databaseUrl)} through Kafka ${settings.kafkaBrokers.join(',')}`);
    const result = await runRepair({
      ...settings,
      apply: flags.apply !== false,
      timeoutMs: (flags.timeout as number) * 1000,
      log,
      logFor,
      onPhase: (phase) => say(`· ${phase}`),
    });
    const sent = result.tables.reduce((n, t) => n + t.upserts + t.deletes, 0);
    if (json) {
      printJson({ verdict: result.report.verdict, via: result.via, repaired: result.tables, skipped: result.skipped, report: result.report });
    } else {
      for (const t of result.tables) {
        say(`  ${t.table}: ${formatCount(t.missing)} missing, ${formatCount(t.extra)} extra, ${formatCount(t.changed)} changed → ${formatCount(t.upserts)} row(s) re-sent, ${formatCount(t.deletes)} delete(s)`);
      }
      for (const s of result.skipped) say(`  ${s.table}: not repaired: ${s.reason}`);
      say('');
      say(renderReport(result.report));
      say('');
      say(sent === 0 ? `Nothing to re-send; verdict ${result.report.verdict}.` : `Re-sent ${formatCount(sent)} row(s); verdict ${result.report.verdict}.`);
    }
    if (result.report.verdict !== 'READY') process.exitCode = EXIT_NOT_READY;
  });
}
