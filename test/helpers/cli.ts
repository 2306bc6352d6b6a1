import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repoRoot, 'bin', 'liteshift.js');

export interface CliResult {
  /** Exit code; null when the process was killed (see `timedOut`). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock time from spawn to exit. */
  ms: number;
  timedOut: boolean;
}

/**
 * Runs `node bin/liteshift.js <args>` (the compiled CLI: build with `npx tsc -b` first)
 * with a clean environment: PATH, HOME, LOG_FORMAT=json and exactly what `env` gives, so
 * that DATABASE_URL, KAFKA_BROKERS, … of the person running the tests never leak in.
 * Pass absolute paths: the working directory is a temp dir holding only `files` (name →
 * content, e.g. a `.env`).
 */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 110_000, files: Record<string, string> = {}): Promise<CliResult> {
  const started = Date.now();
  // An empty working directory per run: the CLI reads `.env` from its working directory,
  // and the user's (or the repository's) `.env` must not leak into a test.
  const cwd = mkdtempSync(join(tmpdir(), 'liteshift-cli-cwd-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(cwd, name), content);
  const removeCwd = () => rmSync(cwd, { recursive: true, force: true });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      removeCwd();
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      removeCwd();
      resolve({ code, stdout, stderr, ms: Date.now() - started, timedOut });
    });
  });
}

/** stderr without the JSON log lines (lines starting with `{`) and blank lines. */
export function humanStderrLines(result: Pick<CliResult, 'stderr'>): string[] {
  return result.stderr
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('{'));
}

/** A readable dump of a run, for assertion messages. */
export function describeRun(result: CliResult): string {
  const clip = (s: string) => (s.length > 6000 ? `${s.slice(0, 3000)}\n…\n${s.slice(-3000)}` : s);
  return `exit ${result.code}${result.timedOut ? ' (killed: timeout)' : ''} after ${result.ms} ms\n--- stdout ---\n${clip(result.stdout)}\n--- stderr ---\n${clip(result.stderr)}`;
}

/** `liteshift migrate` of one SQLite file into one database through one topic prefix, plus `extra` flags. */
export function migrateArgs(to: { sqlitePath: string; databaseUrl: string; brokers: string; prefix: string }, ...extra: string[]): string[] {
  return ['migrate', '--sqlite-path', to.sqlitePath, '--postgres-url', to.databaseUrl, '--kafka-brokers', to.brokers, '--topic-prefix', to.prefix, ...extra];
}

/**
 * The CLI failed the way a user should see it: a user-error exit code, exactly one
 * human line on stderr (JSON log lines aside) starting `liteshift:`, no stack trace,
 * no secret anywhere. Returns that line.
 */
export function expectCleanFailure(run: CliResult, secrets: readonly string[] = []): string {
  const dump = describeRun(run);
  expect(run.timedOut, dump).toBe(false);
  // main.ts: 2 = a mistake the user can fix (70 would tell them to report a bug).
  expect(run.code, dump).toBe(2);
  const lines = humanStderrLines(run);
  expect(lines, dump).toHaveLength(1);
  const line = lines[0]!;
  expect(line, dump).toMatch(/^liteshift: /);
  expect(line, dump).not.toMatch(/unexpected error/);
  const everyLine = [...run.stdout.split('\n'), ...lines];
  expect(everyLine.filter((l) => /^\s+at\s/.test(l)), dump).toEqual([]);
  expect(everyLine.filter((l) => /^(\w*Error|Uncaught|node:internal)\b/.test(l.trim())), dump).toEqual([]);
  expect(run.stderr, dump).not.toMatch(/\n\s+at .*\(node:|\n\s+at .*\.js:\d+/);
  expectNoSecrets(run, secrets);
  return line;
}

/** No secret on stdout or stderr (log lines included), as given or percent-encoded. */
export function expectNoSecrets(run: CliResult, secrets: readonly string[]): void {
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      expect(run.stdout.includes(form), `stdout shows the secret ${form}`).toBe(false);
      expect(run.stderr.includes(form), `stderr shows the secret ${form}`).toBe(false);
    }
  }
}
