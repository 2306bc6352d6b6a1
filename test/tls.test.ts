import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTodoDatabase } from '@liteshift/shared';
import { describeRun, expectCleanFailure, humanStderrLines, runCli, type CliResult } from './helpers/cli.js';
import { deleteTopicsWithPrefix, uniquePrefix } from './helpers/kafka.js';
import { makeCertificates, type TestCertificates } from './helpers/certificates.js';
import { clusterAvailable, ThrowawayCluster } from './helpers/pg-cluster.js';
import { adminQuery } from './helpers/postgres.js';

/*
 * TLS to PostgreSQL, for real: a throwaway cluster with ssl=on, a CA and a server
 * certificate made here with openssl, and a pg_hba.conf that takes TCP connections over
 * TLS only (`hostssl`), so a success proves the connection was encrypted.
 */

/** One clean line (helpers/cli.ts) that says what failed. */
function expectOneLineFailure(result: CliResult, pattern: RegExp): string {
  const line = expectCleanFailure(result);
  expect(line, describeRun(result)).toMatch(pattern);
  return line;
}

describe.runIf(clusterAvailable)('PostgreSQL over TLS (sslmode with libpq meaning)', () => {
  const cluster = new ThrowawayCluster();
  const brokers = inject('kafkaBrokers');
  const prefix = uniquePrefix('tls');
  const workDir = mkdtempSync(join(tmpdir(), 'liteshift-tls-'));
  const sqlitePath = join(workDir, 'todo.db');
  let certs: TestCertificates;
  /** TCP over TLS, certificate unchecked: what the test itself uses to set up. */
  let adminUrl = '';
  const url = (host: string, query: string) => `postgres://postgres@${host}:${cluster.port}/target${query ? `?${query}` : ''}`;

  beforeAll(async () => {
    createTodoDatabase(sqlitePath, { users: 20, tasks: 200, recurringPatterns: 10 });
    const tlsDir = join(cluster.dir, 'tls');
    mkdirSync(tlsDir);
    // For localhost only, not 127.0.0.1: the host name check has a name to fail on.
    certs = await makeCertificates(tlsDir, 'DNS:localhost');
    for (const file of [tlsDir, certs.cert, certs.key]) await cluster.chownToOwner(file);
    const hba = join(cluster.dir, 'pg_hba.conf');
    await writeFile(hba, 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n');
    await cluster.chownToOwner(hba);
    await cluster.init({ ssl: 'on', ssl_cert_file: certs.cert, ssl_key_file: certs.key, hba_file: hba, listen_addresses: "'127.0.0.1,::1'" });
    adminUrl = `${cluster.url}?sslmode=no-verify`;
    await adminQuery(adminUrl, 'CREATE DATABASE target');
  });

  afterAll(async () => {
    await cluster.destroy();
    await deleteTopicsWithPrefix(brokers, prefix);
    rmSync(workDir, { recursive: true, force: true });
  });

  const verify = (postgresUrl: string, ...extra: string[]) => runCli(['verify', '--sqlite-path', sqlitePath, '--postgres-url', postgresUrl, ...extra]);

  it('sslmode=require: migrate succeeds, encrypted, certificate not checked', async () => {
    const result = await runCli(['migrate', '--sqlite-path', sqlitePath, '--postgres-url', url('127.0.0.1', 'sslmode=require'), '--kafka-brokers', brokers, '--topic-prefix', prefix]);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toMatch(/verdict: READY/);
  });

  it('verify-full with the CA: in the URL, or as --postgres-ca-file with PGSSLMODE', async () => {
    const inUrl = await verify(url('localhost', `sslmode=verify-full&sslrootcert=${encodeURIComponent(certs.ca)}`));
    expect(inUrl.code, describeRun(inUrl)).toBe(0);
    const asSettings = await runCli(['verify', '--sqlite-path', sqlitePath, '--postgres-url', url('localhost', ''), '--postgres-ca-file', certs.ca], { PGSSLMODE: 'verify-full' });
    expect(asSettings.code, describeRun(asSettings)).toBe(0);
    // A CA file alone means verify-full.
    const caOnly = await runCli(['verify', '--sqlite-path', sqlitePath, '--postgres-url', url('localhost', '')], { PGSSLROOTCERT: certs.ca });
    expect(caOnly.code, describeRun(caOnly)).toBe(0);
  });

  it('verify-full with another CA: one line naming host:port/db, exit 2', async () => {
    const line = expectOneLineFailure(await verify(url('localhost', ''), '--postgres-sslmode', 'verify-full', '--postgres-ca-file', certs.otherCa), /certificate is not trusted/);
    expect(line).toContain(`localhost:${cluster.port}/target`);
    expect(line).toMatch(/--postgres-ca-file/);
  });

  it('verify-full on a host the certificate does not name: one line; verify-ca accepts it', async () => {
    const query = `sslrootcert=${encodeURIComponent(certs.ca)}`;
    const line = expectOneLineFailure(await verify(url('127.0.0.1', `sslmode=verify-full&${query}`)), /certificate is for another host/);
    expect(line).toContain(`127.0.0.1:${cluster.port}/target`);
    const verifyCa = await verify(url('127.0.0.1', `sslmode=verify-ca&${query}`));
    expect(verifyCa.code, describeRun(verifyCa)).toBe(0);
  });

  it('no TLS where the server requires it: one line saying to add sslmode', async () => {
    expectOneLineFailure(await verify(url('127.0.0.1', '')), /requires TLS here: add sslmode=require/);
  });

  it('TLS asked of a server without it: one line', async () => {
    const plain = new URL(inject('adminDatabaseUrl'));
    plain.searchParams.set('sslmode', 'require');
    const line = expectOneLineFailure(await verify(plain.toString()), /does not accept TLS connections/);
    expect(line).toContain(`${plain.hostname}:${plain.port || '5432'}/`);
  });

  it('prefer, a CA file that is not there: refused at start, one line each', async () => {
    const result = await runCli(['verify', '--sqlite-path', sqlitePath, '--postgres-url', url('localhost', 'sslmode=prefer'), '--postgres-ca-file', join(workDir, 'nope.pem')]);
    const dump = describeRun(result);
    expect(result.code, dump).toBe(2);
    const text = humanStderrLines(result).join('\n');
    expect(text, dump).toMatch(/sslmode=prefer in the URL: use disable, require, verify-ca, verify-full/);
    expect(text, dump).toMatch(/--postgres-ca-file \(or PGSSLROOTCERT\) ".*nope\.pem": .*nope\.pem does not exist/);
  });
});
