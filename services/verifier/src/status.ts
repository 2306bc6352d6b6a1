import {
  captureInstalled,
  changelogHead,
  countDeadLetters,
  fenceInstalled,
  endOffsets,
  loaderGroup,
  metaTableExists,
  offsetsBehind,
  readCapturedTables,
  readExtractorPosition,
  readExtractorStatus,
  readOffsets,
  tableTopic,
  META_TABLES,
  type Admin,
  type PgClient,
  type SchemaModel,
  type SqliteDatabase,
  fallbackInstalled,
  fallbackLag,
  pgFenceInstalled,
} from '@liteshift/shared';

export interface TableStatus {
  table: string;
  topic: string;
  phase: 'snapshot' | 'streaming' | 'not captured';
  /** Rows sent of rows to send, while this table's snapshot runs. */
  snapshot?: { done: number; total: number; percent: number };
  /** Messages on the table topic not yet applied to PostgreSQL (and 1 while a re-synchronisation awaits its sweep). */
  loaderLag: number;
  /** The table's last re-synchronisation (a table rebuilt by the application), or the one under way. */
  note?: string;
}

export interface PipelineStatus {
  extractor: {
    captured: boolean;
    phase: string;
    /** Last changelog sequence written by the application's triggers. */
    head: string;
    /** Last sequence Kafka acknowledged. */
    position: string;
    /** Changes committed in SQLite and not yet in Kafka. */
    lag: number;
    updatedAt: string | null;
    /** The cutover fence is up: SQLite refuses every write (a cutover done, under way, or one that died). */
    fenced: boolean;
  };
  tables: TableStatus[];
  loaderLag: number;
  rejects: number;
  deadLettered: number;
  /** After cutover, while the live fallback is installed: PostgreSQL → SQLite, its lag, and which side is fenced. */
  fallback?: { direction: 'postgresql → sqlite'; lag: number; changelog: number; applier: number; sqliteFenced: boolean; postgresFenced: boolean };
}

/** What the SQLite file alone tells: capture, the extractor's phase and position, per-table snapshot progress. */
export interface CaptureStatus {
  extractor: PipelineStatus['extractor'];
  tables: Omit<TableStatus, 'loaderLag'>[];
}

/** The extractor's side of the status, read from the SQLite file only (no Kafka, no PostgreSQL). */
export function captureStatus(db: SqliteDatabase, model: SchemaModel, topicPrefix: string): CaptureStatus {
  const captured = captureInstalled(db);
  const head = captured ? changelogHead(db) : 0n;
  const position = captured ? readExtractorPosition(db) : 0n;
  const stored = captured ? readExtractorStatus(db) : {};
  // Null from an extractor of an earlier version, which recorded no tables.
  const recorded = captured ? readCapturedTables(db) : null;
  const tables = model.tables.map((table) => {
    const progress = stored.phase === 'snapshot' ? stored.tables?.[table.name] : undefined;
    const snapshotting = progress !== undefined && progress.done < progress.total;
    const entry = recorded?.[table.name];
    // While streaming: a table new to the extractor, or being sent again whole.
    const pending = stored.phase === 'streaming' && recorded !== null && !entry?.snapshotAt;
    const resync = entry?.resync;
    return {
      table: table.name,
      topic: tableTopic(topicPrefix, table.name),
      phase: !captured ? 'not captured' : snapshotting || pending || (stored.phase === 'snapshot' && !progress) ? 'snapshot' : 'streaming',
      ...(progress ? { snapshot: { ...progress, percent: progress.total ? Math.floor((progress.done * 100) / progress.total) : 100 } } : {}),
      ...(resync
        ? {
            note: resync.completedAt
              ? `re-synchronised at ${resync.completedAt} (${resync.rows ?? 0} rows sent again): ${resync.reason}`
              : `re-synchronising since ${resync.startedAt}: ${resync.reason}`,
          }
        : {}),
    } satisfies Omit<TableStatus, 'loaderLag'>;
  });
  return {
    extractor: {
      captured,
      phase: !captured ? 'not captured' : stored.phase ?? 'starting',
      head: head.toString(),
      position: position.toString(),
      lag: captured ? Math.max(0, Number(head - position)) : 0,
      updatedAt: stored.updatedAt ?? null,
      fenced: fenceInstalled(db),
    },
    tables,
  };
}

/** Extractor lag (changelog head − produced) and loader lag (end offsets − applied), per table. */
export async function pipelineStatus(
  db: SqliteDatabase,
  pg: PgClient,
  admin: Admin,
  model: SchemaModel,
  topicPrefix: string,
  /** PostgreSQL schema of the target tables (where the fallback's fence would be). */
  schema = 'public',
): Promise<PipelineStatus> {
  const capture = captureStatus(db, model, topicPrefix);
  const applied = await readOffsets(pg, loaderGroup(topicPrefix));
  const topics = new Set(await admin.listTopics());
  const unswept = await unsweptResyncs(db, pg);
  const tables: TableStatus[] = [];
  for (const table of capture.tables) {
    const lag = topics.has(table.topic) ? offsetsBehind(applied, { [table.topic]: await endOffsets(admin, table.topic) }) : 0;
    tables.push({ ...table, loaderLag: lag + (unswept.has(table.table) ? 1 : 0) });
  }
  return {
    extractor: capture.extractor,
    tables,
    loaderLag: tables.reduce((n, t) => n + t.loaderLag, 0),
    rejects: await rejectTotal(pg),
    deadLettered: await countDeadLetters(admin, topicPrefix),
    ...(await fallbackStatus(db, pg, admin, schema, capture.extractor.fenced)),
  };
}

async function fallbackStatus(db: SqliteDatabase, pg: PgClient, admin: Admin, schema: string, sqliteFenced: boolean): Promise<Pick<PipelineStatus, 'fallback'>> {
  if (!(await fallbackInstalled(pg))) return {};
  const lag = await fallbackLag(pg, db, admin);
  return { fallback: { direction: 'postgresql → sqlite', lag: lag.changelog + lag.applier, ...lag, sqliteFenced, postgresFenced: await pgFenceInstalled(pg, schema) } };
}

/**
 * Tables the extractor is re-synchronising, or whose epoch the loader has not swept yet:
 * rows SQLite lost while the table had no trigger may still be in PostgreSQL.
 */
async function unsweptResyncs(db: SqliteDatabase, pg: PgClient): Promise<Set<string>> {
  const recorded = Object.entries(readCapturedTables(db) ?? {}).filter(([, t]) => t.epoch > 0);
  if (recorded.length === 0) return new Set();
  const swept = (await metaTableExists(pg, META_TABLES.resyncs))
    ? new Map((await pg.query<{ table_name: string; epoch: number }>(`SELECT table_name, epoch FROM ${META_TABLES.resyncs} WHERE swept_at IS NOT NULL`)).rows.map((r) => [r.table_name, r.epoch]))
    : new Map<string, number>();
  return new Set(recorded.filter(([name, t]) => !t.snapshotAt || (swept.get(name) ?? 0) < t.epoch).map(([name]) => name));
}

/** Rows PostgreSQL refused, 0 before the loader created their table. */
export async function rejectTotal(pg: PgClient): Promise<number> {
  if (!(await metaTableExists(pg, META_TABLES.rejects))) return 0;
  return Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${META_TABLES.rejects}`)).rows[0]!.n);
}

export function renderStatus(status: PipelineStatus): string {
  const e = status.extractor;
  const f = status.fallback;
  const lines = [
    ...(f
      ? [
          `fallback: ${f.direction}, lag ${f.lag} (${f.changelog} change(s) not sent back, ${f.applier} message(s) not in SQLite); fenced: ${[f.sqliteFenced ? 'SQLite' : '', f.postgresFenced ? 'PostgreSQL (a rollback holds it; `liteshift rollback --abort` lifts it)' : ''].filter(Boolean).join(', ') || 'neither'}`,
        ]
      : []),
    ...(e.fenced && !f ? ['fence: UP: SQLite refuses every write (a cutover holds it; if none is running, `liteshift cutover --abort` lifts it)'] : []),
    `extractor: ${e.phase}; changelog head ${e.head}, produced up to ${e.position}, lag ${e.lag}${e.updatedAt ? ` (updated ${e.updatedAt})` : ''}`,
    `loader: lag ${status.loaderLag} message(s); rejected rows ${status.rejects}; dead letters ${status.deadLettered}${status.deadLettered > 0 ? ' (liteshift dlq)' : ''}`,
    '',
  ];
  const width = Math.max(5, ...status.tables.map((t) => t.table.length));
  lines.push(`${'table'.padEnd(width)}  ${'phase'.padEnd(16)}  ${'loader lag'.padStart(10)}`);
  for (const t of status.tables) {
    const phase = t.snapshot && t.phase === 'snapshot' ? `snapshot ${t.snapshot.percent}%` : t.phase;
    lines.push(`${t.table.padEnd(width)}  ${phase.padEnd(16)}  ${String(t.loaderLag).padStart(10)}${t.note ? `  ${t.note}` : ''}`);
  }
  return lines.join('\n');
}
