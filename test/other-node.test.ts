import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTodoDatabase } from '@liteshift/shared';
import { describeRun, expectCleanFailure, repoRoot, type CliResult } from './helpers/cli.js';

/**
 * This install's better-sqlite3 is built for the Node running the tests; the other Node is
 * LITESHIFT_OTHER_NODE (`.ci/run` names the machine's Node on its Node 24 run), else Node 24
 * (Node 22 when the tests run on 24) from `.ci/fetch-node`, which fetches it from the npm
 * registry once and keeps it in ~/.cache/liteshift.
 */
const runningMajor = Number(process.versions.node.split('.')[0]);

interface OtherNode {
  node: string;
  version: string;
  /** Its NODE_MODULE_VERSION. */
  modules: string;
}

function findOtherNode(): OtherNode | { skip: string } {
  let node = process.env.LITESHIFT_OTHER_NODE;
  if (!node) {
    const major = runningMajor === 24 ? 22 : 24;
    const fetched = spawnSync(join(repoRoot, '.ci', 'fetch-node'), [String(major)], { encoding: 'utf8', timeout: 300_000 });
    if (fetched.status !== 0) {
      const why = (fetched.stderr || fetched.error?.message || `exit ${fetched.status}`).trim().split('\n').slice(-3).join(' ');
      return { skip: `no Node ${major} to run liteshift with (.ci/fetch-node ${major} failed: ${why}); set LITESHIFT_OTHER_NODE to a Node binary of another major` };
    }
    node = join(fetched.stdout.trim(), 'bin', 'node');
  }
  const [version = '?', modules = '?'] = spawnSync(node, ['-p', 'process.versions.node + " " + process.versions.modules'], { encoding: 'utf8' }).stdout.trim().split(' ');
  if (modules === process.versions.modules) return { skip: `${node} (Node ${version}) can load this install: LITESHIFT_OTHER_NODE must be a Node of another major` };
  return { node, version, modules };
}

const found = findOtherNode();
if ('skip' in found) console.warn(`[other-node] skipped: ${found.skip}`);
const other: OtherNode = 'skip' in found ? { node: '', version: '', modules: '' } : found;

/** What runCli gives the CLI: nothing of the environment of the person (or CI) running the tests. */
const cliEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), LOG_FORMAT: 'json' };

/** bin/liteshift.js run by `node` from a temp dir, as runCli does with the Node running the tests. */
function runWith(node: string, args: string[], cwd: string): CliResult {
  const started = Date.now();
  const run = spawnSync(node, [join(repoRoot, 'bin', 'liteshift.js'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: cliEnv,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, ms: Date.now() - started, timedOut: run.error !== undefined };
}

/** The headers npm builds addons against, in the CLI's environment: the rebuild line must override another Node's. */
function npmNodedir(): string | undefined {
  const value = spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8', env: cliEnv }).stdout.trim();
  return value === '' || value === 'undefined' ? undefined : value;
}

/** npm rebuild runs with the `node` on the PATH: the line must put the other Node first when that is another. */
function pathRunsOtherNode(): boolean {
  const onPath = spawnSync('node', ['-p', 'process.execPath'], { encoding: 'utf8', env: cliEnv }).stdout.trim();
  return onPath !== '' && realpathSync(onPath) === realpathSync(other.node);
}

describe.skipIf('skip' in found)(`an install built for Node ${runningMajor}, run by Node ${other.version}`, () => {
  let workDir: string;
  let sqlitePath: string;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'liteshift-other-node-'));
    sqlitePath = join(workDir, 'todo.db');
    // Written through this process's better-sqlite3: the install does work with the Node it was built for.
    createTodoDatabase(sqlitePath, { users: 5, tasks: 20, recurringPatterns: 2 });
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  // plan runs in bin/liteshift.js's own process; migrate, even a dry run, in the child Node it starts.
  it.each([
    ['plan', ['plan', '--sqlite-path']],
    ['migrate --dry-run (in a child Node)', ['migrate', '--dry-run', '--sqlite-path']],
  ])('%s: one line naming both Nodes and the rebuild command, exit 2', (_name, args) => {
    const run = runWith(other.node, [...args, sqlitePath], workDir);
    const line = expectCleanFailure(run);
    expect(line).toContain(`was built for Node ${runningMajor} (NODE_MODULE_VERSION ${process.versions.modules}), but this is Node ${other.version} (NODE_MODULE_VERSION ${other.modules})`);
    expect(line).toContain(`cd ${repoRoot} && ${pathRunsOtherNode() ? '' : `PATH=${dirname(other.node)}:$PATH `}`);
    expect(line).toMatch(/npm rebuild better-sqlite3\)$/);
    const nodedir = npmNodedir();
    const otherPrefix = dirname(dirname(other.node));
    if (nodedir !== undefined && nodedir !== otherPrefix) expect(line).toContain(`npm_config_nodedir=${otherPrefix} npm rebuild`);
    else expect(line).not.toContain('npm_config_nodedir');
    expect(run.stdout, describeRun(run)).toBe('');
  });

  it('--json: the same, as one JSON error on stdout', () => {
    const run = runWith(other.node, ['plan', '--json', '--sqlite-path', sqlitePath], workDir);
    expect(run.code, describeRun(run)).toBe(2);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; hint: string } };
    expect(error.code).toBe('SQLITE_ADDON');
    expect(error.message).toContain(`built for Node ${runningMajor}`);
    expect(error.hint).toContain('npm rebuild better-sqlite3');
  });

  it('the same commands with the Node the install was built for: the plan, exit 0', () => {
    for (const args of [['plan'], ['migrate', '--dry-run']]) {
      const run = runWith(process.execPath, [...args, '--sqlite-path', sqlitePath], workDir);
      expect(run.code, describeRun(run)).toBe(0);
      expect(run.stdout).toContain('Tables found: 3');
    }
  });
});
