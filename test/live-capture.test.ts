import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describePostgresUrl } from '@liteshift/shared';
import { describeRun, runCli } from './helpers/cli.js';
import { expectSameRows } from './helpers/compare.js';
import { FaultPipeline, streamingEverywhere, type FaultPipelineOptions } from './helpers/fault-pipeline.js';
import { DEMO_FOREIGN_KEYS, foreignKeys, uniqueIndexColumns, withClient } from './helpers/postgres.js';
import { caughtUp, liveStatus, waitForStatus } from './helpers/services.js';
import { type WriterSummary, type WriterTable } from './helpers/writer.js';

/*
 * Live capture (DESIGN contracts 3, 4, 8): an application keeps writing to SQLite while
 * `extract --follow` and `load --follow` run as the services they are; the target must
 * converge to exactly the source, and cutover must lose no accepted write.
 */

const COUNTS = { users: 200, tasks: 3000, recurringPatterns: 300 };
const TABLES = ['recurring_patterns', 'tasks', 'users'];
/** Generous: waits end as soon as the condition holds, the deadline only bounds a hang. */
const CATCH_UP_MS = 90_000;

/** One SQLite file, one PostgreSQL database, one topic prefix, and the processes around them. */
function pipeline(label: string, options: Partial<FaultPipelineOptions> = {}): FaultPipeline {
  return new FaultPipeline(label, { brokers: inject('kafkaBrokers'), adminUrl: inject('adminDatabaseUrl'), counts: COUNTS, ...options });
}

/**
 * Writer before capture → extract/load start → snapshot → streaming with the writer on →
 * writer stopped → zero lag. Returns the writer's summary.
 */
async function runThroughSnapshot(p: FaultPipeline, options: { rate: number; seed: number; streamingWrites: number }): Promise<WriterSummary> {
  const writer = p.writer(options.rate, options.seed);
  try {
    await writer.waitForAccepted(100);
    // The application was writing before liteshift touched the file.
    expect(p.internalObjects()).toEqual([]);
    p.startExtract();
    p.startLoad();
    await p.waitFor('every table streaming', streamingEverywhere);
    expect(writer.running).toBe(true);
    await writer.waitForAccepted(writer.progress.accepted + options.streamingWrites);
  } catch (error) {
    writer.kill();
    throw error;
  }
  const summary = await writer.stop();
  expect(summary.refused, `refused writes: ${JSON.stringify(summary.refusals)}`).toBe(0);
  await p.waitFor('zero lag after the writer stopped');
  return summary;
}

async function idsPresent(url: string, table: WriterTable, ids: readonly number[]): Promise<number[]> {
  return withClient(url, async (client) => {
    // Ordered by the bigint column, not by the text alias (which puts 1019 before 354).
    const r = await client.query<{ id: string }>(`SELECT id::text AS id FROM ${table} WHERE id = ANY($1::bigint[]) ORDER BY ${table}.id`, [ids]);
    return r.rows.map((row) => Number(row.id));
  });
}

function sqliteIdsPresent(p: FaultPipeline, table: WriterTable, ids: readonly number[]): number[] {
  const db = new Database(p.sqlitePath, { readonly: true });
  try {
    const found: number[] = [];
    const get = db.prepare(`SELECT id FROM ${table} WHERE id = ?`);
    for (const id of ids) if (get.get(id)) found.push(id);
    return found.sort((a, b) => a - b);
  } finally {
    db.close();
  }
}

describe('live capture: a writer running before capture is installed and through the snapshot', () => {
  const p = pipeline('live-a', { env: { LITESHIFT_CHUNK_ROWS: '250' } });
  let summary: WriterSummary;

  beforeAll(() => p.create());
  afterAll(() => p.destroy());

  it('converges: every row and column equal, deletes and primary-key changes arrived', async () => {
    p.diagnoseOnFailure();
    summary = await runThroughSnapshot(p, { rate: 200, seed: 11, streamingWrites: 600 });
    // The writer really did all of it (else this test proves less than it says).
    for (const op of ['insert task', 'update task', 'update user', 'delete task', 'delete user', 'change task key', 'change user key']) {
      expect(summary.ops[op] ?? 0, `writer operation "${op}"`).toBeGreaterThan(0);
    }

    const tables = await expectSameRows(p.sqlitePath, p.databaseUrl);
    expect(tables.map((t) => t.table).sort()).toEqual(TABLES);

    for (const table of TABLES as WriterTable[]) {
      const deleted = summary.deleted[table];
      expect(sqliteIdsPresent(p, table, deleted), `${table} rows the writer deleted, in SQLite`).toEqual([]);
      expect(await idsPresent(p.databaseUrl, table, deleted), `${table} rows the writer deleted, still in PostgreSQL`).toEqual([]);
    }
    expect(summary.deleted.tasks.length).toBeGreaterThan(0);
    expect(summary.deleted.users.length).toBeGreaterThan(0);

    for (const table of ['tasks', 'users'] as const) {
      const changes = summary.pkChanges.filter((c) => c.table === table);
      expect(changes.length, `${table} primary-key changes`).toBeGreaterThan(0);
      const from = changes.map((c) => c.from);
      const to = changes.map((c) => c.to);
      expect(await idsPresent(p.databaseUrl, table, from), `${table}: old keys still in PostgreSQL`).toEqual([]);
      // New keys still in SQLite (a later write may have deleted or moved some) are in PostgreSQL.
      const live = sqliteIdsPresent(p, table, to);
      expect(live.length, `${table}: no new key survived in SQLite`).toBeGreaterThan(0);
      expect(await idsPresent(p.databaseUrl, table, to), `${table}: new keys in PostgreSQL`).toEqual(live);
    }
    // A user's key change moved its tasks along: none point at an old user key.
    const oldUsers = summary.pkChanges.filter((c) => c.table === 'users').map((c) => c.from);
    await withClient(p.databaseUrl, async (client) => {
      const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM tasks WHERE user_id = ANY($1::bigint[])', [oldUsers]);
      expect(r.rows[0]!.n).toBe('0');
    });
  });

  it('status --json while following: every table streaming, lags back to 0 after more writes', async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(100, 12);
    await writer.waitForAccepted(150);
    const during = await liveStatus(p.env);
    expect(during.extractor.captured).toBe(true);
    expect(during.extractor.phase).toBe('streaming');
    expect(during.tables.map((t) => t.table).sort()).toEqual(TABLES);
    expect(during.tables.map((t) => [t.table, t.phase])).toEqual(during.tables.map((t) => [t.table, 'streaming']));
    for (const t of during.tables) expect(t.topic).toBe(`${p.prefix}.${t.table}`);
    expect(BigInt(during.extractor.head)).toBeGreaterThanOrEqual(BigInt(during.extractor.position));
    const stopped = await writer.stop();
    expect(stopped.refused).toBe(0);

    const after = await p.waitFor('zero lag');
    expect(after.extractor.lag).toBe(0);
    expect(after.loaderLag).toBe(0);
    expect(after.tables.every((t) => t.loaderLag === 0 && t.phase === 'streaming')).toBe(true);
    expect(after.extractor.head).toBe(after.extractor.position);
    expect(BigInt(after.extractor.position)).toBeGreaterThan(BigInt(during.extractor.position));
    expect(after.rejects).toBe(0);
    expect(after.deadLettered).toBe(0);
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });

  it('uninstall (services stopped with SIGTERM) removes every _liteshift_ trigger and table; the app writes on', async () => {
    p.diagnoseOnFailure();
    const objects = p.internalObjects();
    expect(objects.some((o) => o.startsWith('trigger '))).toBe(true);
    expect(objects).toContain('table _liteshift_changelog');

    for (const service of p.running()) {
      const stopped = await service.stop('SIGTERM', 30_000);
      expect(stopped.killed, `${service.label} did not stop on SIGTERM\n${service.describe()}`).toBe(false);
      expect(stopped.code, service.describe()).toBe(0);
    }
    const run = await runCli(['uninstall'], p.env);
    expect(run.code, describeRun(run)).toBe(0);
    expect(p.internalObjects()).toEqual([]);

    const db = p.openWritable();
    try {
      const info = db.prepare("INSERT INTO tasks (user_id, title) VALUES ((SELECT min(id) FROM users), 'after uninstall')").run();
      expect(info.changes).toBe(1);
    } finally {
      db.close();
    }
    expect(p.internalObjects()).toEqual([]);
  });
});

describe('live capture: cutover while the application keeps writing', () => {
  const p = pipeline('live-b', { password: 'S3cret' });
  let cutoverRun: Awaited<ReturnType<typeof runCli>>;
  let during: WriterSummary;

  beforeAll(() => p.create());
  afterAll(() => p.destroy());

  it('follows a writer through the snapshot to zero lag', async () => {
    p.diagnoseOnFailure();
    await runThroughSnapshot(p, { rate: 200, seed: 21, streamingWrites: 400 });
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });

  it('cutover --json with a writer on: exit 0, ready, masked DATABASE_URL, no password anywhere', async () => {
    p.diagnoseOnFailure();
    expect(p.secret.length).toBeGreaterThan(0);
    const writer = p.writer(100, 22);
    await writer.waitForAccepted(100);
    // 90 s is generous: the pipeline catches up within a second or two at this rate.
    cutoverRun = await runCli(['cutover', '--json', '--timeout', '90'], p.env, 180_000);
    // The application keeps trying; its writes are refused from the fence on.
    if (cutoverRun.code === 0) await writer.waitForRefused(5, 30_000);
    during = await writer.stop();

    expect(cutoverRun.code, describeRun(cutoverRun)).toBe(0);
    const result = JSON.parse(cutoverRun.stdout) as { ready: boolean; databaseUrl: string | null; report: { verdict: string; reasons?: string[] } };
    expect(result.ready, describeRun(cutoverRun)).toBe(true);
    expect(result.report.verdict).toBe('READY');
    expect(result.databaseUrl).toMatch(/^DATABASE_URL=postgres(ql)?:\/\//);
    const printed = new URL(result.databaseUrl!.slice('DATABASE_URL='.length));
    const target = new URL(p.databaseUrl);
    expect(`${printed.hostname}:${printed.port}${printed.pathname}`).toBe(`${target.hostname}:${target.port}${target.pathname}`);
    expect(printed.username).toBe(target.username);
    expect(printed.password).toBe('***');

    for (const [name, text] of [
      ['cutover stdout', cutoverRun.stdout],
      ['cutover stderr', cutoverRun.stderr],
      ...p.services.flatMap((s) => [[`${s.label} stdout`, s.stdout], [`${s.label} stderr`, s.stderr]]),
    ] as [string, string][]) {
      expect(text.includes(p.secret), `the password appears in ${name}`).toBe(false);
    }
  }, 240_000);

  const requireCutover = (): void => {
    expect(cutoverRun?.code, 'cutover did not succeed (see the test above)').toBe(0);
  };

  it("the writer's refusals carry the fence's message naming the new database", () => {
    p.diagnoseOnFailure();
    requireCutover();
    expect(during.accepted).toBeGreaterThan(0);
    expect(during.refused).toBeGreaterThan(0);
    const where = describePostgresUrl(p.databaseUrl);
    expect(where).toMatch(/^127\.0\.0\.1:5432\/liteshift_t_/);
    // Every refusal is the fence (no SQLITE_BUSY from liteshift holding the write lock too long).
    for (const message of Object.keys(during.refusals)) {
      expect(message).toContain(where);
      expect(message).not.toContain(p.secret);
    }
    expect(during.firstRefusal!.message).toContain(where);
  });

  it('every write SQLite accepted is in PostgreSQL; foreign keys validated; users.email unique', async () => {
    p.diagnoseOnFailure();
    requireCutover();
    // No waiting: cutover's READY is the promise that the target has every accepted write.
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    // Spelled out for the writer's own inserts during cutover (those still in SQLite).
    const acceptedInserts = sqliteIdsPresent(p, 'tasks', during.inserted.tasks);
    expect(acceptedInserts.length).toBeGreaterThan(0);
    expect(await idsPresent(p.databaseUrl, 'tasks', acceptedInserts)).toEqual(acceptedInserts);

    await withClient(p.databaseUrl, async (client) => {
      expect(await foreignKeys(client)).toEqual(DEMO_FOREIGN_KEYS);
      expect(await uniqueIndexColumns(client, 'public.users')).toContain('email');

      // Identities moved past the largest key, including keys the writer moved up by hand
      // (the application's first insert into PostgreSQL must not collide). Rolled back.
      await client.query('BEGIN');
      try {
        for (const [table, insert] of [
          ['tasks', "INSERT INTO tasks (user_id, title) VALUES ((SELECT min(id) FROM users), 'first insert after cutover') RETURNING id::text AS id"],
          ['users', "INSERT INTO users (email, username, hashed_password) VALUES ('after@cutover.example', 'after_cutover', 'x') RETURNING id::text AS id"],
          ['recurring_patterns', "INSERT INTO recurring_patterns (user_id, frequency, start_date) VALUES ((SELECT min(id) FROM users), 'daily', '2026-01-01') RETURNING id::text AS id"],
        ] as const) {
          const max = await client.query<{ m: string }>(`SELECT max(id)::text AS m FROM ${table}`);
          const inserted = await client.query<{ id: string }>(insert);
          expect(BigInt(inserted.rows[0]!.id), `${table}: identity not past the largest key`).toBeGreaterThan(BigInt(max.rows[0]!.m));
        }
      } finally {
        await client.query('ROLLBACK');
      }
    });
  });

  it('SQLite stays fenced after cutover; cutover --abort lets it take writes again, and they still stream', async () => {
    p.diagnoseOnFailure();
    requireCutover();
    const db = p.openWritable();
    try {
      const insert = db.prepare("INSERT INTO tasks (user_id, title, description) VALUES ((SELECT min(id) FROM users), ?, ?)");
      expect(() => insert.run('while fenced', null)).toThrow(describePostgresUrl(p.databaseUrl));

      const abort = await runCli(['cutover', '--abort'], p.env);
      expect(abort.code, describeRun(abort)).toBe(0);
      expect(abort.stdout.includes(p.secret) || abort.stderr.includes(p.secret)).toBe(false);

      const info = insert.run('after abort', 'tab\there, "quoted", ü');
      expect(info.changes).toBe(1);
    } finally {
      db.close();
    }
    // Reversible: extract/load kept following, and the write reaches PostgreSQL.
    await p.waitFor('zero lag after the abort');
    await expectSameRows(p.sqlitePath, p.databaseUrl);
  });
});

describe('live capture: schema changes while following', () => {
  const p = pipeline('live-c');

  beforeAll(() => p.create());
  afterAll(() => p.destroy());

  it('a new table (composite key) and new columns on tasks appear in PostgreSQL with their rows, nothing restarted', async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(100, 31);
    await writer.waitForAccepted(50);
    const extract = p.startExtract();
    const load = p.startLoad();
    await p.waitFor('every table streaming', streamingEverywhere);

    const db = p.openWritable();
    try {
      db.exec(`CREATE TABLE task_labels (
        task_id INTEGER NOT NULL,
        label TEXT NOT NULL,
        color TEXT,
        weight REAL,
        created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (task_id, label)
      )`);
      const addLabel = db.prepare('INSERT INTO task_labels (task_id, label, color, weight) VALUES (?, ?, ?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= 60; i++) addLabel.run(i, i % 3 ? `label ${i}` : `ünïcode\t"${i}"\n'x'`, i % 4 ? '#ff0000' : null, i % 5 ? i / 8 : null);
      })();
      db.exec('ALTER TABLE tasks ADD COLUMN estimate_minutes INTEGER');
      db.exec("ALTER TABLE tasks ADD COLUMN notes TEXT DEFAULT 'none'");
      db.prepare("UPDATE tasks SET estimate_minutes = id % 90, notes = 'note ' || id || char(9) || 'é' WHERE id % 5 = 0").run();
    } finally {
      db.close();
    }
    // More writes of the application on the grown table, then changes to the new one after capture picked it up.
    await writer.waitForAccepted(writer.progress.accepted + 200);
    await p.waitFor('task_labels streaming', (s) => streamingEverywhere(s) && s.tables.some((t) => t.table === 'task_labels'));
    const db2 = p.openWritable();
    try {
      db2.transaction(() => {
        db2.prepare("UPDATE task_labels SET color = 'blue', weight = NULL WHERE task_id % 2 = 0").run();
        db2.prepare('DELETE FROM task_labels WHERE task_id % 7 = 0').run();
        db2.prepare("INSERT INTO task_labels (task_id, label, color) VALUES (1000, 'late', NULL), (1001, 'late', 'green')").run();
        db2.prepare('UPDATE task_labels SET label = label || \' (renamed)\' WHERE task_id = 1').run(); // a key change on a composite key
        db2.prepare('UPDATE tasks SET estimate_minutes = 5, notes = NULL WHERE id % 11 = 0').run();
      })();
    } finally {
      db2.close();
    }
    const summary = await writer.stop();
    expect(summary.refused, JSON.stringify(summary.refusals)).toBe(0);

    const status = await p.waitFor('zero lag with the new table', (s) => caughtUp(s, ['task_labels']));
    expect(status.tables.map((t) => t.table).sort()).toEqual([...TABLES, 'task_labels'].sort());
    const tables = await expectSameRows(p.sqlitePath, p.databaseUrl);
    expect(tables.find((t) => t.table === 'task_labels')?.postgresCount).toBeGreaterThan(40);

    await withClient(p.databaseUrl, async (client) => {
      const columns = await client.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'tasks' AND column_name IN ('estimate_minutes', 'notes') ORDER BY 1",
      );
      expect(columns.rows.map((r) => r.column_name)).toEqual(['estimate_minutes', 'notes']);
      const set = await client.query<{ n: string }>('SELECT count(*) AS n FROM tasks WHERE estimate_minutes IS NOT NULL');
      expect(Number(set.rows[0]!.n)).toBeGreaterThan(0);
      const renamed = await client.query<{ label: string }>('SELECT label FROM task_labels WHERE task_id = 1');
      expect(renamed.rows.map((r) => r.label)).toEqual(['label 1 (renamed)']);
    });
    // Without restarting anything: the same two processes did all of it.
    expect(extract.running && load.running).toBe(true);
    expect(p.services).toHaveLength(2);
  });

  it("columns added while the loader is behind: rows not changed since keep the column's DEFAULT, as in SQLite", async () => {
    p.diagnoseOnFailure();
    // The loader is stopped for a while (as for maintenance); the application and its
    // schema move on, and the loader catches up afterwards.
    const load = p.load!;
    const stopped = await load.stop('SIGTERM', 30_000);
    expect(stopped.killed || stopped.code !== 0, load.describe()).toBe(false);

    const db = p.openWritable();
    try {
      // Changes streamed with the writer schema of before the ALTER…
      db.prepare("UPDATE tasks SET title = title || '.' WHERE id % 3 = 0").run();
      await waitForStatus(p.env, [p.extract!], { deadlineMs: CATCH_UP_MS, until: (s) => s.extractor.lag === 0, what: 'extractor lag 0' });
      // …then columns with defaults: SQLite reads every existing row as having the default.
      db.exec("ALTER TABLE tasks ADD COLUMN archived INTEGER NOT NULL DEFAULT 0");
      db.exec("ALTER TABLE tasks ADD COLUMN bucket TEXT DEFAULT 'inbox'");
      db.prepare("UPDATE tasks SET bucket = 'later', archived = 1 WHERE id % 3 = 1").run();
    } finally {
      db.close();
    }
    p.startLoad();
    await p.waitFor('zero lag after the loader caught up');
    await expectSameRows(p.sqlitePath, p.databaseUrl);
    await withClient(p.databaseUrl, async (client) => {
      const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM tasks WHERE archived IS NULL OR bucket IS NULL');
      expect(r.rows[0]!.n, 'rows whose new columns are NULL in PostgreSQL (SQLite has their DEFAULT)').toBe('0');
    });
  });
});

describe('live capture: SIGTERM to the extractor mid-stream, then a restart', () => {
  const p = pipeline('live-e');

  beforeAll(() => p.create());
  afterAll(() => p.destroy());

  it('resumes from its stored position: no new snapshot, the stream continues, rows equal', async () => {
    p.diagnoseOnFailure();
    const writer = p.writer(150, 41);
    await writer.waitForAccepted(50);
    const first = p.startExtract();
    p.startLoad();
    await p.waitFor('every table streaming', streamingEverywhere);
    await writer.waitForAccepted(writer.progress.accepted + 300);

    // Mid-stream: the writer is on, the extractor has changes in hand.
    const stopped = await first.stop('SIGTERM', 30_000);
    expect(stopped.killed, `the extractor ignored SIGTERM\n${first.describe()}`).toBe(false);
    expect(stopped.code, first.describe()).toBe(0);
    const snapshotsBefore = first.logLines().filter((l) => /^snapshot (starts|complete)/.test(String(l.msg))).length;
    expect(snapshotsBefore, 'the first extractor took its snapshot').toBeGreaterThan(0);

    // The application writes on while no extractor runs: the changelog keeps every change.
    const atStop = await liveStatus(p.env);
    await writer.waitForAccepted(writer.progress.accepted + 300);
    const down = await liveStatus(p.env);
    expect(down.extractor.position, 'nothing is produced while the extractor is down').toBe(atStop.extractor.position);
    expect(down.extractor.lag).toBeGreaterThan(0);

    const second = p.startExtract();
    await writer.waitForAccepted(writer.progress.accepted + 300);
    const summary = await writer.stop();
    expect(summary.refused, JSON.stringify(summary.refusals)).toBe(0);
    const end = await p.waitFor('zero lag after the restart');
    expect(BigInt(end.extractor.position)).toBeGreaterThan(BigInt(down.extractor.head));

    const lines = second.logLines().map((l) => String(l.msg));
    expect(lines.filter((m) => /^snapshot (starts|complete)/.test(m)), 'the restarted extractor took a new snapshot').toEqual([]);
    const resumed = second.logLines().find((l) => /resum/i.test(String(l.msg)));
    expect(resumed, `no "resuming" line in\n${second.describe()}`).toBeDefined();
    expect(String(resumed!.position)).toBe(atStop.extractor.position);

    await expectSameRows(p.sqlitePath, p.databaseUrl);
    for (const table of TABLES as WriterTable[]) {
      expect(await idsPresent(p.databaseUrl, table, summary.deleted[table]), `${table}: deleted rows still in PostgreSQL`).toEqual([]);
    }
  });
});
