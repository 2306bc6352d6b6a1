import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectSameRows } from './helpers/compare.js';
import { expectNoOffsetAppliedTwice, FaultPipeline, streamingEverywhere } from './helpers/fault-pipeline.js';
import { adminQuery, urlForDatabase } from './helpers/postgres.js';

/*
 * Resilience: PostgreSQL stops and starts again while the loader follows a writer. The
 * machine's own server is shared by everything else, so this test runs a throwaway
 * cluster of its own (initdb + pg_ctl on a free port) and stops that one.
 */

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';
const available = existsSync(join(BIN, 'initdb')) && existsSync(join(BIN, 'pg_ctl'));

/** initdb refuses root: as root, the cluster belongs to the postgres user. */
function asOwner(command: string, args: string[]): Promise<{ stdout: string }> {
  return userInfo().uid === 0 ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

class ThrowawayCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'liteshift-pg-'));
  port = 0;
  get data(): string {
    return join(this.dir, 'data');
  }
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async init(): Promise<void> {
    if (userInfo().uid === 0) chownSync(this.dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim()));
    this.port = await freePort();
    await asOwner(join(BIN, 'initdb'), ['-D', this.data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    await this.start();
  }

  start(): Promise<unknown> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
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

describe.runIf(available)('PostgreSQL stopped and started again while the loader follows a writer', () => {
  const cluster = new ThrowawayCluster();
  let p: FaultPipeline;

  beforeAll(async () => {
    await cluster.init();
    await adminQuery(cluster.url, 'CREATE DATABASE target');
    p = new FaultPipeline('fault-postgres', { brokers: inject('kafkaBrokers'), adminUrl: cluster.url, databaseUrl: urlForDatabase(cluster.url, 'target') });
    await p.create();
  });

  afterAll(async () => {
    await cluster.start().catch(() => undefined);
    await p?.destroy();
    await cluster.destroy();
  });

  it('the loader keeps running, retries with backoff, and converges once the server is back', async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(200, 71);
    await writer.waitForAccepted(50);
    const extract = p.startExtract();
    const load = p.startLoad();
    await p.waitFor('every table streaming', streamingEverywhere);
    await writer.waitForAccepted(writer.progress.accepted + 200);

    await cluster.stop();
    // ~3 s of writes the loader cannot apply.
    await writer.waitForAccepted(writer.progress.accepted + 600);
    expect(load.running, load.describe()).toBe(true);
    await cluster.start();
    await writer.waitForAccepted(writer.progress.accepted + 200);
    await p.drain(writer);
    await expectSameRows(p.sqlitePath, p.databaseUrl);

    expect(extract.running && load.running, cluster.log()).toBe(true);
    expect(p.services).toHaveLength(2);
    const retried = load.logLines().filter((l) => l.level === 40 && /retrying/.test(String(l.msg)));
    expect(retried.length, 'the loader logged no retry').toBeGreaterThan(0);
    expectNoOffsetAppliedTwice(p.services);
  }, 240_000);
});
