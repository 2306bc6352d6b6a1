import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresConnectionTls, postgresUrlTlsProblem, sslModeOf, withPostgresTls } from './tls.js';

const dir = mkdtempSync(join(tmpdir(), 'liteshift-tls-unit-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, 'CA PEM');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sslmode, as libpq means it', () => {
  const url = 'postgres://u:p%40ss@db:5432/app';

  it('no TLS parameter: plain text, and the URL untouched', () => {
    expect(postgresConnectionTls(url)).toEqual({ connectionString: url, ssl: false });
  });

  it('require: encrypted, certificate not checked', () => {
    expect(postgresConnectionTls(`${url}?sslmode=require&application_name=x`)).toEqual({
      connectionString: `${url}?application_name=x`,
      ssl: { rejectUnauthorized: false },
    });
  });

  it('require or verify-ca with a CA: the chain is checked, the host name is not', () => {
    for (const mode of ['require', 'verify-ca']) {
      const { connectionString, ssl } = postgresConnectionTls(`${url}?sslmode=${mode}&sslrootcert=${ca}`);
      expect(connectionString).toBe(url);
      expect(ssl).toMatchObject({ ca: 'CA PEM' });
      expect(ssl && ssl.rejectUnauthorized).toBeUndefined();
      expect(ssl && ssl.checkServerIdentity?.('db', {} as never)).toBeUndefined();
    }
  });

  it('verify-full: the CA and Node’s own host name check; sslrootcert=system is the built-in CAs', () => {
    expect(postgresConnectionTls(`${url}?sslmode=verify-full&sslrootcert=${ca}`).ssl).toEqual({ ca: 'CA PEM' });
    expect(postgresConnectionTls(`${url}?sslmode=verify-full&sslrootcert=system`).ssl).toEqual({});
    // A CA alone means verify-full.
    expect(sslModeOf(`${url}?sslrootcert=${ca}`)).toBe('verify-full');
  });

  it('settings given apart go into the URL unless it names its own', () => {
    expect(withPostgresTls(url, {})).toBe(url);
    expect(withPostgresTls(url, { sslMode: 'verify-full', caFile: ca })).toBe(`${url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`);
    expect(withPostgresTls(`${url}?sslmode=require`, { sslMode: 'verify-full' })).toBe(`${url}?sslmode=require`);
  });

  it('refuses what it cannot honour, without echoing the URL', () => {
    expect(postgresUrlTlsProblem(`${url}?sslmode=prefer`)).toMatch(/^sslmode=prefer in the URL: use disable/);
    expect(postgresUrlTlsProblem(`${url}?ssl=true`)).toMatch(/^ssl= in the URL: use sslmode=/);
    expect(postgresUrlTlsProblem(`${url}?sslmode=verify-full&sslrootcert=${dir}/none.pem`)).toBe(`sslrootcert= in the URL: ${dir}/none.pem does not exist`);
    expect(postgresUrlTlsProblem(`${url}?sslmode=verify-full&sslrootcert=${ca}`)).toBeUndefined();
  });
});
