import { Option, type Command } from 'commander';
import {
  SETTINGS,
  companionsOf,
  createLogger,
  defaultLogFormat,
  kafkaSecurityOf,
  resolveSettings,
  setKafkaSecurity,
  withPostgresTls,
  type Logger,
  type SettingKey,
  type Settings,
} from '@liteshift/shared';

/**
 * What the user left out on purpose: every command that judges (verify, cutover, repair)
 * must be told, or it rightly finds those tables and columns missing.
 */
export const EXCLUSION_KEYS = ['excludeTable', 'excludeColumn'] as const;

/** Adds the flags of the given settings (and of those accompanying them) to a command, each naming its environment variable. */
export function withSettings(command: Command, keys: readonly SettingKey[]): Command {
  for (const key of [...keys, ...companionsOf(keys)]) {
    const spec = SETTINGS[key];
    const fallback = 'default' in spec ? `; default ${spec.default}` : '';
    const option = new Option(`${spec.flag} ${spec.arg}`, `${spec.description} (env ${spec.env}${fallback})`);
    if ('repeatable' in spec && spec.repeatable) option.argParser((value: string, previous: string | undefined) => (previous ? `${previous};${value}` : value));
    command.addOption(option);
  }
  command.addOption(new Option(`${SETTINGS.logLevel.flag} ${SETTINGS.logLevel.arg}`, `${SETTINGS.logLevel.description} (env ${SETTINGS.logLevel.env})`));
  command.addOption(new Option(`${SETTINGS.logFormat.flag} ${SETTINGS.logFormat.arg}`, `${SETTINGS.logFormat.description} (env ${SETTINGS.logFormat.env})`));
  return command;
}

export interface CommandContext<K extends SettingKey> {
  settings: Pick<Settings, K>;
  log: Logger;
  /** A logger for another service run by this process (each log line names one service). */
  logFor: (service: string) => Logger;
  logging: Logging;
}

export interface Logging {
  level: string;
  format: 'json' | 'pretty';
}

/** Resolves flags + environment (+ .env) into validated settings and a logger. */
export function context<K extends SettingKey>(
  service: string,
  keys: readonly K[],
  flags: Record<string, unknown>,
  optional: readonly K[] = [],
): CommandContext<K> {
  const companions = companionsOf(keys);
  const all = resolveSettings([...keys, ...companions], flags, process.env, [...optional, ...companions]);
  const { postgresSslMode, postgresCaFile, kafkaSaslMechanism, kafkaSaslUsername, kafkaSaslPassword, kafkaTls, kafkaCaFile, ...rest } = all as Partial<Settings>;
  // TLS travels inside the URL, so that every connection made from it (pools, the
  // loader's worker thread) gets it; Kafka's security is the process's (kafka/security.ts).
  if (rest.databaseUrl) rest.databaseUrl = withPostgresTls(rest.databaseUrl, { sslMode: postgresSslMode, caFile: postgresCaFile });
  if (keys.includes('kafkaBrokers' as K)) setKafkaSecurity(kafkaSecurityOf({ kafkaSaslMechanism, kafkaSaslUsername, kafkaSaslPassword, kafkaTls, kafkaCaFile }));
  const settings = rest as Pick<Settings, K>;
  const logging = resolveSettings(['logLevel', 'logFormat'], flags, process.env, ['logFormat']);
  const resolved: Logging = { level: logging.logLevel, format: logging.logFormat ?? defaultLogFormat() };
  const logFor = (name: string): Logger => createLogger({ service: name, ...resolved });
  return { settings, log: logFor(service), logFor, logging: resolved };
}
