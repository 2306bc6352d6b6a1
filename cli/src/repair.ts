import {
  LiteshiftError,
  captureInstalled,
  connectAdmin,
  connectPostgres,
  createKafka,
  endOffsets,
  mappingOptions,
  openSqlite,
  ReadableCopy,
  pgTableName,
  readSchema,
  readSchemas,
  schemaTopic,
  type ExcludedColumn,
  type Logger,
  type PartitionOffsets,
  type SqlValue,
  type TableModel,
  loaderGroup,
  newestPerTable,
  waitForOffsets,
} from '@liteshift/shared';
import { RowReemitter, requestReemit } from '@liteshift/extractor';
import { Loader } from '@liteshift/loader';
import { KeyLookup, diffTableRows, loadedTables, verify, waitForPipeline, type VerifyReport } from '@liteshift/verifier';

export interface RepairParams {
  sqlitePath: string;
  databaseUrl: string;
  kafkaBrokers: string[];
  topicPrefix: string;
  targetSchema: string;
  /** What the user left out on purpose (the verdict lists it). */
  excludeTable?: readonly string[];
  excludeColumn?: readonly ExcludedColumn[];
  /** Run a loader here until the re-sent rows are applied (else a running `load --follow` applies them). */
  apply: boolean;
  /** How long the re-sent rows may take to be applied. */
  timeoutMs: number;
  log: Logger;
  logFor: (service: string) => Logger;
  onPhase?: (phase: string) => void;
}

export interface TableRepair {
  table: string;
  missing: number;
  extra: number;
  changed: number;
  /** Rows re-sent as they are now in SQLite (missing and changed keys, or extra keys back in SQLite since). */
  upserts: number;
  /** Deletes (+ tombstones) sent for keys SQLite does not have. */
  deletes: number;
}

export interface RepairResult {
  /** `kafka`: re-sent from here; `changelog`: handed to the running extractor (change capture is installed). */
  via: 'kafka' | 'changelog';
  tables: TableRepair[];
  /** Tables repair cannot fix row by row (missing in PostgreSQL, or no writer schema the loader knows), with why. */
  skipped: { table: string; reason: string }[];
  report: VerifyReport;
}

interface Work {
  table: TableModel;
  repair: TableRepair;
  upsertKeys: SqlValue[][];
  deleteKeys: SqlValue[][];
}

/**
 * `liteshift repair`: finds every key that differs, sends it through Kafka again as SQLite
 * holds it now (missing and changed keys as their current row, extra keys as a delete
 * and tombstone), waits until the loader has applied it, and verifies again.
 *
 * Without change capture, the rows are sent from here and, by default, a loader runs here
 * until they are applied, so repair works after a one-shot `migrate`. Related tables go
 * in waves (parents' rows before their children's, children's deletes before their
 * parents'), since the target's foreign keys are enforced. With change capture installed
 * (a live migration), the keys are appended to the changelog instead: the running
 * `extract --follow` re-reads them in sequence with the application's own changes, and
 * `load --follow` applies them.
 */
export async function runRepair(p: RepairParams): Promise<RepairResult> {
  const { log } = p;
  const db = openSqlite(p.sqlitePath, { readonly: true });
  const closers: (() => Promise<unknown>)[] = [async () => db.close()];
  try {
    const copy = await ReadableCopy.attach(db, log);
    if (copy) closers.push(async () => copy.close());
    const model = readSchema(db, { ...mappingOptions(p), profile: false });
    const pg = await connectPostgres(p.databaseUrl, 'liteshift-repair');
    closers.push(() => pg.end());
    const kafka = createKafka({ brokers: p.kafkaBrokers, clientId: 'liteshift-repair', log });
    const admin = await connectAdmin(kafka, p.kafkaBrokers);
    closers.push(() => admin.disconnect());
    const pipeline = { admin, topicPrefix: p.topicPrefix };
    const group = loaderGroup(p.topicPrefix);

    p.onPhase?.('comparing SQLite and PostgreSQL row by row');
    const writers = await loaderWriters(pg, kafka, admin, p.topicPrefix);
    const existing = new Set(
      (await pg.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [p.targetSchema])).rows.map((r) => r.table_name),
    );
    const work: Work[] = [];
    const skipped: RepairResult['skipped'] = [];
    for (const source of model.tables) {
      const table = writers.get(source.name);
      if (!existing.has(pgTableName(table ?? source))) {
        skipped.push({ table: source.name, reason: 'missing in PostgreSQL (run `liteshift migrate` or `liteshift load`)' });
        continue;
      }
      if (!table) {
        skipped.push({ table: source.name, reason: `no writer schema for it on ${schemaTopic(p.topicPrefix)} (is --topic-prefix the one the migration used?)` });
        continue;
      }
      const lookup = new KeyLookup(db, pg, p.targetSchema, table);
      const item: Work = { table, repair: { table: table.name, missing: 0, extra: 0, changed: 0, upserts: 0, deletes: 0 }, upsertKeys: [], deleteKeys: [] };
      await diffTableRows(db, pg, p.targetSchema, table, {
        limit: 0,
        onDifference: (d, sourceKey) => {
          item.repair[d.kind]++;
          if (d.kind === 'extra') item.deleteKeys.push(lookup.sqliteKey(d.key));
          else item.upsertKeys.push(sourceKey ?? lookup.sqliteKey(d.key));
        },
      });
      if (item.upsertKeys.length + item.deleteKeys.length > 0) work.push(item);
    }
    const total = work.reduce((n, w) => n + w.upsertKeys.length + w.deleteKeys.length, 0);
    for (const w of work) log.info({ table: w.table.name, missing: w.repair.missing, extra: w.repair.extra, changed: w.repair.changed }, 'rows to repair');

    const captured = captureInstalled(db);
    const deadline = Date.now() + p.timeoutMs;
    if (total > 0 && captured) {
      p.onPhase?.(`handing ${total} key(s) to the running extractor (change capture is installed)`);
      const writable = openSqlite(p.sqlitePath);
      let head = 0n;
      try {
        for (const w of work) {
          head = requestReemit(writable, w.table, [...w.upsertKeys, ...w.deleteKeys]);
          w.repair.upserts = w.upsertKeys.length;
          w.repair.deletes = w.deleteKeys.length;
        }
      } finally {
        writable.close();
      }
      p.onPhase?.('waiting for the extractor and the loader to apply them');
      const caught = await waitForPipeline({ db, pg, pipeline, deadline, log }, head, work.map((w) => w.table.name), total);
      if (!caught.ok) {
        throw new LiteshiftError('NOT_READY', `repair: ${caught.reason}`, {
          hint: 'with change capture installed, `liteshift extract --follow` and `liteshift load --follow` must be running',
        });
      }
    } else if (total > 0) {
      const reemitter = new RowReemitter(db, { brokers: p.kafkaBrokers, topicPrefix: p.topicPrefix, log });
      closers.push(() => reemitter.close());
      let loader: Loader | null = null;
      if (p.apply) {
        loader = new Loader({ databaseUrl: p.databaseUrl, brokers: p.kafkaBrokers, topicPrefix: p.topicPrefix, targetSchema: p.targetSchema, log: p.logFor('loader') });
        closers.push(() => loader!.close());
        await loader.connect();
        await loader.consume();
      }
      p.onPhase?.(`re-sending ${total} row(s) through Kafka${loader ? ' (applied by a loader run here)' : ' (applied by the running `liteshift load --follow`)'}`);
      for (const wave of waves(work, model.tables)) {
        const ends: Record<string, PartitionOffsets> = {};
        for (const { work: w, keys, kind } of wave) {
          const sent = await reemitter.emit(w.table, keys);
          w.repair.upserts += sent.upserts;
          w.repair.deletes += sent.deletes;
          ends[sent.topic] = await endOffsets(admin, sent.topic);
          log.debug({ table: w.table.name, kind, ...sent }, 're-sent');
        }
        const polled = waitForOffsets(pg, group, ends, { deadline });
        const applied = loader ? await Promise.race([polled, loader.waitUntil(ends).then(() => ({ ok: true as const }))]) : await polled;
        if (!applied.ok) {
          throw new LiteshiftError('NOT_READY', `repair: the re-sent rows were not applied within ${Math.round(p.timeoutMs / 1000)} s (${applied.lag} message(s) left)`, {
            hint: loader ? 'see the loader lines in the log' : 'is `liteshift load --follow` running? (without --no-apply, repair runs a loader itself)',
          });
        }
      }
      await loader?.stop();
    }

    p.onPhase?.('verifying');
    const report = await verify({ db, model, pg, databaseUrl: p.databaseUrl, targetSchema: p.targetSchema, pipeline, copy, log });
    return { via: captured ? 'changelog' : 'kafka', tables: work.map((w) => w.repair), skipped, report };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

/**
 * Per table, the model whose writer schema the loader applies with (liteshift.tables names
 * its fingerprint): events encoded with it decode in the loader without publishing anything.
 */
async function loaderWriters(
  pg: Parameters<typeof loadedTables>[0],
  kafka: Parameters<typeof readSchemas>[0],
  admin: Parameters<typeof readSchemas>[1],
  prefix: string,
): Promise<Map<string, TableModel>> {
  const loaded = await loadedTables(pg);
  const records = await readSchemas(kafka, admin, prefix);
  const newest = newestPerTable(records.values());
  const out = new Map<string, TableModel>();
  for (const [name, record] of newest) out.set(name, (records.get(loaded.get(name)?.fingerprint ?? '') ?? record).table);
  return out;
}

/**
 * The order the target's foreign keys need: current rows level by level from the parents
 * down, then deletes from the children up. Each wave is applied before the next is sent.
 */
function waves(work: readonly Work[], tables: readonly TableModel[]): { work: Work; keys: SqlValue[][]; kind: 'upsert' | 'delete' }[][] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (name: string): number => {
    const known = level.get(name);
    if (known !== undefined) return known;
    // A cycle of foreign keys has no order to keep.
    if (visiting.has(name)) return 0;
    visiting.add(name);
    let l = 0;
    for (const fk of byName.get(name)?.foreignKeys ?? []) if (fk.refTable !== name && byName.has(fk.refTable)) l = Math.max(l, visit(fk.refTable) + 1);
    visiting.delete(name);
    level.set(name, l);
    return l;
  };
  const levels = [...new Set(work.map((w) => visit(w.table.name)))].sort((a, b) => a - b);
  const out: { work: Work; keys: SqlValue[][]; kind: 'upsert' | 'delete' }[][] = [];
  for (const l of levels) {
    const wave = work.filter((w) => level.get(w.table.name) === l && w.upsertKeys.length > 0).map((w) => ({ work: w, keys: w.upsertKeys, kind: 'upsert' as const }));
    if (wave.length) out.push(wave);
  }
  for (const l of [...levels].reverse()) {
    const wave = work.filter((w) => level.get(w.table.name) === l && w.deleteKeys.length > 0).map((w) => ({ work: w, keys: w.deleteKeys, kind: 'delete' as const }));
    if (wave.length) out.push(wave);
  }
  return out;
}
