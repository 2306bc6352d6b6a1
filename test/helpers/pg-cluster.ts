import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

/*
 * A throwaway PostgreSQL cluster of a test's own (initdb + pg_ctl on a free port), for
 * what the machine's shared server must not undergo: being stopped, or TLS settings.
 */

export const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';
export const clusterAvailable = existsSync(join(BIN, 'initdb')) && existsSync(join(BIN, 'pg_ctl'));

/** initdb refuses root: as root, the cluster belongs to the postgres user. */
function asOwner(command: string, args: string[]): Promise<{ stdout: string }> {
  return userInfo().uid === 0 ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);
}

export class ThrowawayCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'liteshift-pg-'));
  port = 0;
  /** Extra server settings (`-c name=value` each), e.g. ssl=on. */
  private settings: string[] = [];

  get data(): string {
    return join(this.dir, 'data');
  }
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Hands the cluster's directory (and what was written into it) to the server's user. */
  async chownToOwner(path = this.dir): Promise<void> {
    if (userInfo().uid !== 0) return;
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(path, uid, gid);
  }

  async init(settings: Record<string, string> = {}): Promise<void> {
    this.settings = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`);
    await this.chownToOwner();
    this.port = await freePort();
    await asOwner(join(BIN, 'initdb'), ['-D', this.data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    await this.start();
  }

  start(): Promise<unknown> {
    const options = [`-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`, ...this.settings].join(' ');
    return asOwner(join(BIN, 'pg_ctl'), ['-D', this.data, '-o', options, '-l', join(this.dir, 'server.log'), '-w', 'start']);
  }

  stop(): Promise<unknown> {
    return asOwner(join(BIN, 'pg_ctl'), ['-D', this.data, '-m', 'fast', '-w', 'stop']);
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'server.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
