import type { Command } from 'commander';
import { Option } from 'commander';
import { Health, createMetricsRegistry, type Logger, type Settings } from '@liteshift/shared';
import { FallbackMetrics, runFallback } from '@liteshift/reverse';
import { HTTP_KEYS, serveHttp } from '../http.js';
import { renderReport } from '@liteshift/verifier';
import { abortRollback, runRollback } from '../rollback.js';
import { EXCLUSION_KEYS, context, withSettings } from '../settings-options.js';
import { formatDuration, print, printJson } from '../output.js';
import { untilSignal } from './services.js';

/** Exit code of a verdict other than READY (as every command that ends in a verdict). */
const EXIT_NOT_READY = 1;
const FALLBACK_KEYS = ['sqlitePath', 'databaseUrl', 'kafkaBrokers', 'topicPrefix', 'targetSchema', 'partitions', ...HTTP_KEYS] as const;
const ROLLBACK_KEYS = ['sqlitePath', 'databaseUrl', 'kafkaBrokers', 'topicPrefix', 'targetSchema', ...EXCLUSION_KEYS] as const;

/** `liteshift fallback` (the live fallback service) and `liteshift rollback` (back to SQLite, verified). */
export function addFallbackCommands(program: Command, positive: (name: string) => (value: string) => number): void {
  withSettings(
    program
      .command('fallback')
      .description('the live fallback after cutover: changes made on PostgreSQL follow back into the (fenced) SQLite file until SIGTERM, for `liteshift rollback`'),
    FALLBACK_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    const { settings, log } = context('fallback', FALLBACK_KEYS, flags, ['httpPort']);
    const registry = createMetricsRegistry('fallback');
    const health = new Health('starting the fallback');
    const server = await serveHttp(settings, log, registry, () => health.state);
    try {
      await untilSignal(log, (signal) => runFallback({ ...settings, log, metrics: new FallbackMetrics(registry), health }, signal), async () => undefined);
    } finally {
      await server?.close();
    }
  });

  withSettings(
    program
      .command('rollback')
      .description('back to SQLite after cutover: wait for the fallback, fence PostgreSQL, drain, verify, lift the SQLite fence, print what to switch back to')
      .option('--abort', 'lift the PostgreSQL fence: PostgreSQL takes writes again')
      .addOption(new Option('--timeout <seconds>', 'how long to wait for the fallback to catch up, and to drain').argParser(positive('--timeout')).default(300))
      .option('--json', 'print the result as JSON'),
    ROLLBACK_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    if (flags.abort) {
      const { settings } = context('cli', ['databaseUrl', 'targetSchema'], flags);
      const removed = await abortRollback(settings.databaseUrl, settings.targetSchema);
      print(removed > 0 ? 'PostgreSQL fence lifted: PostgreSQL takes writes again' : 'no PostgreSQL fence was installed');
      return;
    }
    const { settings, log } = context('cli', ROLLBACK_KEYS, flags, EXCLUSION_KEYS);
    if (!(await rollbackCommand(settings, { json: Boolean(flags.json), timeout: flags.timeout as number }, log))) process.exitCode = EXIT_NOT_READY;
  });
}

async function rollbackCommand(
  settings: Pick<Settings, 'sqlitePath' | 'databaseUrl' | 'kafkaBrokers' | 'topicPrefix' | 'targetSchema'> & Partial<Pick<Settings, 'excludeTable' | 'excludeColumn'>>,
  flags: { json: boolean; timeout: number },
  log: Logger,
): Promise<boolean> {
  const say = flags.json ? () => undefined : print;
  const result = await runRollback({ ...settings, timeoutMs: flags.timeout * 1000, log, onPhase: (phase) => say(`· ${phase}`) });
  if (flags.json) {
    printJson({ ready: result.ready, sqlitePath: result.ready ? settings.sqlitePath : null, report: result.report });
    return result.ready;
  }
  say('');
  say(renderReport(result.report));
  say('');
  if (result.ready) {
    say(`Rollback complete: PostgreSQL refused writes for ${formatDuration(result.fenceMs)}; SQLite takes writes again and holds every change. Point the application back at SQLite:`);
    say('');
    say(`  ${settings.sqlitePath}`);
    say('');
    say('The capture and the fence are gone from PostgreSQL; stop `liteshift fallback`.');
  } else {
    say('Not rolled back: the PostgreSQL fence is lifted and PostgreSQL takes writes again. Fix the reasons above and run rollback again.');
  }
  return result.ready;
}
