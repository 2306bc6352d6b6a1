import { Option, type Command } from 'commander';
import { LiteshiftError, describePostgresUrl } from '@liteshift/shared';
import { APPLY_LIMIT_KEYS, context, withSettings } from '../settings-options.js';
import { runReplay, type ReplayResult } from '../replay.js';
import { formatCount, formatDuration, print, printJson } from '../output.js';
import { untilSignal } from './services.js';

const REPLAY_KEYS = ['databaseUrl', 'kafkaBrokers', 'topicPrefix', 'targetSchema', ...APPLY_LIMIT_KEYS] as const;

function parseSince(value: string): Date {
  // A bare date or a time without a zone would be read in the local zone: ask for one.
  const at = /(Z|[+-]\d{2}:?\d{2})$/i.test(value) || /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) {
    throw new LiteshiftError('CONFIG_INVALID', `--since must be an ISO 8601 time with a zone, e.g. 2026-05-01T12:00:00Z; got "${value}"`);
  }
  return at;
}

function parseTables(value: string): string[] {
  const names = value.split(',').map((n) => n.trim()).filter(Boolean);
  if (names.length === 0) throw new LiteshiftError('CONFIG_INVALID', '--tables needs at least one table name, e.g. --tables users,tasks');
  return names;
}

/** `liteshift replay`: the command's flags, and what it prints. */
export function addReplayCommand(program: Command): void {
  withSettings(
    program
      .command('replay')
      .description('apply the topics again into PostgreSQL, from the beginning or from a time, and exit once caught up (--follow: keep applying)')
      .option('--from-beginning', 'from the first message still on each topic (the default)')
      .addOption(new Option('--since <time>', 'from the first message written at or after this ISO 8601 time (with a zone)').argParser(parseSince))
      .addOption(new Option('--tables <a,b>', 'only these tables (default: every table on the schema topic)').argParser(parseTables))
      .option('--truncate', 'empty the replayed tables first, so that rows whose keys are on no topic go too (needs --from-beginning)')
      .option('--follow', 'once caught up, keep applying changes until SIGTERM, as `liteshift load --follow`')
      .option('--json', 'print the result as JSON'),
    REPLAY_KEYS,
  ).action(async (flags: Record<string, unknown>) => {
    if (flags.fromBeginning && flags.since) {
      throw new LiteshiftError('CONFIG_INVALID', '--from-beginning and --since exclude each other', { hint: 'give one of them (the default is --from-beginning)' });
    }
    const { settings, log } = context('loader', REPLAY_KEYS, flags);
    const json = Boolean(flags.json);
    const say = json ? () => undefined : print;
    const since = flags.since as Date | undefined;
    say(`liteshift replay: Kafka ${settings.kafkaBrokers.join(',')} (${settings.topicPrefix}.*) → ${describePostgresUrl(settings.databaseUrl)}`);
    let result: ReplayResult | null = null;
    await untilSignal(
      log,
      (signal) =>
        runReplay({
          ...settings,
          from: since ? { since } : { beginning: true },
          ...(flags.tables ? { tables: flags.tables as string[] } : {}),
          truncate: Boolean(flags.truncate),
          follow: Boolean(flags.follow),
          log,
          signal,
          onPhase: (phase) => say(`· ${phase}`),
          onCaughtUp: (r) => {
            result = r;
            if (json) printJson(r);
            else print(summary(r));
          },
        }),
      async () => undefined,
    );
    if (!result) {
      throw new LiteshiftError('NOT_READY', 'replay stopped before it caught up', {
        hint: 'run it again: it starts over from the same place (positions only ever move back)',
      });
    }
  });
}

function summary(r: ReplayResult): string {
  const a = r.applied;
  const lines = [
    `Replayed ${r.tables.length} table(s) (${r.tables.join(', ')}): ${formatCount(r.messages)} message(s) in ${formatDuration(r.durationMs)}${r.truncated ? ', tables emptied first' : ''}`,
    `  applied here: ${formatCount(a.upserted)} rows upserted, ${formatCount(a.deleted)} deleted, ${a.rejected} rejected, ${a.deadLettered} dead-lettered`,
  ];
  if (r.constraintsRestored.length > 0) lines.push(`  unique indexes and foreign keys created again on: ${r.constraintsRestored.join(', ')}`);
  if (a.rejected > 0 || a.deadLettered > 0) lines.push('  see `liteshift status` and liteshift.rejects; `liteshift verify` says whether the target equals the source');
  return lines.join('\n');
}
