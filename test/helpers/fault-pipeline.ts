import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, onTestFailed } from 'vitest';
import { createTodoDatabase } from '@liteshift/shared';
import { deleteTopicsWithPrefix, uniquePrefix } from './kafka.js';
import { createTestDatabase, withClient, type TestDatabase } from './postgres.js';
import { caughtUp, Service, waitForStatus, type LiveStatus } from './services.js';
import { startWriter, type Writer, type WriterSummary } from './writer.js';

/**
 * One SQLite file, one PostgreSQL database, one topic prefix, and the liteshift services
 * and application writers around them, for tests that break things on purpose.
 */
export interface FaultPipelineOptions {
  brokers: string;
  adminUrl: string;
  counts?: { users: number; tasks: number; recurringPatterns: number };
  /** Environment of every service (LITESHIFT_PARTITIONS, LITESHIFT_CHUNK_ROWS, LOG_LEVEL…). */
  env?: Record<string, string>;
  /** Target database URL; a fresh database on the admin server when absent. */
  databaseUrl?: string;
  /** A password put into the target's URL (trust authentication accepts any): the secret nobody may print. */
  password?: string;
}

export const streamingEverywhere = (s: LiveStatus): boolean =>
  s.extractor.captured && s.extractor.phase === 'streaming' && s.tables.length > 0 && s.tables.every((t) => t.phase === 'streaming');

export class FaultPipeline {
  readonly prefix: string;
  workDir = '';
  sqlitePath = '';
  target: TestDatabase | null = null;
  databaseUrl = '';
  readonly services: Service[] = [];
  readonly writers: Writer[] = [];
  /** The extractor and the loader started last. */
  extract: Service | null = null;
  load: Service | null = null;

  constructor(
    readonly label: string,
    private readonly options: FaultPipelineOptions,
  ) {
    this.prefix = uniquePrefix(label);
  }

  async create(): Promise<void> {
    this.workDir = mkdtempSync(join(tmpdir(), `liteshift-${this.label}-`));
    this.sqlitePath = join(this.workDir, 'todo.db');
    const counts = this.options.counts ?? { users: 200, tasks: 3000, recurringPatterns: 300 };
    expect(createTodoDatabase(this.sqlitePath, counts)).toEqual(counts);
    if (this.options.databaseUrl) {
      this.databaseUrl = this.options.databaseUrl;
    } else {
      this.target = await createTestDatabase(this.options.adminUrl, this.label);
      this.databaseUrl = this.target.url;
    }
    if (this.options.password) {
      const url = new URL(this.databaseUrl);
      if (!url.password) url.password = this.options.password;
      this.databaseUrl = url.toString();
    }
  }

  get secret(): string {
    return decodeURIComponent(new URL(this.databaseUrl).password);
  }

  get env(): Record<string, string> {
    return {
      SQLITE_PATH: this.sqlitePath,
      DATABASE_URL: this.databaseUrl,
      KAFKA_BROKERS: this.options.brokers,
      LITESHIFT_TOPIC_PREFIX: this.prefix,
      LOG_FORMAT: 'json',
      ...this.options.env,
    };
  }

  private start(kind: 'extract' | 'load', env: Record<string, string>): Service {
    const n = this.services.filter((s) => s.label.startsWith(kind)).length + 1;
    const service = new Service(`${kind}#${n}`, [kind, '--follow'], { ...this.env, ...env });
    this.services.push(service);
    this[kind] = service;
    return service;
  }

  startExtract(env: Record<string, string> = {}): Service {
    return this.start('extract', env);
  }

  /** Loaders log every batch they apply (info; debug adds details), so a test can check no offset was applied twice. */
  startLoad(env: Record<string, string> = {}): Service {
    return this.start('load', { LOG_LEVEL: 'debug', ...env });
  }

  writer(rate: number, seed: number): Writer {
    const writer = startWriter(this.sqlitePath, { rate, seed });
    this.writers.push(writer);
    return writer;
  }

  running(): Service[] {
    return this.services.filter((s) => s.running);
  }

  /** Polls `liteshift status --json` until `until` holds (default: caught up), failing early when a service exits. */
  waitFor(what: string, until: (s: LiveStatus) => boolean = (s) => caughtUp(s), deadlineMs = 120_000): Promise<LiveStatus> {
    return waitForStatus(this.env, this.running(), { deadlineMs, until, what });
  }

  /** Stops the writer (expecting every write accepted), then waits for zero lag. */
  async drain(writer: Writer): Promise<WriterSummary> {
    const summary = await writer.stop();
    expect(summary.refused, `refused writes: ${JSON.stringify(summary.refusals)}`).toBe(0);
    expect(summary.accepted).toBeGreaterThan(0);
    await this.waitFor('zero lag after the writer stopped');
    return summary;
  }

  /** Prints every process's output when the current test fails. */
  diagnoseOnFailure(): void {
    onTestFailed(() => {
      const parts = this.services.map((s) => s.describe(8000));
      for (const w of this.writers) parts.push(`--- writer (${w.running ? 'running' : 'exited'}) progress ${JSON.stringify(w.progress)} ---\n${w.stderr}`);
      console.error(`[${this.label}] processes:\n${parts.join('\n')}`);
    });
  }

  async destroy(): Promise<void> {
    for (const writer of this.writers) writer.kill();
    await Promise.all(this.services.map((s) => s.stop('SIGTERM', 15_000).catch(() => undefined)));
    for (const service of this.services) service.kill();
    await this.target?.drop().catch(() => undefined);
    await deleteTopicsWithPrefix(this.options.brokers, this.prefix);
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
  }

  /** The SQLite file as the application opens it (waiting on liteshift's brief locks). */
  openWritable(): Database.Database {
    const db = new Database(this.sqlitePath);
    db.pragma('busy_timeout = 5000');
    return db;
  }

  /** liteshift's own objects in the SQLite file (`_liteshift_…` tables and triggers). */
  internalObjects(): string[] {
    const db = new Database(this.sqlitePath, { readonly: true });
    try {
      return (db.prepare("SELECT type || ' ' || name AS o FROM sqlite_schema WHERE name LIKE '\\_liteshift\\_%' ESCAPE '\\' ORDER BY 1").all() as { o: string }[]).map((r) => r.o);
    } finally {
      db.close();
    }
  }

  /** A value of liteshift's state table in the SQLite file (what the extractor persisted). */
  sqliteState(name: string): unknown {
    const db = new Database(this.sqlitePath, { readonly: true });
    try {
      db.pragma('busy_timeout = 5000');
      const exists = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = '_liteshift_state'").get();
      if (!exists) return undefined;
      return (db.prepare('SELECT value FROM _liteshift_state WHERE name = ?').get(name) as { value: unknown } | undefined)?.value;
    } finally {
      db.close();
    }
  }

  /** Connections of liteshift's loaders to the target database that are inside a transaction now. */
  async loaderTransactionsOpen(): Promise<number> {
    const name = new URL(this.databaseUrl).pathname.slice(1);
    return withClient(this.options.adminUrl, async (client) => {
      const r = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'liteshift-loader' AND xact_start IS NOT NULL",
        [name],
      );
      return Number(r.rows[0]!.n);
    });
  }
}

/** Waits until `predicate` holds, polling every `everyMs`; fails after `timeoutMs` saying what it waited for. */
export async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface AppliedRange {
  service: string;
  topic: string;
  partition: number;
  from: bigint;
  to: bigint;
}

/** The offset ranges each applying service (loaders by default) logged as applied (one `batch applied` info line per committed batch). */
export function appliedRanges(services: readonly Service[], labels: readonly string[] = ['load', 'replay']): AppliedRange[] {
  const out: AppliedRange[] = [];
  for (const service of services.filter((s) => labels.some((label) => s.label.startsWith(label)))) {
    for (const line of service.logLines()) {
      if (line.msg !== 'batch applied' || typeof line.topic !== 'string') continue;
      out.push({ service: service.label, topic: line.topic, partition: Number(line.partition), from: BigInt(String(line.from)), to: BigInt(String(line.to)) });
    }
  }
  return out;
}

/**
 * Exactly-once, as the loaders saw it: no offset of any partition appears in two applied
 * batches (of one loader or of two). Returns how many batches were compared.
 */
export function expectNoOffsetAppliedTwice(services: readonly Service[], labels?: readonly string[]): number {
  const ranges = appliedRanges(services, labels);
  const byPartition = new Map<string, AppliedRange[]>();
  for (const r of ranges) {
    const id = `${r.topic}:${r.partition}`;
    byPartition.set(id, [...(byPartition.get(id) ?? []), r]);
  }
  const overlaps: string[] = [];
  for (const [id, list] of byPartition) {
    list.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1]!;
      const now = list[i]!;
      if (now.from <= before.to) overlaps.push(`${id}: ${before.service} applied ${before.from}..${before.to}, ${now.service} applied ${now.from}..${now.to}`);
    }
  }
  expect(overlaps, 'offsets applied twice').toEqual([]);
  return ranges.length;
}
