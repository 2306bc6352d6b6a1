import { Option, type Command } from 'commander';
import { SETTINGS, resolveSettings, createLogger, defaultLogFormat, type Logger, type SettingKey, type Settings } from '@liteshift/shared';

/** Adds the flags of the given settings to a command, each naming its environment variable. */
export function withSettings(command: Command, keys: readonly SettingKey[]): Command {
  for (const key of keys) {
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
  const settings = resolveSettings(keys, flags, process.env, optional);
  const logging = resolveSettings(['logLevel', 'logFormat'], flags, process.env, ['logFormat']);
  const resolved: Logging = { level: logging.logLevel, format: logging.logFormat ?? defaultLogFormat() };
  const logFor = (name: string): Logger => createLogger({ service: name, ...resolved });
  return { settings, log: logFor(service), logFor, logging: resolved };
}
