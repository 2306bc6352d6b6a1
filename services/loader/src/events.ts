import { EventEmitter } from 'node:events';
import type { LiteshiftError, Logger } from '@liteshift/shared';
import type { ApplyStats } from './table-applier.js';

/**
 * What happens in a loader, as typed events: the log, the metrics, the CLI's progress and
 * the worker-thread bridge subscribe to them instead of the loader calling each.
 */
export interface BatchApplied {
  table: string;
  topic: string;
  partition: number;
  /** The first offset applied by this batch (later than the batch's first when part of it was applied before). */
  from: bigint;
  firstOffset: bigint;
  lastOffset: bigint;
  stats: ApplyStats;
  deadLettered: number;
  ms: number;
}

export interface DeadLettered {
  topic: string;
  partition: number;
  offset: string;
  reason: string;
}

export interface LoaderEventMap {
  'batch-applied': [BatchApplied];
  'dead-lettered': [DeadLettered];
  /** The partitions this member was given at a group join. */
  'partitions-assigned': [{ member: string; partitions: string[] }];
  /** A batch that started past PostgreSQL's offset: the partition is read again from there. */
  'read-again': [{ topic: string; partition: number; offset: bigint; batchStart: bigint }];
  /** A batch fetched before a seek of its partition: not applied; the seek reads the partition again. */
  'batch-discarded': [{ topic: string; partition: number; batchStart: bigint }];
  /** A batch uses a writer schema whose record is invalid: its partition waits (nothing lost) until a valid record replaces it. */
  'table-waiting': [{ table: string; topic: string; partition: number; fingerprint: string; reason: string }];
  'table-resumed': [{ table: string; topic: string }];
  /** The Kafka consumer failed: the client restarts it, or the loader starts a new one. */
  'consumer-restarted': [{ error: Error; by: 'client' | 'loader' }];
  /** A batch was not applied: retried when `retriable`, else the loader fails with it. */
  'batch-failed': [{ table: string; topic: string; partition: number; error: Error; retriable: boolean }];
  /** The loader stopped for good (a non-retriable batch failure, or a consumer that cannot be replaced). */
  failed: [{ error: Error }];
  /** A table whose target cannot follow its new writer schema: its topic is no longer applied. */
  'table-stopped': [{ table: string; error: LiteshiftError }];
  /** Parked rejects applied on another try (`refused`: still refused, tried again later). */
  'rejects-resolved': [{ applied: number; refused: number }];
  /** A re-synchronised table's epoch is applied whole: `deleted` rows it did not send are gone. */
  'table-resynchronised': [{ table: string; epoch: number; deleted: number }];
}

export class LoaderEvents extends EventEmitter<LoaderEventMap> {}

export type LoaderTotals = ApplyStats & { deadLettered: number };

/** What the loader has applied since it started, kept up to date by its events. */
export function countTotals(events: LoaderEvents): LoaderTotals {
  const totals: LoaderTotals = { upserted: 0, deleted: 0, rejected: 0, deadLettered: 0 };
  events.on('batch-applied', ({ stats, deadLettered }) => {
    totals.upserted += stats.upserted;
    totals.deleted += stats.deleted;
    totals.rejected += stats.rejected;
    totals.deadLettered += deadLettered;
  });
  return totals;
}

/** The loader's log lines: one per applied batch at `batchLevel`, and what needs attention at warn. */
export function logLoaderEvents(events: LoaderEvents, log: Logger, batchLevel: 'info' | 'debug' = 'info'): void {
  events.on('batch-applied', (b) => {
    if (b.from <= b.lastOffset) {
      log[batchLevel](
        {
          table: b.table,
          topic: b.topic,
          partition: b.partition,
          from: b.from.toString(),
          to: b.lastOffset.toString(),
          messages: Number(b.lastOffset - b.from) + 1,
          ...b.stats,
          deadLettered: b.deadLettered,
          ms: Math.round(b.ms),
        },
        'batch applied',
      );
    }
    if (b.from > b.firstOffset) {
      log.debug({ table: b.table, topic: b.topic, partition: b.partition, skipped: Number(b.from - b.firstOffset), appliedUpTo: b.from.toString() }, 'messages already applied skipped');
    }
  });
  events.on('batch-applied', (b) => {
    if (b.stats.rejected > 0) log.warn({ table: b.table, topic: b.topic, partition: b.partition, rejected: b.stats.rejected }, 'rows PostgreSQL refused are in liteshift.rejects; the rest applied');
  });
  events.on('dead-lettered', (d) => log.warn(d, 'message sent to the dead-letter topic'));
  events.on('partitions-assigned', (a) => log.info(a, 'partitions assigned'));
  events.on('read-again', (r) =>
    log.info({ topic: r.topic, partition: r.partition, offset: r.offset.toString(), batchStart: r.batchStart.toString() }, 'reading again from the offset stored in PostgreSQL'),
  );
  events.on('batch-discarded', (d) =>
    log.info({ topic: d.topic, partition: d.partition, batchStart: d.batchStart.toString() }, 'batch discarded: a seek of its partition is pending'),
  );
  events.on('table-waiting', (w) => log.error(w, 'table waiting: its writer schema on the schema topic is invalid (publish it again, e.g. restart the extractor)'));
  events.on('table-resumed', (r) => log.info(r, 'table applying again: its writer schema is valid now'));
  events.on('consumer-restarted', ({ error, by }) => log.warn({ err: error.message }, by === 'client' ? 'consumer failed; it restarts by itself' : 'consumer stopped; starting a new one'));
  events.on('table-stopped', ({ table, error }) => log.error({ table, hint: error.hint }, error.message));
  events.on('rejects-resolved', (r) => log.info(r, 'parked rows applied on another try'));
  events.on('table-resynchronised', (r) => log.info(r, 'table re-synchronised: rows SQLite no longer has deleted'));
  events.on('batch-failed', ({ table, topic, partition, error, retriable }) => {
    if (retriable) log.warn({ table, topic, partition, err: error.message }, 'batch failed; retrying');
    else log.error({ table, topic, partition, err: error.message }, 'batch failed');
  });
}
