import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
 * Pass absolute paths: the working directory is an empty temp dir.
 */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 110_000): Promise<CliResult> {
  const started = Date.now();
  // An empty working directory per run: the CLI reads `.env` from its working directory,
  // and the user's (or the repository's) `.env` must not leak into a test.
  const cwd = mkdtempSync(join(tmpdir(), 'liteshift-cli-cwd-'));
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
