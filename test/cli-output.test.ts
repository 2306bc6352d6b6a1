import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

/*
 * What the CLI prints goes through a pipe more often than not (`| less`, `--json | jq`, a
 * test). A pipe takes 64 KB; the rest waits in the process, and must not be lost at exit.
 */

const bin = join(repoRoot, 'bin', 'liteshift.js');

interface PipedRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** The CLI with stdout into a pipe that is read only `readAfterMs` after the start, and only `keepBytes` of it. */
function pipedRun(args: string[], { readAfterMs = 0, keepBytes = Infinity } = {}): Promise<PipedRun> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let kept = 0;
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.pause();
  setTimeout(() => {
    child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      kept += chunk.length;
      // A reader that has what it wanted and leaves, as `head` does.
      if (kept >= keepBytes) child.stdout.destroy();
    });
    child.stdout.resume();
  }, readAfterMs);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout: Buffer.concat(chunks), stderr })));
}

describe('output through a pipe', () => {
  let workDir: string;
  let sqlitePath: string;
  let planToFile: Buffer;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'liteshift-output-'));
    sqlitePath = join(workDir, 'wide.db');
    const db = new Database(sqlitePath);
    const columns = Array.from({ length: 10 }, (_, c) => `column_number_${c} text NOT NULL DEFAULT 'x'`).join(', ');
    for (let t = 0; t < 300; t++) db.exec(`CREATE TABLE table_with_a_long_name_${t} (id integer PRIMARY KEY, ${columns})`);
    db.close();
    // The reference: into a file, which Node writes synchronously.
    const file = join(workDir, 'plan.txt');
    const fd = openSync(file, 'w');
    const code = await new Promise<number | null>((resolve) =>
      spawn(process.execPath, [bin, 'plan', '--sqlite-path', sqlitePath], { stdio: ['ignore', fd, 'inherit'] }).on('close', resolve),
    );
    closeSync(fd);
    expect(code).toBe(0);
    planToFile = readFileSync(file);
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('a plan of 300 tables, several times what a pipe holds, arrives whole to a reader that starts late', async () => {
    expect(planToFile.length).toBeGreaterThan(4 * 65_536);
    const run = await pipedRun(['plan', '--sqlite-path', sqlitePath], { readAfterMs: 1_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.length).toBe(planToFile.length);
    expect(run.stdout.equals(planToFile)).toBe(true);
  });

  it('--json of the same, in a child Node (migrate --dry-run), parses', async () => {
    const run = await pipedRun(['migrate', '--dry-run', '--json', '--sqlite-path', sqlitePath], { readAfterMs: 1_000 });
    expect(run.code, run.stderr).toBe(0);
    const plan = JSON.parse(run.stdout.toString('utf8')) as { tables: unknown[] };
    expect(plan.tables).toHaveLength(300);
  });

  it('a reader that leaves after the first lines (| head): exit 0, nothing on stderr', async () => {
    const run = await pipedRun(['plan', '--sqlite-path', sqlitePath], { keepBytes: 100 });
    expect(run.stdout.subarray(0, 100).equals(planToFile.subarray(0, 100))).toBe(true);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
});
