import { pino, type Logger, type LoggerOptions } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerSettings {
  service: string;
  level?: string;
  /** 'json' (one line per event) or 'pretty' (for a person tailing the logs). */
  format?: 'json' | 'pretty';
  /**
   * Takes each line (with its newline) instead of stderr: progress bars print log lines
   * above themselves, else a line would land in the middle of them.
   */
  write?: (line: string) => void;
}

/** Keys whose values never reach a log line, wherever they are nested. */
const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'databaseUrl',
  '*.databaseUrl',
  'postgresUrl',
  '*.postgresUrl',
  'connectionString',
  '*.connectionString',
  'sasl',
  '*.sasl',
  'kafkaSaslPassword',
  '*.kafkaSaslPassword',
];

/**
 * Logs go to stderr so that stdout carries only what a command prints for the user
 * (summaries, verdicts, --json).
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service },
    redact: { paths: REDACT_PATHS, censor: '***' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const write = settings.write;
  if (write) {
    const pretty = settings.format === 'pretty' ? prettyFactory({ colorize: process.stderr.isTTY, ignore: 'pid,hostname', messageKey: 'msg' }) : null;
    return pino(options, { write: (line: string) => write(pretty ? pretty(line) : line) });
  }
  if (settings.format === 'pretty') {
    return pino(
      options,
      pino.transport({
        target: 'pino-pretty',
        options: { destination: 2, colorize: process.stderr.isTTY, ignore: 'pid,hostname', messageKey: 'msg' },
      }),
    );
  }
  return pino(options, pino.destination({ fd: 2, sync: true }));
}

export function defaultLogFormat(): 'json' | 'pretty' {
  const env = process.env.LOG_FORMAT;
  if (env === 'json' || env === 'pretty') return env;
  return process.stderr.isTTY ? 'pretty' : 'json';
}
