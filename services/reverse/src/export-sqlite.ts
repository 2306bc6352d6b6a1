/**
 * `liteshift export-sqlite`: PostgreSQL back into a SQLite file, through Kafka.
 *
 * DESIGN. The way back has the forward pipeline's shape, mirrored: a PostgreSQL snapshot
 * source turns every row of one consistent snapshot (a REPEATABLE READ transaction) into
 * the same Avro change events (contract 2) on `<prefix>.reverse.<table>`, and the SQLite
 * applier writes them into the file idempotently, in batches, each in one write
 * transaction with its position per topic-partition stored in the file (contract 5,
 * mirrored). For a one-shot export, Kafka is a detour: a direct copy would do. It is
 * taken because the live fallback (`liteshift rollback`, next) needs exactly these
 * pieces: its reverse stream publishes changed rows as these events on these topics, and
 * the same applier follows them into the same file, resuming from the same position. One
 * path, exercised by every export, instead of a second one that only the fallback uses.
 */
import {
  MessageProducer,
  connectAdmin,
  connectPostgres,
  createKafka,
  endOffsets,
  ensureTopics,
  postgresError,
  publishSchemas,
  quoteIdent,
  reverseTopicPrefix,
  rowidName,
  schemaRecord,
  schemaTopic,
  sqliteReadExpr,
  startAppliedOffsetsAt,
  tableTopic,
  LiteshiftError,
  errorMessage,
  type Logger,
  type Notice,
  type PartitionOffsets,
  type PgClient,
  type SqlValue,
  type SqliteDatabase,
  type TableModel,
} from '@liteshift/shared';
import type { Statement } from 'better-sqlite3';
import { EventDispatcher } from '@liteshift/extractor';
import { rejectCounts } from '@liteshift/verifier';
import { exportPlan, type ExportTable } from './export-model.js';
import { PostgresSnapshotSource, RefusedValues } from './snapshot-source.js';
import { SqliteApplier, type AppliedTotals } from './sqlite-applier.js';
import { openTarget, tableExists } from './sqlite-target.js';

export interface ExportOptions {
  sqlitePath: string;
  databaseUrl: string;
  targetSchema: string;
  kafkaBrokers: string[];
  topicPrefix: string;
  partitions: number;
  chunkRows: number;
  log: Logger;
  onPhase?: (phase: string) => void;
}

export interface ExportedTable {
  table: string;
  origin: ExportTable['origin'];
  /** Rows of the snapshot sent. */
  rows: number;
  /** Keys the file held that PostgreSQL no longer has: sent as deletes. */
  deletes: number;
}

export interface ExportResult {
  /** The file existed (the application's own), or was created. */
  target: 'existing' | 'new';
  tables: ExportedTable[];
  notices: Notice[];
  applied: AppliedTotals;
  snapshotMs: number;
  applyMs: number;
}

const KEY_PAGE = 1_000;

/**
 * The keys a table of the file holds, a page at a time in key order (rowid order for
 * rowid tables), each page a short read: the file is not being written meanwhile.
 */
function* fileKeys(db: SqliteDatabase, path: string, table: TableModel): Generator<SqlValue[][]> {
  const t = `main.${quoteIdent(table.name)}`;
  const keys = table.key.map((k) => table.columns.find((c) => c.name === k)!);
  const rowid = table.withoutRowid ? null : (rowidName(table) ?? 'rowid');
  const names = table.key.map(quoteIdent);
  let first: Statement;
  let next: Statement;
  try {
    if (rowid) {
      const read = keys.map((c) => sqliteReadExpr(c, rowid)).join(', ');
      first = db.prepare(`SELECT ${rowid}, ${read} FROM ${t} ORDER BY ${rowid} LIMIT ${KEY_PAGE}`).raw(true);
      next = db.prepare(`SELECT ${rowid}, ${read} FROM ${t} WHERE ${rowid} > ? ORDER BY ${rowid} LIMIT ${KEY_PAGE}`).raw(true);
    } else {
      first = db.prepare(`SELECT ${names.join(', ')} FROM ${t} ORDER BY ${names.join(', ')} LIMIT ${KEY_PAGE}`).raw(true);
      next = db.prepare(`SELECT ${names.join(', ')} FROM ${t} WHERE (${names.join(', ')}) > (${names.map(() => '?').join(', ')}) ORDER BY ${names.join(', ')} LIMIT ${KEY_PAGE}`).raw(true);
    }
  } catch (error) {
    throw new LiteshiftError('SQLITE_UNSUPPORTED', `cannot read the keys of ${table.name} in ${path}: ${errorMessage(error)}`, {
      hint: 'the table in the file is not the one liteshift migrated, or its key uses a collation only the application registers',
      cause: error,
    });
  }
  // A rowid table pages by rowid (then drops it); a WITHOUT ROWID table by its key.
  const after = (rows: SqlValue[][]): SqlValue[] => (rowid ? [rows.at(-1)![0]!] : rows.at(-1)!);
  for (let rows = first.all() as SqlValue[][]; rows.length > 0; rows = next.all(...after(rows)) as SqlValue[][]) {
    yield rowid ? rows.map((r) => r.slice(1)) : rows;
  }
}

function describeRefused(refused: RefusedValues): LiteshiftError {
  const first = refused.examples[0]!;
  return new LiteshiftError(
    'SQLITE_VALUE_REFUSED',
    `${refused.count} value(s) on PostgreSQL cannot be written into SQLite as their columns declare; nothing was written to the file. First: ${first.table} key (${first.key}) ${first.column} = ${first.value}: ${first.reason}`,
    { hint: 'change those values on PostgreSQL (or the column in SQLite) and run export-sqlite again; the log lists the first ten' },
  );
}

/**
 * Rows PostgreSQL refused during the migration (liteshift.rejects) are in the file and
 * nowhere else: the export would delete them as rows PostgreSQL does not have. Refused.
 */
async function refuseDeletingRejects(pg: PgClient, db: SqliteDatabase, tables: readonly ExportTable[]): Promise<void> {
  const rejects = await rejectCounts(pg);
  const at = tables.filter((t) => (rejects.get(t.table.name) ?? 0) > 0 && tableExists(db, t.table.name)).map((t) => `${t.table.name} (${rejects.get(t.table.name)})`);
  if (at.length === 0) return;
  throw new LiteshiftError('REJECTS_PENDING', `liteshift.rejects holds rows PostgreSQL refused during the migration, which the file still has: ${at.join(', ')}; exporting would delete them`, {
    hint: 'fix or copy those rows (SELECT * FROM liteshift.rejects), then DELETE FROM liteshift.rejects, and run export-sqlite again; or export into a new file',
  });
}

/**
 * One export: the plan (which tables, with which models), the file checked, the snapshot
 * sent, the file's position set at the snapshot's start, and the applier run to its end.
 * A value SQLite cannot hold stops it before the file is written; verifying is the caller's.
 */
export async function exportSqlite(o: ExportOptions): Promise<ExportResult> {
  const { log } = o;
  const pg = await connectPostgres(o.databaseUrl, 'liteshift-export');
  let target: ReturnType<typeof openTarget> | null = null;
  let producer: MessageProducer | null = null;
  let applier: SqliteApplier | null = null;
  const kafka = createKafka({ brokers: o.kafkaBrokers, clientId: 'liteshift-export', log });
  const admin = await connectAdmin(kafka, o.kafkaBrokers).catch(async (error: unknown) => {
    await pg.end().catch(() => undefined);
    throw error;
  });
  try {
    const plan = await exportPlan(pg, o.targetSchema).catch((error: unknown) => {
      throw postgresError(error, o.databaseUrl, 'read the tables');
    });
    for (const n of plan.notices) log[n.level]({ table: n.table, column: n.column }, n.message);
    target = openTarget(o.sqlitePath);
    const { db } = target;
    await refuseDeletingRejects(pg, db, plan.tables);
    const prefix = reverseTopicPrefix(o.topicPrefix);
    const topics = plan.tables.map((t) => tableTopic(prefix, t.table.name));
    await ensureTopics(admin, [{ topic: schemaTopic(prefix), partitions: 1, compacted: true }, ...topics.map((topic) => ({ topic, partitions: o.partitions, compacted: true }))]);
    producer = new MessageProducer({ brokers: o.kafkaBrokers, clientId: 'liteshift-export', log });
    await publishSchemas(producer, prefix, plan.tables.map((t, i) => schemaRecord(t.table, topics[i]!)));
    const dispatcher = new EventDispatcher(producer, prefix);
    for (const t of plan.tables) dispatcher.register(t.table);
    // Where this snapshot starts on every topic: what comes before it is superseded.
    const start: Record<string, PartitionOffsets> = {};
    for (const topic of topics) start[topic] = await endOffsets(admin, topic);

    o.onPhase?.('reading one snapshot of PostgreSQL into the reverse topics');
    const started = Date.now();
    const source = new PostgresSnapshotSource(pg, o.targetSchema, dispatcher, o.chunkRows, log);
    const refused = new RefusedValues();
    const tables: ExportedTable[] = [];
    try {
      const watermark = await source.begin();
      log.info({ watermark: watermark.toString(), tables: plan.tables.length }, 'snapshot of PostgreSQL begins');
      for (const t of plan.tables) {
        const rows = await source.readTable(t, refused);
        let deletes = 0;
        if (tableExists(db, t.table.name)) for (const keys of fileKeys(db, o.sqlitePath, t.table)) deletes += await source.deleteMissing(t, keys);
        tables.push({ table: t.table.name, origin: t.origin, rows, deletes });
        log.info({ table: t.table.name, rows, deletes }, 'snapshot of table sent');
      }
      await dispatcher.flush();
      await source.end();
    } catch (error) {
      await pg.query('ROLLBACK').catch(() => undefined);
      throw postgresError(error, o.databaseUrl, 'read the snapshot');
    }
    for (const r of refused.examples) log.warn({ ...r }, 'value SQLite cannot hold as its column declares');
    if (refused.count > 0) throw describeRefused(refused);
    const snapshotMs = Date.now() - started;
    const end: Record<string, PartitionOffsets> = {};
    for (const topic of topics) end[topic] = await endOffsets(admin, topic);

    o.onPhase?.('applying the reverse topics to the SQLite file');
    const applying = Date.now();
    startAppliedOffsetsAt(db, start);
    applier = new SqliteApplier({ db, sqlitePath: o.sqlitePath, brokers: o.kafkaBrokers, topicPrefix: o.topicPrefix, log });
    await applier.connect();
    const created = await applier.refreshSchemas();
    const applied = await applier.run(end);
    return { target: target.created ? 'new' : 'existing', tables, notices: [...plan.notices, ...created], applied, snapshotMs, applyMs: Date.now() - applying };
  } finally {
    await applier?.close();
    await producer?.close();
    await admin.disconnect().catch(() => undefined);
    await pg.end().catch(() => undefined);
    target?.db.close();
  }
}
