import { z } from 'zod';
import { LiteshiftError } from './errors.js';
import { parseCasts } from './schema/casts.js';
import { parseRenames } from './schema/pg-names.js';
import { parseExcludedColumns, parseExcludedTables } from './schema/exclusions.js';
import { postgresUrlTlsProblem, SSL_MODES } from './pg/tls.js';
import { SASL_MECHANISMS } from './kafka/security.js';
import { unreadableFileReason } from './readable-file.js';

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
  /**
   * Offered, always optionally, by every command that takes this other setting: how to
   * reach PostgreSQL or Kafka securely goes wherever their address does.
   */
  accompanies?: 'databaseUrl' | 'kafkaBrokers';
}

const brokerList = z
  .string()
  .min(1)
  .transform((value) => value.split(',').map((broker) => broker.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port')).min(1));

const readableFile = z.string().min(1).superRefine((path, ctx) => {
  const reason = unreadableFileReason(path);
  if (reason) ctx.addIssue({ code: 'custom', message: reason });
});

const postgresUrl = z
  .string()
  .min(1)
  .refine((value) => /^postgres(ql)?:\/\//i.test(value), 'must start with postgres:// or postgresql://')
  .superRefine((value, ctx) => {
    const problem = postgresUrlTlsProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const yesNo = z
  .string()
  .regex(/^(true|false|1|0|yes|no|on|off)$/i, 'use true or false')
  .transform((value) => /^(true|1|yes|on)$/i.test(value));

const positiveInt = (max: number) => z.coerce.number().int().positive().max(max);

/** Rules or names parsed by `parse`, which throws an Error naming every mistake (--cast, --rename, --exclude-table, --exclude-column). */
const rules = <T>(parse: (spec: string) => T) =>
  z.string().transform((value, ctx) => {
    try {
      return parse(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      return z.NEVER;
    }
  });

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
  postgresSslMode: {
    env: 'PGSSLMODE',
    flag: '--postgres-sslmode',
    arg: '<mode>',
    description: 'TLS to PostgreSQL, as libpq: disable, require (encrypted, certificate not checked), verify-ca (signed by the CA) or verify-full (signed by the CA and naming the host); sslmode= in the URL wins. Default disable, or verify-full when a CA file is given',
    schema: z.enum(SSL_MODES, { error: `use ${SSL_MODES.join(', ')} (prefer and allow, which fall back to plain text, are not supported)` }),
    accompanies: 'databaseUrl',
  },
  postgresCaFile: {
    env: 'PGSSLROOTCERT',
    flag: '--postgres-ca-file',
    arg: '<path>',
    description: "PEM file of the CA(s) that sign PostgreSQL's certificate (sslrootcert= in the URL wins); without it verify-full trusts Node's built-in CAs",
    schema: readableFile,
    accompanies: 'databaseUrl',
  },
  kafkaBrokers: {
    env: 'KAFKA_BROKERS',
    flag: '--kafka-brokers',
    arg: '<host:port,...>',
    description: 'Kafka bootstrap brokers',
    schema: brokerList,
  },
  kafkaSaslMechanism: {
    env: 'KAFKA_SASL_MECHANISM',
    flag: '--kafka-sasl-mechanism',
    arg: '<mechanism>',
    description: 'SASL authentication to Kafka: scram-sha-256 or scram-sha-512 (needs the username and password); unset: none',
    schema: z.enum(SASL_MECHANISMS, { error: `use ${SASL_MECHANISMS.join(' or ')}` }),
    accompanies: 'kafkaBrokers',
  },
  kafkaSaslUsername: {
    env: 'KAFKA_SASL_USERNAME',
    flag: '--kafka-sasl-username',
    arg: '<name>',
    description: 'SASL user name for Kafka',
    schema: z.string().min(1),
    accompanies: 'kafkaBrokers',
  },
  kafkaSaslPassword: {
    env: 'KAFKA_SASL_PASSWORD',
    flag: '--kafka-sasl-password',
    arg: '<password>',
    description: 'SASL password for Kafka (never logged; prefer the environment or .env to the flag, which other users can see in ps)',
    schema: z.string().min(1),
    secret: true,
    accompanies: 'kafkaBrokers',
  },
  kafkaTls: {
    env: 'KAFKA_TLS',
    flag: '--kafka-tls',
    arg: '<boolean>',
    description: "TLS to Kafka, the broker's certificate checked against Node's built-in CAs or --kafka-ca-file, and its host name",
    schema: yesNo,
    accompanies: 'kafkaBrokers',
  },
  kafkaCaFile: {
    env: 'KAFKA_CA_FILE',
    flag: '--kafka-ca-file',
    arg: '<path>',
    description: "PEM file of the CA(s) that sign the brokers' certificates; turns TLS on",
    schema: readableFile,
    accompanies: 'kafkaBrokers',
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
    description: 'rows read from SQLite per snapshot chunk (one short read transaction each; fewer when rows are large, about 8 MB a chunk at most)',
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
    schema: rules(parseCasts),
    repeatable: true,
  },
  timestamps: {
    env: 'LITESHIFT_TIMESTAMPS',
    flag: '--timestamps',
    arg: '<mode>',
    description:
      'DATETIME/TIMESTAMP columns whose text has no UTC offset: utc (timestamptz, the text read as UTC, as ORMs write it), naive (timestamp without time zone) or convert (as utc, and a target table an earlier run made with timestamp columns is altered to timestamptz instead of kept as it is)',
    schema: z.enum(['utc', 'naive', 'convert']),
    default: 'utc',
  },
  excludeTable: {
    env: 'LITESHIFT_EXCLUDE_TABLE',
    flag: '--exclude-table',
    arg: '<table>',
    description: 'leave a table out on purpose (the verdict lists it; any other table missing from PostgreSQL is NOT READY): repeat the flag, or separate names with ;',
    schema: rules(parseExcludedTables),
    repeatable: true,
  },
  excludeColumn: {
    env: 'LITESHIFT_EXCLUDE_COLUMN',
    flag: '--exclude-column',
    arg: '<table.column>',
    description: 'leave a column out on purpose (the verdict lists it): repeat the flag, or separate names with ;',
    schema: rules(parseExcludedColumns),
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
  rename: {
    env: 'LITESHIFT_RENAME',
    flag: '--rename',
    arg: '<table[.column]=name>',
    description: 'PostgreSQL name for a table or column, used exactly, instead of the one liteshift makes (names past 63 bytes get a prefix and a hash): repeat the flag, or separate rules with ; (e.g. "Order Details"=order_details)',
    schema: rules(parseRenames),
    repeatable: true,
  },
  httpPort: {
    env: 'LITESHIFT_HTTP_PORT',
    flag: '--http-port',
    arg: '<port>',
    description: 'serve /healthz, /readyz and /metrics (Prometheus) on this port (extract, load, verify --watch); 0 or unset: no HTTP server',
    schema: z.coerce
      .string()
      .regex(/^\d{1,5}$/, 'must be a port number, 0 to 65535')
      .transform(Number)
      .refine((port) => port <= 65535, 'must be a port number, 0 to 65535'),
  },
  httpHost: {
    env: 'LITESHIFT_HTTP_HOST',
    flag: '--http-host',
    arg: '<address>',
    description: 'address the HTTP server binds: 127.0.0.1 serves this machine only; 0.0.0.0 every interface (in a container)',
    schema: z.string().min(1),
    default: '127.0.0.1',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
export type Settings = { [K in SettingKey]: z.output<(typeof SETTINGS)[K]['schema']> };

/** camelCase key of a flag as commander stores it: --postgres-url → postgresUrl. */
export function flagKey(spec: SettingSpec): string {
  return spec.flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The settings that accompany any of `keys` and are not among them (TLS beside the URL, SASL beside the brokers). */
export function companionsOf(keys: readonly SettingKey[]): SettingKey[] {
  return (Object.keys(SETTINGS) as SettingKey[]).filter((key) => {
    const owner = (SETTINGS[key] as SettingSpec).accompanies;
    return owner !== undefined && keys.includes(owner) && !keys.includes(key);
  });
}

const SASL_KEYS = ['kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword'] as const;

/** Mistakes no single setting shows: SASL given in part, a CA file with TLS turned off. */
function combinationProblems(given: ReadonlySet<SettingKey>, out: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const sasl = SASL_KEYS.filter((key) => given.has(key));
  if (sasl.length > 0 && sasl.length < SASL_KEYS.length) {
    const first = SETTINGS[sasl[0]!];
    for (const key of SASL_KEYS.filter((k) => !given.has(k))) {
      problems.push(`${SETTINGS[key].flag} (or ${SETTINGS[key].env}) is required with ${first.flag} (or ${first.env}): SASL needs a mechanism, a user name and a password`);
    }
  }
  if (out.kafkaTls === false && given.has('kafkaCaFile')) {
    problems.push(`${SETTINGS.kafkaCaFile.flag} (or ${SETTINGS.kafkaCaFile.env}) needs TLS, but ${SETTINGS.kafkaTls.flag} (or ${SETTINGS.kafkaTls.env}) is false`);
  }
  return problems;
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
  const given = new Set<SettingKey>();
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
    if (fromFlag !== undefined || fromEnv !== undefined) given.add(key);
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) {
      out[key] = parsed.data;
    } else {
      const shown = spec.secret ? '' : ` "${String(raw)}"`;
      const reason = parsed.error.issues[0]?.message ?? 'invalid value';
      problems.push(`${spec.flag} (or ${spec.env})${shown}: ${reason}`);
    }
  }
  problems.push(...combinationProblems(given, out));
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
