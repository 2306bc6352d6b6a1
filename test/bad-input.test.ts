import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTodoDatabase } from '@liteshift/shared';
import { describeRun, expectCleanFailure, migrateArgs, runCli } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { deleteTopicsWithPrefix, topicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { adminQuery, createTestDatabase, urlForDatabase, userRelations, userSchemas, type TestDatabase } from './helpers/postgres.js';

const brokers = inject('kafkaBrokers');
const adminUrl = inject('adminDatabaseUrl');

const ROLE = `liteshift_pw_test_${process.pid}`;
const ROLE_PASSWORD = 'S3cret-Pa55';

/**
 * Does the server check passwords on 127.0.0.1? Tried, not guessed from pg_hba: a role
 * with a password, and a connection with a wrong one. On a `trust` setup it succeeds.
 */
async function passwordsAreChecked(): Promise<boolean> {
  await adminQuery(adminUrl, `DROP ROLE IF EXISTS ${ROLE}`);
  await adminQuery(adminUrl, `CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASSWORD}'`);
  try {
    const url = new URL(adminUrl);
    url.username = ROLE;
    url.password = 'not-the-password';
    const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      return false;
    } catch {
      return true;
    } finally {
      await client.end().catch(() => undefined);
    }
  } finally {
    await adminQuery(adminUrl, `DROP ROLE IF EXISTS ${ROLE}`);
  }
}
const checksPasswords = await passwordsAreChecked();
if (!checksPasswords) {
  console.warn('[bad-input] PostgreSQL on this machine accepts any password (pg_hba trust): the wrong-password case is skipped, a non-existent role is tested instead');
}

describe('bad input: one clear line, no stack, nothing written', () => {
  let workDir: string;
  let goodSqlite: string;
  let target: TestDatabase | undefined;
  let prefix = '';

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'liteshift-bad-'));
    goodSqlite = join(workDir, 'good.db');
    createTodoDatabase(goodSqlite, { users: 5, tasks: 20, recurringPatterns: 3 });
  });

  afterEach(async () => {
    await target?.drop();
    target = undefined;
    if (prefix) await deleteTopicsWithPrefix(brokers, prefix);
    prefix = '';
  });

  afterAll(async () => {
    await adminQuery(adminUrl, `DROP ROLE IF EXISTS ${ROLE}`).catch(() => undefined);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  async function freshTarget(label: string): Promise<TestDatabase> {
    target = await createTestDatabase(adminUrl, label);
    prefix = uniquePrefix(label);
    return target;
  }

  async function expectNothingWritten(db: TestDatabase | undefined): Promise<void> {
    if (db) {
      expect(await userRelations(db.url), 'tables created in the target').toEqual([]);
      expect(await userSchemas(db.url), 'schemas created in the target').toEqual([]);
    }
    expect(await topicsWithPrefix(brokers, prefix), 'topics created').toEqual([]);
  }

  const migrate = (sqlitePath: string, postgresUrl: string, kafka = brokers, extra: string[] = []) =>
    runCli(migrateArgs({ sqlitePath, databaseUrl: postgresUrl, brokers: kafka, prefix }, ...extra));

  it('(a) --sqlite-path that does not exist (and is not created)', async () => {
    const db = await freshTarget('bad_missing');
    const missing = join(workDir, 'no-such-dir-file.db');
    const run = await migrate(missing, db.url);
    const line = expectCleanFailure(run);
    expect(line).toContain(missing);
    expect(existsSync(missing), 'an empty database was created at the wrong path').toBe(false);
    await expectNothingWritten(db);
  });

  it('(b) a text file', async () => {
    const db = await freshTarget('bad_text');
    const text = join(workDir, 'notes.txt');
    writeFileSync(text, 'hello, this is not a database\n');
    const run = await migrate(text, db.url);
    const line = expectCleanFailure(run);
    expect(line).toContain(text);
    expect(readFileSync(text, 'utf8')).toBe('hello, this is not a database\n');
    for (const suffix of ['-wal', '-shm', '-journal']) expect(existsSync(text + suffix)).toBe(false);
    await expectNothingWritten(db);
  });

  it('(c) an empty file (stays empty)', async () => {
    const db = await freshTarget('bad_empty');
    const empty = join(workDir, 'empty.db');
    writeFileSync(empty, '');
    const run = await migrate(empty, db.url);
    const line = expectCleanFailure(run);
    expect(line).toContain(empty);
    expect(statSync(empty).size).toBe(0);
    for (const suffix of ['-wal', '-shm', '-journal']) expect(existsSync(empty + suffix)).toBe(false);
    await expectNothingWritten(db);
  });

  it('(d) PostgreSQL unreachable: fails within 30 s, password in the URL never shown', async () => {
    prefix = uniquePrefix('bad-pg');
    const port = await freePort();
    const run = await migrate(goodSqlite, `postgres://u:Sup3rS3cret@127.0.0.1:${port}/db`, brokers);
    const line = expectCleanFailure(run, ['Sup3rS3cret']);
    expect(line).toContain(`127.0.0.1:${port}`);
    expect(run.ms).toBeLessThan(30_000);
    await expectNothingWritten(undefined);
  }, 60_000);

  it('(e) Kafka unreachable: fails within 30 s, password in the URL never shown, nothing written to PostgreSQL', async () => {
    const db = await freshTarget('bad_kafka');
    const port = await freePort();
    const url = new URL(db.url);
    url.password = 'Sup3rS3cret'; // trust auth ignores it; it must still never be printed
    const run = await migrate(goodSqlite, url.toString(), `127.0.0.1:${port}`);
    const line = expectCleanFailure(run, ['Sup3rS3cret']);
    expect(line).toContain(`127.0.0.1:${port}`);
    expect(run.ms, describeRun(run)).toBeLessThan(30_000);
    await expectNothingWritten(db);
  }, 90_000);

  it(`(f) a role that does not exist${checksPasswords ? '' : ' (local auth is trust here, so a wrong password would be accepted)'}: clear line, password never shown`, async () => {
    const db = await freshTarget('bad_role');
    const url = new URL(db.url);
    url.username = 'liteshift_no_such_role';
    url.password = ROLE_PASSWORD;
    const run = await migrate(goodSqlite, url.toString());
    const line = expectCleanFailure(run, [ROLE_PASSWORD, 'Sup3rS3cret']);
    expect(line).toMatch(/role "liteshift_no_such_role" does not exist/);
    await expectNothingWritten(db);
  });

  it.skipIf(!checksPasswords)(
    `(f) wrong password for a role with a password${checksPasswords ? '' : ' — skipped: pg_hba uses trust on 127.0.0.1, any password is accepted'}`,
    async () => {
      const db = await freshTarget('bad_password');
      await adminQuery(adminUrl, `CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASSWORD}'`);
      try {
        const url = new URL(urlForDatabase(adminUrl, db.name));
        url.username = ROLE;
        url.password = 'Wr0ng-Pa55';
        const run = await migrate(goodSqlite, url.toString());
        const line = expectCleanFailure(run, [ROLE_PASSWORD, 'Wr0ng-Pa55']);
        expect(line).toMatch(/password|credentials/i);
        await expectNothingWritten(db);
      } finally {
        await adminQuery(adminUrl, `DROP ROLE IF EXISTS ${ROLE}`);
      }
    },
  );

  it('(g) a bad flag value: --partitions abc', async () => {
    const db = await freshTarget('bad_partitions');
    const run = await migrate(goodSqlite, db.url, brokers, ['--partitions', 'abc']);
    const line = expectCleanFailure(run);
    expect(line).toContain('--partitions');
    expect(line).toContain('abc');
    await expectNothingWritten(db);
  });

  it('(g) an unknown flag', async () => {
    const db = await freshTarget('bad_flag');
    const run = await migrate(goodSqlite, db.url, brokers, ['--no-such-flag']);
    const line = expectCleanFailure(run);
    expect(line).toContain('--no-such-flag');
    await expectNothingWritten(db);
  });

  it('(h) no --postgres-url and no DATABASE_URL: the line names both', async () => {
    prefix = uniquePrefix('bad-nourl');
    const run = await runCli(['migrate', '--sqlite-path', goodSqlite, '--kafka-brokers', brokers, '--topic-prefix', prefix]);
    const line = expectCleanFailure(run);
    expect(line).toContain('--postgres-url');
    expect(line).toContain('DATABASE_URL');
    await expectNothingWritten(undefined);
  });

  it('(i) with --json, a failure before any result still puts one JSON document on stdout: the error, no password', async () => {
    const missing = join(workDir, 'missing.db');
    const cases: [string[], string][] = [
      [['verify', '--json', '--sqlite-path', missing, '--postgres-url', 'postgres://u:Sup3rS3cret@127.0.0.1:1/db'], 'SQLITE_NOT_FOUND'],
      [['migrate', '--json', '--sqlite-path', goodSqlite, '--postgres-url', 'postgres://u:Sup3rS3cret@127.0.0.1:5432/db', '--kafka-brokers', brokers, '--partitions', 'abc'], 'CONFIG_INVALID'],
      [['status', '--json', '--no-such-flag'], 'USAGE'],
      [['cutover', '--json', '--sqlite-path', goodSqlite, '--postgres-url', 'postgres://u:Sup3rS3cret@127.0.0.1:1/db', '--kafka-brokers', brokers], 'PG_UNREACHABLE'],
    ];
    for (const [args, code] of cases) {
      const run = await runCli(args);
      expectCleanFailure(run, ['Sup3rS3cret']);
      const printed = JSON.parse(run.stdout) as { error: { code: string; message: string } };
      expect(printed.error.code, describeRun(run)).toBe(code);
      expect(printed.error.message.length).toBeGreaterThan(0);
    }
  }, 90_000);
});
