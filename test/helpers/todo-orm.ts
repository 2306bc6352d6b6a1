import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from './cli.js';

const main = join(repoRoot, 'test', 'apps', 'todo-orm', 'main.ts');
const viteNode = join(repoRoot, 'node_modules', 'vite-node', 'vite-node.mjs');

export interface AppRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the TypeORM Todo application (test/apps/todo-orm) as a process of its own, with
 * the database chosen by DATABASE_URL alone (`sqlite:///path` or `postgres://…`) and the
 * process in time zone `tz` (an application server need not run in UTC). Returns its exit
 * and output; its one JSON document is `JSON.parse(run.stdout)`.
 */
export function runTodoApp(databaseUrl: string, args: string[], tz = 'America/Sao_Paulo', timeoutMs = 90_000): Promise<AppRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [viteNode, main, '--', ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), DATABASE_URL: databaseUrl, TZ: tz },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The app's JSON output of a run that must have succeeded. */
export function appOutput<T>(run: AppRun, what: string): T {
  if (run.code !== 0) throw new Error(`todo-orm ${what} exited ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as T;
}
