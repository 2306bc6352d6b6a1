import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { LiteshiftError, createLogger, defaultLogFormat, isLiteshiftError, errorMessage, scrubSecrets } from '@liteshift/shared';
import { APPLY_LIMIT_KEYS, EXCLUSION_KEYS, context, withSettings } from './settings-options.js';
import { migrate } from './commands/migrate.js';
import { showPlan } from './commands/plan.js';
import { addVerifyCommand } from './commands/verify.js';
import { addRepairCommand } from './commands/repair.js';
import { addExportSqliteCommands } from './commands/export-sqlite.js';
import { addFallbackCommands } from './commands/fallback.js';
import { demo } from './commands/demo.js';
import { stackCommand } from './commands/stack.js';
import { extractCommand, loadCommand } from './commands/services.js';
import { HTTP_KEYS } from './http.js';
import { addReplayCommand } from './commands/replay.js';
import { cutoverCommand, statusCommand, uninstallCommand } from './commands/operate.js';
import { dlqCommand } from './commands/dlq.js';
import { checkSqliteAddon, createTodoDatabase, settingsMarkdownTable } from '@liteshift/shared';
import { print, printError, printJsonError } from './output.js';

/** Exit codes: 0 done/READY, 1 NOT READY, 2 a mistake the user can fix, 70 a bug. */
const EXIT_NOT_READY = 1;
const EXIT_USER = 2;
const EXIT_INTERNAL = 70;

/** How the schema maps (--on-misfit, --cast, --fold-identifiers, --rename, --timestamps, exclusions): wherever a command reads it to plan or to extract. */
const MAPPING_KEYS = ['onMisfit', 'cast', 'foldIdentifiers', 'rename', 'timestamps', ...EXCLUSION_KEYS] as const;
/** Mapping settings that have no default. */
const MAPPING_OPTIONAL = ['cast', 'rename', ...EXCLUSION_KEYS] as const;
const MIGRATE_KEYS = ['sqlitePath', 'databaseUrl', 'kafkaBrokers', 'topicPrefix', 'targetSchema', 'partitions', 'chunkRows', ...MAPPING_KEYS, ...APPLY_LIMIT_KEYS] as const;
const PLAN_KEYS = ['sqlitePath', 'targetSchema', 'topicPrefix', ...MAPPING_KEYS] as const;
const DEMO_KEYS = ['sqlitePath', 'databaseUrl', 'kafkaBrokers', 'topicPrefix', 'targetSchema', 'partitions', 'chunkRows', ...APPLY_LIMIT_KEYS] as const;

function positive(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new LiteshiftError('CONFIG_INVALID', `${name} must be a whole number, got "${value}"`);
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command('liteshift')
    .description('Migrate a live SQLite database to PostgreSQL through Apache Kafka, and prove it arrived.')
    .version('0.1.0')
    .exitOverride()
    // Commander's own mistakes (unknown flag, missing argument) read like ours: one line.
    .configureOutput({
      outputError: (text, write) => write(`liteshift: ${text.trim().replace(/^error: /, '')} (see liteshift --help)\n`),
    });

  withSettings(
    program
      .command('migrate')
      .description('snapshot every table through Kafka into PostgreSQL, create constraints, verify (exit 0 only when READY)')
      .option('--dry-run', 'print the plan (tables, rows, type mapping, DDL) and write nothing')
      .option('--force-recreate', 'drop and recreate the target tables first')
      .option('--json', 'print the result as JSON'),
    MIGRATE_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    if (flags.dryRun) {
      const { settings, log } = context('cli', PLAN_KEYS, flags, MAPPING_OPTIONAL);
      await showPlan({ ...settings, json: Boolean(flags.json) }, log);
      return;
    }
    const { settings, log, logFor, logging } = context('cli', MIGRATE_KEYS, flags, MAPPING_OPTIONAL);
    const result = await migrate(settings, { forceRecreate: Boolean(flags.forceRecreate), json: Boolean(flags.json) }, log, logFor, logging);
    if (result.report.verdict !== 'READY') process.exitCode = EXIT_NOT_READY;
  });

  withSettings(
    program.command('plan').description('the dry run: type mapping per column with reasons, DDL, notices').option('--json', 'print the plan as JSON'),
    PLAN_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    const { settings, log } = context('cli', PLAN_KEYS, flags, MAPPING_OPTIONAL);
    await showPlan({ ...settings, json: Boolean(flags.json) }, log);
  });

  addVerifyCommand(program);
  addRepairCommand(program);

  withSettings(
    program
      .command('demo')
      .description('build a Todo database (users, tasks, recurring_patterns), start Kafka if needed, migrate it, print the verdict')
      .addOption(new Option('--users <n>', 'users to generate').argParser(positive('--users')).default(1000))
      .addOption(new Option('--tasks <n>', 'tasks to generate').argParser(positive('--tasks')).default(20000))
      .addOption(new Option('--recurring-patterns <n>', 'recurring patterns to generate').argParser(positive('--recurring-patterns')).default(2000))
      .option('--json', 'print the result as JSON'),
    DEMO_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    const keys = DEMO_KEYS;
    const { settings, log, logFor, logging } = context('cli', keys, flags, ['sqlitePath', 'databaseUrl', 'kafkaBrokers']);
    const ready = await demo(
      {
        users: flags.users as number,
        tasks: flags.tasks as number,
        recurringPatterns: flags.recurringPatterns as number,
        ...(settings.sqlitePath ? { sqlitePath: settings.sqlitePath } : {}),
        ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}),
        ...(settings.kafkaBrokers ? { kafkaBrokers: settings.kafkaBrokers } : {}),
        settings,
        json: Boolean(flags.json),
      },
      log,
      logFor,
      logging,
    );
    if (!ready) process.exitCode = EXIT_NOT_READY;
  });

  const EXTRACT_KEYS = ['sqlitePath', 'kafkaBrokers', 'topicPrefix', 'partitions', 'chunkRows', ...MAPPING_KEYS, ...HTTP_KEYS] as const;
  withSettings(
    program
      .command('extract')
      .description('the extractor service: snapshot every table into Kafka (--follow: then stream every change)')
      .option('--follow', 'install change capture (triggers) in the SQLite file and keep streaming changes until SIGTERM'),
    EXTRACT_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    const { settings, log, logging } = context('extractor', EXTRACT_KEYS, flags, [...MAPPING_OPTIONAL, 'httpPort']);
    await extractCommand(settings, { follow: Boolean(flags.follow) }, log, logging);
  });

  const LOAD_KEYS = ['databaseUrl', 'kafkaBrokers', 'topicPrefix', 'targetSchema', ...APPLY_LIMIT_KEYS, ...HTTP_KEYS] as const;
  withSettings(
    program
      .command('load')
      .description('the loader service: apply the snapshot from Kafka to PostgreSQL, then create constraints (--follow: keep applying)')
      .option('--follow', 'keep applying changes until SIGTERM; foreign keys and unique indexes wait for `liteshift cutover`'),
    LOAD_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    const { settings, log } = context('loader', LOAD_KEYS, flags, ['httpPort']);
    await loadCommand(settings, { follow: Boolean(flags.follow) }, log);
  });

  addReplayCommand(program);

  const OPERATE_KEYS = ['sqlitePath', 'databaseUrl', 'kafkaBrokers', 'topicPrefix', 'targetSchema'] as const;
  const CUTOVER_KEYS = [...OPERATE_KEYS, ...EXCLUSION_KEYS] as const;
  withSettings(
    program.command('status').description('per table: phase (snapshot n% / streaming), extractor lag, loader lag').option('--json', 'print as JSON'),
    OPERATE_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    const { settings, log } = context('cli', OPERATE_KEYS, flags);
    await statusCommand(settings, { json: Boolean(flags.json) }, log);
  });

  const DLQ_KEYS = ['kafkaBrokers', 'topicPrefix'] as const;
  withSettings(
    program
      .command('dlq')
      .description('list the messages the loader could not decode (the dead-letter topic); --clear deletes them once dealt with')
      .option('--clear', 'delete the dead letters listed: status and verify stop counting them')
      .addOption(new Option('--limit <n>', 'dead letters to show (all are counted, and cleared)').argParser(positive('--limit')).default(20))
      .option('--json', 'print as JSON (keys in hex)'),
    DLQ_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    const { settings, log } = context('cli', DLQ_KEYS, flags);
    await dlqCommand(settings, { clear: Boolean(flags.clear), json: Boolean(flags.json), limit: flags.limit as number }, log);
  });

  withSettings(
    program
      .command('cutover')
      .description('catch up, fence SQLite writes, drain to zero lag, create foreign keys, verify, print the DATABASE_URL to switch to')
      .option('--abort', 'lift the fence: SQLite takes writes again (and drop what cutover created in PostgreSQL)')
      .option('--no-fallback', 'do not capture PostgreSQL\'s changes after the switch (no `liteshift rollback`)')
      .addOption(new Option('--timeout <seconds>', 'how long to wait for the lag to catch up, and to drain').argParser(positive('--timeout')).default(300))
      .option('--json', 'print the result as JSON'),
    CUTOVER_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    const keys = flags.abort ? (['sqlitePath'] as const) : OPERATE_KEYS;
    const { settings, log } = context('cli', CUTOVER_KEYS, flags, CUTOVER_KEYS.filter((k) => !keys.includes(k as never)));
    const ready = await cutoverCommand(settings, { abort: Boolean(flags.abort), json: Boolean(flags.json), timeout: flags.timeout as number, fallback: flags.fallback !== false }, log);
    if (!ready) process.exitCode = EXIT_NOT_READY;
  });

  addExportSqliteCommands(program);
  addFallbackCommands(program, positive);

  withSettings(program.command('uninstall').description("remove liteshift's triggers, changelog, state and fence (and the position of export-sqlite) from the SQLite file"), [
    'sqlitePath',
  ]).action((flags: Record<string, unknown>) => {
    const { settings } = context('cli', ['sqlitePath'], flags);
    uninstallCommand(settings);
  });

  program
    .command('demo-db')
    .description('write the demo Todo SQLite database to <path> (what `demo` and docker-compose migrate)')
    .argument('<path>', 'file to create (overwritten)')
    .addOption(new Option('--users <n>', 'users').argParser(positive('--users')).default(1000))
    .addOption(new Option('--tasks <n>', 'tasks').argParser(positive('--tasks')).default(20000))
    .addOption(new Option('--recurring-patterns <n>', 'recurring patterns').argParser(positive('--recurring-patterns')).default(2000))
    .action((path: string, flags: { users: number; tasks: number; recurringPatterns: number }) => {
      const counts = createTodoDatabase(path, flags);
      print(`wrote ${path}: ${counts.users} users, ${counts.tasks} tasks, ${counts.recurringPatterns} recurring patterns`);
    });

  program
    .command('config-table', { hidden: true })
    .description('print the configuration table of the README')
    .action(() => print(settingsMarkdownTable()));

  const stack = program.command('stack').description('a local single-node Kafka (KRaft) from Maven Central jars, no Docker needed');
  for (const action of ['up', 'down', 'status'] as const) {
    const sub = stack.command(action).description(
      action === 'up' ? 'start (or reuse) the broker; prints KAFKA_BROKERS=…' : action === 'down' ? 'stop the broker' : 'is it running?',
    );
    if (action === 'up') sub.option('--port <port>', 'broker port, when free (default: any free port)');
    if (action === 'down') sub.option('--purge', 'also delete its data (topics)');
    withSettings(sub, []).action(async (flags: Record<string, unknown>) => {
      const { log } = context('stack', [], flags);
      await stackCommand(action, flags as { port?: string; purge?: boolean }, log);
    });
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const program = buildProgram();
  try {
    checkSqliteAddon();
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return report(error, argv.includes('--json'));
  }
}

function report(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return 0;
    if (json) printJsonError({ code: 'USAGE', message: error.message.replace(/^error: /, '') });
    return EXIT_USER;
  }
  if (isLiteshiftError(error)) {
    printError(`liteshift: ${error.toUserLine()}`);
    if (json) printJsonError(error);
    return error.code === 'NOT_READY' ? EXIT_NOT_READY : error.code === 'INTERNAL' ? EXIT_INTERNAL : EXIT_USER;
  }
  // Not a mistake the user can fix: the stack goes to the debug log, not the screen.
  const log = createLogger({ service: 'cli', level: process.env.LOG_LEVEL ?? 'info', format: defaultLogFormat() });
  log.debug({ err: error }, 'unexpected error');
  const message = scrubSecrets(errorMessage(error), []);
  printError(`liteshift: unexpected error: ${message} (please report it; rerun with LOG_LEVEL=debug for details)`);
  if (json) printJsonError({ code: 'INTERNAL', message });
  return EXIT_INTERNAL;
}
