import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), 'writer-process.mjs');

export type WriterTable = 'users' | 'tasks' | 'recurring_patterns';

/** What `writer-process.mjs` prints on SIGTERM. */
export interface WriterSummary {
  type: 'summary';
  seed: number;
  rate: number;
  accepted: number;
  refused: number;
  ops: Record<string, number>;
  /** Refusal message → how many writes it refused. */
  refusals: Record<string, number>;
  firstRefusal: WriterRefusal | null;
  lastRefusal: WriterRefusal | null;
  deleted: Record<WriterTable, number[]>;
  pkChanges: { table: WriterTable; from: number; to: number }[];
  inserted: Record<WriterTable, number[]>;
  startedAt: string;
  stoppedAt: string | null;
}

export interface WriterRefusal {
  at: string;
  operation: string;
  message: string;
  code: string | null;
}

export interface WriterProgress {
  accepted: number;
  refused: number;
  lastRefusal: string | null;
}

export interface WriterOptions {
  /** Writes (transactions) per second; default 100. */
  rate?: number;
  seed?: number;
}

/**
 * The application of the live tests: a separate process (its own SQLite connection, as a
 * real application has) that keeps writing to every table of the demo database.
 */
export class Writer {
  readonly child: ChildProcess;
  private stdoutBuffer = '';
  private stderrText = '';
  private latest: WriterProgress = { accepted: 0, refused: 0, lastRefusal: null };
  private summaryValue: WriterSummary | null = null;
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined = undefined;

  constructor(readonly sqlitePath: string, options: WriterOptions = {}) {
    this.child = spawn(process.execPath, [script, sqlitePath, '--rate', String(options.rate ?? 100), '--seed', String(options.seed ?? 1)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.onStdout(chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderrText += chunk));
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.stderrText += `\nspawn failed: ${error.message}`;
        this.exitCode = null;
        resolve(null);
      });
      this.child.on('close', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
  }

  private onStdout(chunk: string): void {
    this.stdoutBuffer += chunk;
    let newline: number;
    while ((newline = this.stdoutBuffer.indexOf('\n')) >= 0) {
      const line = this.stdoutBuffer.slice(0, newline);
      this.stdoutBuffer = this.stdoutBuffer.slice(newline + 1);
      if (!line.trim()) continue;
      try {
        const message = JSON.parse(line) as { type: string } & Partial<WriterProgress>;
        if (message.type === 'progress') this.latest = message as WriterProgress;
        if (message.type === 'summary') this.summaryValue = message as unknown as WriterSummary;
      } catch {
        this.stderrText += `\n(unparsed stdout) ${line}`;
      }
    }
  }

  get progress(): WriterProgress {
    return this.latest;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Waits until the writer has had `n` writes accepted (as it last reported). */
  async waitForAccepted(n: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.latest.accepted < n) {
      if (!this.running) throw new Error(`the writer exited (${this.exitCode}) after ${this.latest.accepted} writes:\n${this.stderrText}`);
      if (Date.now() > deadline) throw new Error(`the writer had ${this.latest.accepted} writes accepted, not ${n}, within ${timeoutMs} ms:\n${this.stderrText}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until the writer has had `n` writes refused. */
  async waitForRefused(n: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.latest.refused < n) {
      if (!this.running) throw new Error(`the writer exited (${this.exitCode}):\n${this.stderrText}`);
      if (Date.now() > deadline) throw new Error(`the writer had ${this.latest.refused} writes refused, not ${n}, within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM, then the summary it prints; fails when it does not exit 0 with one. */
  async stop(timeoutMs = 30_000): Promise<WriterSummary> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    if (code !== 0 || !this.summaryValue) {
      throw new Error(`the writer exited with ${code} and ${this.summaryValue ? 'a' : 'no'} summary:\n${this.stderrText}`);
    }
    return this.summaryValue;
  }

  /** For cleanup: SIGKILL to its process group, never fails. */
  kill(): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  async whenExited(): Promise<number | null> {
    return this.exited;
  }
}

export function startWriter(sqlitePath: string, options: WriterOptions = {}): Writer {
  return new Writer(sqlitePath, options);
}
