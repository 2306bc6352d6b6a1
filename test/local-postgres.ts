import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export async function canConnect(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The Debian/Ubuntu cluster of this machine (pg_ctlcluster), when PostgreSQL is installed
 * but not running: the test run starts it and says how to stop it again.
 */
export async function startLocalCluster(): Promise<(() => Promise<void>) | null> {
  if (!existsSync('/etc/postgresql')) return null;
  const version = readdirSync('/etc/postgresql').sort().pop();
  if (!version || !existsSync(`/etc/postgresql/${version}/main`)) return null;
  const ctl = (action: 'start' | 'stop') => run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action]);
  await ctl('start');
  return async () => {
    await ctl('stop').catch(() => undefined);
  };
}
