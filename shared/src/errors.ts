/**
 * One error type for everything liteshift reports. `message` is the one line a user
 * reads, `hint` says how to fix it, `retriable` tells the retry helper whether trying
 * again can help, `cause` keeps the original for debug logs (never printed by the CLI).
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'SQLITE_NOT_FOUND'
  | 'SQLITE_NOT_DATABASE'
  | 'SQLITE_OPEN_FAILED'
  | 'SQLITE_BUSY'
  | 'SQLITE_UNSUPPORTED'
  | 'SQLITE_VALUE_REFUSED'
  | 'SQLITE_WRITE_FAILED'
  | 'REJECTS_PENDING'
  | 'SQLITE_ADDON'
  | 'PG_UNREACHABLE'
  | 'PG_AUTH_FAILED'
  | 'PG_TLS_FAILED'
  | 'PG_DATABASE_MISSING'
  | 'PG_QUERY_FAILED'
  | 'PG_TARGET_CONFLICT'
  | 'KAFKA_UNREACHABLE'
  | 'KAFKA_AUTH_FAILED'
  | 'KAFKA_TLS_FAILED'
  | 'KAFKA_FAILED'
  | 'KAFKA_MESSAGE_TOO_LARGE'
  | 'STACK_FAILED'
  | 'SCHEMA_UNKNOWN'
  | 'DECODE_FAILED'
  | 'TABLE_STOPPED'
  | 'NOT_READY'
  | 'PIPELINE_STOPPED'
  | 'PIPELINE_BEHIND'
  | 'INTERNAL';

export interface LiteshiftErrorOptions {
  hint?: string;
  retriable?: boolean;
  cause?: unknown;
}

export class LiteshiftError extends Error {
  override readonly name = 'LiteshiftError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: LiteshiftErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.retriable = options.retriable ?? false;
  }

  /** The single line the CLI prints. */
  toUserLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

export function isLiteshiftError(error: unknown): error is LiteshiftError {
  return error instanceof LiteshiftError;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
