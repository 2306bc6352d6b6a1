import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS, companionsOf, flagKey, resolveSettings } from './config.js';
import { LiteshiftError } from './errors.js';

function failure(run: () => unknown): LiteshiftError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LiteshiftError);
    return error as LiteshiftError;
  }
  throw new Error('expected resolveSettings to throw');
}

describe('flagKey', () => {
  it('is the camelCase name commander stores a flag under', () => {
    expect(flagKey(SETTINGS.databaseUrl)).toBe('postgresUrl');
    expect(flagKey(SETTINGS.sqlitePath)).toBe('sqlitePath');
    expect(flagKey(SETTINGS.kafkaBrokers)).toBe('kafkaBrokers');
    expect(flagKey(SETTINGS.topicPrefix)).toBe('topicPrefix');
    expect(flagKey({ ...SETTINGS.topicPrefix, flag: '--a-b-c' })).toBe('aBC');
  });

  it('every setting has a distinct flag and environment variable', () => {
    const specs = Object.values(SETTINGS);
    expect(new Set(specs.map((s) => flagKey(s))).size).toBe(specs.length);
    expect(new Set(specs.map((s) => s.env)).size).toBe(specs.length);
  });
});

describe('resolveSettings', () => {
  it('a flag beats the environment, which beats the default', () => {
    const env = { LITESHIFT_TOPIC_PREFIX: 'from-env' };
    expect(resolveSettings(['topicPrefix'], { topicPrefix: 'from-flag' }, env)).toEqual({ topicPrefix: 'from-flag' });
    expect(resolveSettings(['topicPrefix'], {}, env)).toEqual({ topicPrefix: 'from-env' });
    expect(resolveSettings(['topicPrefix'], {}, {})).toEqual({ topicPrefix: 'liteshift' });
  });

  it('reads the names from the migration guide', () => {
    const settings = resolveSettings(['sqlitePath', 'databaseUrl', 'kafkaBrokers', 'logLevel'], {}, {
      SQLITE_PATH: '/data/app.db',
      DATABASE_URL: 'postgres://u:p@db:5432/app',
      KAFKA_BROKERS: 'k1:9092',
      LOG_LEVEL: 'debug',
    });
    expect(settings).toEqual({ sqlitePath: '/data/app.db', databaseUrl: 'postgres://u:p@db:5432/app', kafkaBrokers: ['k1:9092'], logLevel: 'debug' });
  });

  it('an empty environment variable (docker-compose ${X:-}) falls back to the default', () => {
    const settings = resolveSettings(['partitions', 'topicPrefix'], {}, { LITESHIFT_PARTITIONS: '', LITESHIFT_TOPIC_PREFIX: '' });
    expect(settings).toEqual({ partitions: 3, topicPrefix: 'liteshift' });
  });

  it('coerces numbers and applies numeric defaults', () => {
    expect(resolveSettings(['partitions', 'chunkRows'], { partitions: '7' }, {})).toEqual({ partitions: 7, chunkRows: 5000 });
    const error = failure(() => resolveSettings(['partitions'], { partitions: '0' }, {}));
    expect(error.message).toContain('--partitions (or LITESHIFT_PARTITIONS) "0"');
  });

  it('a missing required setting names both the flag and the environment variable', () => {
    const error = failure(() => resolveSettings(['sqlitePath'], {}, {}));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('--sqlite-path');
    expect(error.message).toContain('SQLITE_PATH');
    expect(error.message).toMatch(/required/);
  });

  it('reports every problem at once, one line each', () => {
    const error = failure(() => resolveSettings(['sqlitePath', 'databaseUrl', 'kafkaBrokers'], {}, {}));
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('--postgres-url (or DATABASE_URL)');
    expect(lines[2]).toContain('--kafka-brokers (or KAFKA_BROKERS)');
  });

  it('an optional setting may be missing', () => {
    expect(resolveSettings(['sqlitePath', 'logFormat'], { sqlitePath: 'x.db' }, {}, ['logFormat'])).toEqual({ sqlitePath: 'x.db' });
  });

  it('parses a broker list, trimming spaces and empty entries', () => {
    expect(resolveSettings(['kafkaBrokers'], { kafkaBrokers: 'a:1, b:2' }, {})).toEqual({ kafkaBrokers: ['a:1', 'b:2'] });
    expect(resolveSettings(['kafkaBrokers'], {}, { KAFKA_BROKERS: ' kafka-1.internal:9092 ,, 10.0.0.2:19092,' })).toEqual({
      kafkaBrokers: ['kafka-1.internal:9092', '10.0.0.2:19092'],
    });
  });

  it('a broker without a port is refused with a message that says how', () => {
    const error = failure(() => resolveSettings(['kafkaBrokers'], { kafkaBrokers: 'nohost' }, {}));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('--kafka-brokers (or KAFKA_BROKERS) "nohost"');
    expect(error.message).toContain('host:port');
    expect(() => resolveSettings(['kafkaBrokers'], { kafkaBrokers: 'a:1,b' }, {})).toThrow(/host:port/);
    expect(() => resolveSettings(['kafkaBrokers'], { kafkaBrokers: ' , ' }, {})).toThrow(LiteshiftError);
  });

  it('refuses a bad enum value, naming it', () => {
    const error = failure(() => resolveSettings(['logLevel'], { logLevel: 'loud' }, {}));
    expect(error.message).toContain('"loud"');
  });

  it('never echoes a bad --postgres-url: it carries the password', () => {
    const secret = 'mysql://admin:Sup3r-S3cret-Pw@db.internal:3306/app';
    const error = failure(() => resolveSettings(['databaseUrl'], { postgresUrl: secret }, {}));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('--postgres-url (or DATABASE_URL)');
    expect(error.message).toMatch(/postgres:\/\//);
    expect(error.message).not.toContain('Sup3r-S3cret-Pw');
    expect(error.message).not.toContain('admin');
    expect(error.toUserLine()).not.toContain('Sup3r-S3cret-Pw');
    expect(String(error.stack)).not.toContain('Sup3r-S3cret-Pw');
    expect(JSON.stringify(error)).not.toContain('Sup3r-S3cret-Pw');
  });

  it('never echoes a bad DATABASE_URL from the environment either', () => {
    const error = failure(() => resolveSettings(['databaseUrl'], {}, { DATABASE_URL: 'pg://user:hunter2hunter2@h/db' }));
    expect(error.message).not.toContain('hunter2hunter2');
  });

  it('accepts postgres:// and postgresql://', () => {
    expect(resolveSettings(['databaseUrl'], { postgresUrl: 'postgresql://h/db' }, {})).toEqual({ databaseUrl: 'postgresql://h/db' });
    expect(resolveSettings(['databaseUrl'], { postgresUrl: 'POSTGRES://h/db' }, {})).toEqual({ databaseUrl: 'POSTGRES://h/db' });
  });

  it('refuses a topic prefix Kafka cannot name topics with', () => {
    expect(() => resolveSettings(['topicPrefix'], { topicPrefix: 'has space' }, {})).toThrow(/letters, digits/);
  });
});

describe('mapping settings (--on-misfit, --cast, --fold-identifiers)', () => {
  it('default to keeping every value and every name', () => {
    expect(resolveSettings(['onMisfit', 'cast', 'foldIdentifiers'], {}, {}, ['cast'])).toEqual({ onMisfit: 'widen', foldIdentifiers: 'none' });
  });

  it('read --cast rules from the flag or LITESHIFT_CAST (as in .env)', () => {
    const fromEnv = resolveSettings(['cast'], {}, { LITESHIFT_CAST: 'orders.total=numeric(12,2); users.age=int' });
    expect(fromEnv.cast.map((c) => `${c.table}.${c.column}=${c.pgType}`)).toEqual(['orders.total=numeric(12,2)', 'users.age=integer']);
    expect(resolveSettings(['cast'], { cast: 't.c=json' }, {}).cast).toEqual([{ table: 't', column: 'c', kind: 'text', pgType: 'json' }]);
  });

  it('name the flag and the bad rule', () => {
    const error = failure(() => resolveSettings(['cast', 'onMisfit', 'foldIdentifiers'], { cast: 't.c=float4', onMisfit: 'drop', foldIdentifiers: 'upper' }, {}));
    expect(error.message).toMatch(/--cast \(or LITESHIFT_CAST\) "t\.c=float4": .*6 significant digits/);
    expect(error.message).toMatch(/--on-misfit \(or LITESHIFT_ON_MISFIT\) "drop"/);
    expect(error.message).toMatch(/--fold-identifiers \(or LITESHIFT_FOLD_IDENTIFIERS\) "upper"/);
  });
});

describe('security settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'liteshift-config-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accompany the PostgreSQL URL and the brokers wherever a command takes them', () => {
    expect(companionsOf(['sqlitePath'])).toEqual([]);
    expect(companionsOf(['databaseUrl'])).toEqual(['postgresSslMode', 'postgresCaFile']);
    expect(companionsOf(['kafkaBrokers'])).toEqual(['kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword', 'kafkaTls', 'kafkaCaFile']);
  });

  it('read libpq-style and Kafka names from the environment', () => {
    const keys = [...companionsOf(['databaseUrl', 'kafkaBrokers'])];
    const env = { PGSSLMODE: 'verify-full', PGSSLROOTCERT: ca, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 'pw', KAFKA_TLS: 'yes', KAFKA_CA_FILE: ca };
    expect(resolveSettings(keys, {}, env)).toEqual({
      postgresSslMode: 'verify-full',
      postgresCaFile: ca,
      kafkaSaslMechanism: 'scram-sha-512',
      kafkaSaslUsername: 'alice',
      kafkaSaslPassword: 'pw',
      kafkaTls: true,
      kafkaCaFile: ca,
    });
  });

  it('several mistakes at once: one line each, never the password', () => {
    const error = failure(() =>
      resolveSettings(
        ['databaseUrl', 'postgresSslMode', 'postgresCaFile', 'kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword', 'kafkaTls', 'kafkaCaFile'],
        { postgresUrl: `postgres://u:Hush-123@db/app?sslmode=verify-full&sslrootcert=${join(dir, 'gone.pem')}` },
        { PGSSLMODE: 'prefer', PGSSLROOTCERT: dir, KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_PASSWORD: 'Hush-456', KAFKA_TLS: 'maybe' },
        ['databaseUrl', 'postgresSslMode', 'postgresCaFile', 'kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword', 'kafkaTls', 'kafkaCaFile'],
      ),
    );
    expect(error.message.split('\n')).toEqual([
      `--postgres-url (or DATABASE_URL): sslrootcert= in the URL: ${join(dir, 'gone.pem')} does not exist`,
      '--postgres-sslmode (or PGSSLMODE) "prefer": use disable, require, verify-ca, verify-full (prefer and allow, which fall back to plain text, are not supported)',
      `--postgres-ca-file (or PGSSLROOTCERT) "${dir}": ${dir} is not a file`,
      '--kafka-sasl-mechanism (or KAFKA_SASL_MECHANISM) "PLAIN": use scram-sha-256 or scram-sha-512',
      '--kafka-tls (or KAFKA_TLS) "maybe": use true or false',
      '--kafka-sasl-username (or KAFKA_SASL_USERNAME) is required with --kafka-sasl-mechanism (or KAFKA_SASL_MECHANISM): SASL needs a mechanism, a user name and a password',
    ]);
    expect(error.message).not.toMatch(/Hush/);
  });

  it('a CA file with TLS turned off is a contradiction', () => {
    const error = failure(() => resolveSettings(['kafkaTls', 'kafkaCaFile'], { kafkaTls: 'false', kafkaCaFile: ca }, {}));
    expect(error.message).toBe('--kafka-ca-file (or KAFKA_CA_FILE) needs TLS, but --kafka-tls (or KAFKA_TLS) is false');
  });
});
