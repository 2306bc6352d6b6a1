import { z } from 'zod';
import { LiteshiftError } from './errors.js';
import { parseCasts } from './schema/casts.js';

/**
 * Every setting is declared once: its environment variable, its CLI flag, default,
 * whether it is secret, and what it means. The CLI flags, the environment parsing and
 * the README's configuration table are all derived from this list.
 */
export interface SettingSpec<T extends z.ZodType = z.ZodType> {
  env: string;
  flag: string;
  /** Commander-style placeholder for the value. */
  arg: string;
  description: string;
  schema: T;
  default?: string;
  secret?: boolean;
  /** The flag may be given more than once; its values are joined with ';'. */
  repeatable?: boolean;
}

const brokerList = z
  .string()
  .min(1)
  .transform((value) => value.split(',').map((broker) => broker.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port')).min(1));

const postgresUrl = z
  .string()
  .min(1)
  .refine((value) => /^postgres(ql)?:\/\//i.test(value), 'must start with postgres:// or postgresql://');

const positiveInt = (max: number) => z.coerce.number().int().positive().max(max);

export const SETTINGS = {
  sqlitePath: {
    env: 'SQLITE_PATH',
    flag: '--sqlite-path',
    arg: '<path>',
    description: 'SQLite database file to migrate',
    schema: z.string().min(1),
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    flag: '--postgres-url',
    arg: '<url>',
    description: 'target PostgreSQL, postgres://user:password@host:port/db (never logged)',
    schema: postgresUrl,
    secret: true,
  },
  kafkaBrokers: {
    env: 'KAFKA_BROKERS',
    flag: '--kafka-brokers',
    arg: '<host:port,...>',
    description: 'Kafka bootstrap brokers',
    schema: brokerList,
  },
  topicPrefix: {
    env: 'LITESHIFT_TOPIC_PREFIX',
    flag: '--topic-prefix',
    arg: '<prefix>',
    description: 'topics are named <prefix>.<table>',
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'use letters, digits, dot, dash or underscore'),
    default: 'liteshift',
  },
  targetSchema: {
    env: 'LITESHIFT_TARGET_SCHEMA',
    flag: '--target-schema',
    arg: '<schema>',
    description: 'PostgreSQL schema that receives the tables',
    schema: z.string().min(1).max(63),
    default: 'public',
  },
  partitions: {
    env: 'LITESHIFT_PARTITIONS',
    flag: '--partitions',
    arg: '<n>',
    description: 'partitions per table topic (when liteshift creates it)',
    schema: positiveInt(1000),
    default: '3',
  },
  chunkRows: {
    env: 'LITESHIFT_CHUNK_ROWS',
    flag: '--chunk-rows',
    arg: '<n>',
    description: 'rows read from SQLite per snapshot chunk (one short read transaction each)',
    schema: positiveInt(1_000_000),
    default: '5000',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    flag: '--log-level',
    arg: '<level>',
    description: 'trace, debug, info, warn, error or silent',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    default: 'info',
  },
  logFormat: {
    env: 'LOG_FORMAT',
    flag: '--log-format',
    arg: '<format>',
    description: 'json (one line per event) or pretty; default pretty on a terminal',
    schema: z.enum(['json', 'pretty']),
  },
  onMisfit: {
    env: 'LITESHIFT_ON_MISFIT',
    flag: '--on-misfit',
    arg: '<policy>',
    description: 'stored values that do not fit the declared type: widen (the column takes a type that keeps every value) or reject (the type is kept; those rows go to liteshift.rejects)',
    schema: z.enum(['widen', 'reject']),
    default: 'widen',
  },
  cast: {
    env: 'LITESHIFT_CAST',
    flag: '--cast',
    arg: '<table.column=type>',
    description: 'PostgreSQL type for a column, as pgloader CAST: repeat the flag, or separate rules with ; (e.g. orders.total=numeric(12,2))',
    schema: z.string().transform((value, ctx) => {
      try {
        return parseCasts(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
    repeatable: true,
  },
  foldIdentifiers: {
    env: 'LITESHIFT_FOLD_IDENTIFIERS',
    flag: '--fold-identifiers',
    arg: '<mode>',
    description: 'PostgreSQL names: none (exactly as in SQLite, always quoted) or lower (A-Z lowered, so they need no quotes)',
    schema: z.enum(['none', 'lower']),
    default: 'none',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
export type Settings = { [K in SettingKey]: z.output<(typeof SETTINGS)[K]['schema']> };

/** camelCase key of a flag as commander stores it: --postgres-url → postgresUrl. */
export function flagKey(spec: SettingSpec): string {
  return spec.flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Resolves the settings a command needs: flag, then environment, then default.
 * Every mistake is reported at once, one line each, naming the flag and variable.
 */
export function resolveSettings<K extends SettingKey>(
  keys: readonly K[],
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  optional: readonly K[] = [],
): Pick<Settings, K> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of keys) {
    const spec: SettingSpec = SETTINGS[key];
    const fromFlag = flags[flagKey(spec)];
    // An empty variable (what docker-compose gives for `${X:-}`) means "not set".
    const fromEnv = env[spec.env] === '' ? undefined : env[spec.env];
    const raw = fromFlag ?? fromEnv ?? spec.default;
    if (raw === undefined || raw === '') {
      if (!optional.includes(key)) problems.push(`${spec.flag} (or ${spec.env}) is required: ${spec.description}`);
      continue;
    }
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) {
      out[key] = parsed.data;
    } else {
      const shown = spec.secret ? '' : ` "${String(raw)}"`;
      const reason = parsed.error.issues[0]?.message ?? 'invalid value';
      problems.push(`${spec.flag} (or ${spec.env})${shown}: ${reason}`);
    }
  }
  if (problems.length > 0) {
    throw new LiteshiftError('CONFIG_INVALID', problems.join('\n'), {
      hint: problems.length === 1 ? 'see liteshift <command> --help' : undefined,
    });
  }
  return out as Pick<Settings, K>;
}

/** The README's configuration table, generated from the declarations above. */
export function settingsMarkdownTable(): string {
  const rows = Object.values(SETTINGS).map((spec: SettingSpec) => {
    const fallback = spec.default === undefined ? '—' : `\`${spec.default}\``;
    return `| \`${spec.flag} ${spec.arg}\` | \`${spec.env}\` | ${fallback} | ${spec.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
