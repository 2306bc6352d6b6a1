import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRun, repoRoot, runCli } from './cli.js';

const bin = join(repoRoot, 'bin', 'liteshift.js');

/**
 * A long-running `liteshift` command (`extract --follow`, `load --follow`) in its own
 * process group, with its output kept for diagnostics. Same clean environment as runCli.
 */
export class Service {
  readonly child: ChildProcess;
  private out = '';
  private err = '';
  private code: number | null | undefined = undefined;
  private signal: NodeJS.Signals | null = null;
  private readonly exited: Promise<number | null>;
  private readonly cwd: string;

  constructor(readonly label: string, readonly args: string[], env: Record<string, string>) {
    this.cwd = mkdtempSync(join(tmpdir(), 'liteshift-svc-cwd-'));
    this.child = spawn(process.execPath, [bin, ...args], {
      cwd: this.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.out += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.err += chunk));
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.err += `\nspawn failed: ${error.message}`;
        this.code = null;
        resolve(null);
      });
      this.child.on('close', (code, signal) => {
        this.code = code;
        this.signal = signal;
        rmSync(this.cwd, { recursive: true, force: true });
        resolve(code);
      });
    });
  }

  get running(): boolean {
    return this.code === undefined;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** The JSON log lines of stderr, parsed (others skipped). */
  logLines(): Record<string, unknown>[] {
    const lines: Record<string, unknown>[] = [];
    for (const line of this.err.split('\n')) {
      if (!line.trimStart().startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line cut by the process exiting
      }
    }
    return lines;
  }

  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILLs the group after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
    let killed = false;
    if (this.running && this.child.pid !== undefined) {
      try {
        this.child.kill(signal);
      } catch {
        // gone already
      }
    }
    const timer = setTimeout(() => {
      killed = true;
      this.kill();
    }, timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return { code, signal: this.signal, killed };
  }

  /** SIGKILL to the whole process group; for cleanup, never fails. */
  kill(): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  whenExited(): Promise<number | null> {
    return this.exited;
  }

  describe(tail = 4000): string {
    const state = this.running ? 'running' : `exited ${this.code}${this.signal ? ` (${this.signal})` : ''}`;
    const clip = (s: string) => (s.length > tail ? `…${s.slice(-tail)}` : s);
    return `--- ${this.label} [${state}] ${this.args.join(' ')} ---\nstdout:\n${clip(this.out)}\nstderr:\n${clip(this.err)}`;
  }
}

/** What `liteshift status --json` prints (services/verifier/src/status.ts). */
export interface LiveStatus {
  extractor: { captured: boolean; phase: string; head: string; position: string; lag: number; updatedAt: string | null };
  tables: { table: string; topic: string; phase: string; snapshot?: { done: number; total: number; percent: number }; loaderLag: number; note?: string }[];
  loaderLag: number;
  rejects: number;
  deadLettered: number;
}

export async function liveStatus(env: Record<string, string>): Promise<LiveStatus> {
  const run = await runCli(['status', '--json'], env, 60_000);
  if (run.code !== 0) throw new Error(`liteshift status --json failed:\n${describeRun(run)}`);
  try {
    return JSON.parse(run.stdout) as LiveStatus;
  } catch {
    throw new Error(`liteshift status --json printed no JSON:\n${describeRun(run)}`);
  }
}

/** Streaming everywhere, nothing left to produce and nothing left to apply. */
export function caughtUp(status: LiveStatus, tables?: readonly string[]): boolean {
  const names = new Set(status.tables.map((t) => t.table));
  return (
    status.extractor.captured &&
    status.extractor.phase === 'streaming' &&
    status.tables.every((t) => t.phase === 'streaming') &&
    (tables ?? []).every((t) => names.has(t)) &&
    status.extractor.lag === 0 &&
    status.loaderLag === 0
  );
}

/**
 * Polls `liteshift status --json` until `until(status)` holds (default: caught up),
 * failing early when a service exits and, after `deadlineMs`, with the last status and
 * the services' output.
 */
export async function waitForStatus(
  env: Record<string, string>,
  services: readonly Service[],
  options: { deadlineMs?: number; until?: (s: LiveStatus) => boolean; what?: string } = {},
): Promise<LiveStatus> {
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  const until = options.until ?? ((s: LiveStatus) => caughtUp(s));
  let last: LiveStatus | null = null;
  let lastError = '';
  for (;;) {
    for (const service of services) {
      if (!service.running) throw new Error(`${service.label} exited while waiting for ${options.what ?? 'zero lag'}\n${service.describe()}`);
    }
    try {
      last = await liveStatus(env);
      lastError = '';
      if (until(last)) return last;
    } catch (error) {
      lastError = String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${options.what ?? 'zero lag'} not reached within ${options.deadlineMs ?? 60_000} ms; last status: ${JSON.stringify(last)}${lastError ? `\n${lastError}` : ''}\n` +
          services.map((s) => s.describe()).join('\n'),
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
