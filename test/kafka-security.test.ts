import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTodoDatabase } from '@liteshift/shared';
import { describeRun, expectCleanFailure, humanStderrLines, runCli } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { makeCertificates, type TestCertificates } from './helpers/certificates.js';
import { ScramBroker } from './helpers/scram-broker.js';

/*
 * Kafka with SASL/SCRAM and TLS, for real: a broker of this file's own whose listeners
 * authenticate with SCRAM-SHA-256 or -512, one of them over TLS with a certificate made
 * here. The producer (@platformatic/kafka) and the admin and consumers (kafkajs) must all
 * authenticate (and check the certificate) for a migration to reach READY.
 */

const ALICE = { name: 'alice', password: 'scram-Pa55-word' };

describe('Kafka over SASL/SCRAM, and TLS', () => {
  const broker = new ScramBroker();
  const workDir = mkdtempSync(join(tmpdir(), 'liteshift-sasl-'));
  const sqlitePath = join(workDir, 'todo.db');
  let target: TestDatabase;
  let certs: TestCertificates;

  beforeAll(async () => {
    createTodoDatabase(sqlitePath, { users: 30, tasks: 300, recurringPatterns: 20 });
    target = await createTestDatabase(inject('adminDatabaseUrl'), 'sasl');
    certs = await makeCertificates(workDir, 'DNS:localhost');
    await broker.start([ALICE], certs);
  });

  afterAll(async () => {
    await broker.stop();
    await target?.drop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const base = () => ['--sqlite-path', sqlitePath, '--postgres-url', target.url, '--kafka-brokers', broker.brokers];

  it('migrate with SCRAM-SHA-256 from the environment: READY', async () => {
    const run = await runCli(['migrate', ...base()], { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: ALICE.name, KAFKA_SASL_PASSWORD: ALICE.password });
    expect(run.code, `${describeRun(run)}\n${broker.logText().slice(-2000)}`).toBe(0);
    expect(run.stdout).toMatch(/verdict: READY/);
    await expectSameRows(sqlitePath, target.url);
  });

  it('verify (lag, dead letters) with SCRAM-SHA-512 from the flags: READY', async () => {
    const run = await runCli(['verify', ...base(), '--kafka-sasl-mechanism', 'scram-sha-512', '--kafka-sasl-username', ALICE.name, '--kafka-sasl-password', ALICE.password]);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/verdict: READY/);
  });

  it('a wrong password: one line naming the user, exit 2', async () => {
    const run = await runCli(['migrate', ...base()], { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: ALICE.name, KAFKA_SASL_PASSWORD: 'not-the-password' });
    const line = expectCleanFailure(run, ['not-the-password']);
    expect(line).toMatch(new RegExp(`^liteshift: Kafka at ${broker.brokers} refused the credentials of alice \\(scram-sha-256\\)`));
  });

  it('no credentials for a broker that wants them: one line that mentions SASL', async () => {
    const run = await runCli(['status', ...base()]);
    expect(expectCleanFailure(run)).toMatch(/cannot reach Kafka .*KAFKA_SASL_MECHANISM/);
  });

  it('SASL_SSL with KAFKA_CA_FILE: migrate (with --force-recreate) is READY', async () => {
    const run = await runCli(['migrate', ...base(), '--kafka-brokers', broker.tlsBrokers, '--force-recreate', '--kafka-ca-file', certs.ca], {
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: ALICE.name,
      KAFKA_SASL_PASSWORD: ALICE.password,
    });
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/verdict: READY/);
  });

  it('TLS to a broker whose certificate another CA signed: one line', async () => {
    const run = await runCli(['status', ...base(), '--kafka-brokers', broker.tlsBrokers, '--kafka-ca-file', certs.otherCa], {
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: ALICE.name,
      KAFKA_SASL_PASSWORD: ALICE.password,
    });
    expect(expectCleanFailure(run, [ALICE.password])).toMatch(/not trusted/);
  });

  it('TLS to a name the certificate does not list, or to a listener without TLS: one line each', async () => {
    const byAddress = broker.tlsBrokers.replace('localhost', '127.0.0.1');
    const otherHost = await runCli(['status', ...base(), '--kafka-brokers', byAddress, '--kafka-ca-file', certs.ca]);
    expect(expectCleanFailure(otherHost)).toMatch(/certificate is for another host/);
    const plain = await runCli(['status', ...base(), '--kafka-tls', 'true']);
    expect(expectCleanFailure(plain)).toMatch(new RegExp(`Kafka at ${broker.brokers} does not speak TLS there`));
  });

  it('SASL given in part, or an unknown mechanism: refused at start, one line each', async () => {
    const run = await runCli(['migrate', ...base(), '--kafka-sasl-username', ALICE.name], { KAFKA_SASL_MECHANISM: 'plain' });
    expect(run.code, describeRun(run)).toBe(2);
    expect(humanStderrLines(run), describeRun(run)).toEqual([
      'liteshift: --kafka-sasl-mechanism (or KAFKA_SASL_MECHANISM) "plain": use scram-sha-256 or scram-sha-512',
      '--kafka-sasl-password (or KAFKA_SASL_PASSWORD) is required with --kafka-sasl-mechanism (or KAFKA_SASL_MECHANISM): SASL needs a mechanism, a user name and a password',
    ]);
  });
});
