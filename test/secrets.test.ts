import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTodoDatabase } from '@liteshift/shared';
import { describeRun, expectCleanFailure, expectNoSecrets, runCli, type CliResult } from './helpers/cli.js';
import { uniquePrefix } from './helpers/kafka.js';
import { freePort } from './helpers/ports.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { ScramBroker } from './helpers/scram-broker.js';

/*
 * "liteshift refuses to print secrets, and its errors name host:port/db only." Each
 * password is given in every way liteshift accepts it (flag, environment, .env, inside
 * the URL percent-encoded, as ?password=), to commands that succeed and to commands that
 * fail, with debug logs on: neither stdout nor stderr (where the logs go) may show it,
 * as given or percent-encoded. The local PostgreSQL trusts 127.0.0.1, so any password
 * connects (bad-input.test.ts covers a refused one); the Kafka broker checks its SCRAM
 * password for real.
 */

/** Characters a URL must percent-encode, so that both forms are looked for. */
const PG_PASSWORD = 'Pg:s3cr3t@x/y#z%q?';
const KAFKA_USER = { name: 'liteshift-app', password: 'Kf-s3cr3t+w/rd' };
const WRONG_KAFKA_PASSWORD = 'Kf-wr0ng+w/rd';
const SECRETS = [PG_PASSWORD, KAFKA_USER.password, WRONG_KAFKA_PASSWORD];

describe('secrets are never printed', () => {
  const broker = new ScramBroker();
  const workDir = mkdtempSync(join(tmpdir(), 'liteshift-secrets-'));
  const sqlitePath = join(workDir, 'todo.db');
  let target: TestDatabase;
  /** The target's URL with the password in it (user info, percent-encoded). */
  let url = '';
  const debug = { LOG_LEVEL: 'debug' };
  const sasl = (password = KAFKA_USER.password) => ({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: KAFKA_USER.name, KAFKA_SASL_PASSWORD: password });
  const dotenv = (vars: Record<string, string>) => ({ '.env': Object.entries(vars).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n') });

  function expectSuccess(run: CliResult): void {
    expect(run.code, describeRun(run)).toBe(0);
    expectNoSecrets(run, SECRETS);
  }

  beforeAll(async () => {
    createTodoDatabase(sqlitePath, { users: 10, tasks: 50, recurringPatterns: 5 });
    target = await createTestDatabase(inject('adminDatabaseUrl'), 'secrets');
    const withPassword = new URL(target.url);
    withPassword.password = encodeURIComponent(PG_PASSWORD);
    url = withPassword.toString();
    await broker.start([KAFKA_USER]);
  });

  afterAll(async () => {
    await broker.stop();
    await target?.drop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('succeeding: migrate with the flags, at debug level', async () => {
    const run = await runCli(
      ['migrate', '--sqlite-path', sqlitePath, '--postgres-url', url, '--kafka-brokers', broker.brokers, '--kafka-sasl-mechanism', 'scram-sha-256', '--kafka-sasl-username', KAFKA_USER.name, '--kafka-sasl-password', KAFKA_USER.password],
      debug,
    );
    expectSuccess(run);
    expect(run.stdout).toMatch(/verdict: READY/);
    // Debug logs were on: the check looked at every line they wrote.
    expect(run.stderr, describeRun(run)).toMatch(/"level":20/);
  });

  it('succeeding: verify with DATABASE_URL and KAFKA_SASL_PASSWORD in the environment', async () => {
    const run = await runCli(['verify', '--sqlite-path', sqlitePath, '--kafka-brokers', broker.brokers], { ...debug, DATABASE_URL: url, ...sasl() });
    expectSuccess(run);
  });

  it('succeeding: status with both passwords in a .env file', async () => {
    const run = await runCli(['status', '--sqlite-path', sqlitePath], debug, undefined, dotenv({ DATABASE_URL: url, KAFKA_BROKERS: broker.brokers, ...sasl() }));
    expectSuccess(run);
  });

  it('succeeding: dlq --clear with the Kafka password in the environment', async () => {
    expectSuccess(await runCli(['dlq', '--clear'], { ...debug, KAFKA_BROKERS: broker.brokers, ...sasl() }));
  });

  it('succeeding: the services, extract then load, with the passwords in .env', async () => {
    const files = dotenv({ DATABASE_URL: url, KAFKA_BROKERS: broker.brokers, LITESHIFT_TOPIC_PREFIX: uniquePrefix('secrets'), ...sasl() });
    expectSuccess(await runCli(['extract', '--sqlite-path', sqlitePath], debug, undefined, files));
    expectSuccess(await runCli(['load'], debug, undefined, files));
  });

  it('succeeding: the password as ?password= in the URL', async () => {
    const query = new URL(target.url);
    query.searchParams.set('password', PG_PASSWORD);
    const run = await runCli(['verify', '--sqlite-path', sqlitePath, '--postgres-url', query.toString()], debug);
    expectSuccess(run);
  });

  it('failing: a host that does not resolve names host:port/db only', async () => {
    const unresolvable = new URL(url);
    unresolvable.hostname = 'no-such-host.invalid';
    const line = expectCleanFailure(await runCli(['verify', '--sqlite-path', sqlitePath, '--postgres-url', unresolvable.toString()], debug), SECRETS);
    expect(line).toContain(`no-such-host.invalid:${unresolvable.port}/${target.name}`);
  });

  it('failing: a port nobody listens on, the URL in .env', async () => {
    const closed = new URL(url);
    closed.port = String(await freePort());
    const run = await runCli(['verify', '--sqlite-path', sqlitePath], debug, undefined, dotenv({ DATABASE_URL: closed.toString() }));
    expect(expectCleanFailure(run, SECRETS)).toContain(`127.0.0.1:${closed.port}/${target.name}`);
  });

  it('failing: a wrong Kafka password, from the flag and from .env', async () => {
    const fromFlag = await runCli(
      ['status', '--sqlite-path', sqlitePath, '--postgres-url', url, '--kafka-brokers', broker.brokers, '--kafka-sasl-mechanism', 'scram-sha-512', '--kafka-sasl-username', KAFKA_USER.name, '--kafka-sasl-password', WRONG_KAFKA_PASSWORD],
      debug,
    );
    expect(expectCleanFailure(fromFlag, SECRETS)).toMatch(/refused the credentials of liteshift-app/);
    const fromDotenv = await runCli(['status', '--sqlite-path', sqlitePath, '--postgres-url', url, '--kafka-brokers', broker.brokers], debug, undefined, dotenv(sasl(WRONG_KAFKA_PASSWORD)));
    expect(expectCleanFailure(fromDotenv, SECRETS)).toMatch(/refused the credentials of liteshift-app/);
  });

  it('failing: settings that do not validate show every value but the secrets', async () => {
    const bad = new URL(url);
    bad.searchParams.set('sslmode', 'prefer');
    const run = await runCli(['verify', '--sqlite-path', sqlitePath, '--postgres-url', bad.toString(), '--kafka-brokers', 'nope', '--kafka-sasl-password', KAFKA_USER.password], debug);
    expect(run.code, describeRun(run)).toBe(2);
    expect(run.stderr).toMatch(/sslmode=prefer/);
    expect(run.stderr).toMatch(/--kafka-brokers \(or KAFKA_BROKERS\) "nope"/);
    expectNoSecrets(run, SECRETS);
  });
});
