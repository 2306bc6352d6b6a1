import {
  LiteshiftError,
  META_TABLES,
  endOffsets,
  errorMessage,
  lockOffset,
  moveOffsetBack,
  offsetsAt,
  pgTableName,
  qualified,
  retry,
  startOffsets,
  type Admin,
  type Logger,
  type Notice,
  type PartitionOffsets,
  type TableModel,
} from '@liteshift/shared';
import type pg from 'pg';
import { completeConstraints, relaxConstraints } from './relaxed-constraints.js';
import type { AppliedOffsets } from './offsets.js';

/**
 * Replay (DESIGN contract 9): the loader group's offsets in PostgreSQL are moved back to
 * the beginning of the topics (or to a time), and the loader applies everything again up
 * to the end offsets taken when the replay started. Since the last event of every key
 * carries its latest state, and compaction keeps that event (or its tombstone), the
 * target ends up holding what the topics hold.
 */
export type ReplayFrom = { beginning: true } | { since: Date };

export interface ReplayPlan {
  tables: TableModel[];
  /** Per topic and partition: where the replay starts… */
  from: Record<string, PartitionOffsets>;
  /** …and the end offsets (taken now) it has caught up with once applied. */
  until: Record<string, PartitionOffsets>;
}

export async function planReplay(admin: Admin, targets: readonly { table: TableModel; topic: string }[], start: ReplayFrom): Promise<ReplayPlan> {
  const plan: ReplayPlan = { tables: targets.map((t) => t.table), from: {}, until: {} };
  for (const { topic } of targets) {
    // End first: whatever arrives while the starts are read is replayed too.
    plan.until[topic] = await endOffsets(admin, topic);
    plan.from[topic] = 'beginning' in start ? await startOffsets(admin, topic) : await offsetsAt(admin, topic, start.since);
  }
  return plan;
}

/** Messages between the starts and the ends of a plan: what the replay applies again. */
export function replaySize(plan: ReplayPlan): number {
  let n = 0;
  for (const [topic, ends] of Object.entries(plan.until)) {
    for (const [partition, end] of Object.entries(ends)) n += Math.max(0, Number(BigInt(end) - BigInt(plan.from[topic]?.[Number(partition)] ?? end)));
  }
  return n;
}

export interface PrepareReplayOptions {
  group: string;
  schema: string;
  plan: ReplayPlan;
  /** Every table the loader knows: foreign keys of other tables may point at the replayed ones. */
  allTables: readonly TableModel[];
  /** Empty the replayed tables first: rows whose keys are on no topic are gone too. */
  truncate: boolean;
  log: Logger;
}

export interface PreparedReplay {
  /** Tables whose unique indexes and foreign keys were dropped for the replay (put back by restoreConstraints). */
  relaxed: TableModel[];
  /** Per topic and partition, the offset the loader now starts from. */
  startsAt: Record<string, PartitionOffsets>;
}

/**
 * Moves the group's offsets back in one transaction, with the rows they describe locked
 * first, so a loader applying at the same time either commits before (and its work is
 * replayed) or sees the offset moved back and reads again from there. A position only
 * ever moves back: a loader that is behind the replay's start keeps its place.
 *
 * Replaying history re-applies intermediate states in an order no foreign key or unique
 * index survives (a value moving between rows, a child before its parent): on tables
 * that have them (finalized by migrate or cutover) they are dropped here and created
 * again, validated, once the replay has caught up.
 */
export async function prepareReplay(client: pg.ClientBase, o: PrepareReplayOptions): Promise<PreparedReplay> {
  return retry(() => prepareOnce(client, o), {
    retries: 5,
    initialDelayMs: 200,
    // A deadlock with a loader applying the same tables is cured by trying again.
    isRetriable: (e) => ['40P01', '40001', '55P03'].includes((e as { code?: string }).code ?? ''),
    onRetry: (e, attempt) => o.log.warn({ attempt, err: errorMessage(e) }, 'preparing the replay conflicted with a loader; retrying'),
  });
}

async function prepareOnce(client: pg.ClientBase, o: PrepareReplayOptions): Promise<PreparedReplay> {
  const selected = new Set(o.plan.tables.map((t) => t.name));
  const startsAt: Record<string, PartitionOffsets> = {};
  await client.query('BEGIN');
  try {
    const rows = Object.entries(o.plan.from).flatMap(([topic, starts]) => Object.entries(starts).map(([p, start]) => ({ topic, partition: Number(p), start })));
    rows.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    for (const row of rows) await lockOffset(client, o.group, row.topic, row.partition, BigInt(row.start));

    const relaxed = await relaxConstraints(client, o.schema, o.allTables, selected);
    if (o.truncate && o.plan.tables.length > 0) {
      await client.query(`TRUNCATE ${o.plan.tables.map((t) => qualified(o.schema, pgTableName(t))).join(', ')}`);
      await client.query(`DELETE FROM ${META_TABLES.rejects} WHERE table_name = ANY($1::text[])`, [[...selected]]);
    }
    for (const row of rows) {
      const next = (await moveOffsetBack(client, o.group, row.topic, row.partition, BigInt(row.start))).toString();
      (startsAt[row.topic] ??= {})[row.partition] = next;
      // The rows rejected from here on will be rejected again, and recorded again.
      await client.query(`DELETE FROM ${META_TABLES.rejects} WHERE topic = $1 AND partition = $2 AND "offset" >= $3`, [row.topic, row.partition, next]);
    }
    await client.query('COMMIT');
    if (relaxed.length > 0) {
      o.log.info({ tables: relaxed.map((t) => t.name) }, 'unique indexes and foreign keys dropped for the replay; created again once it has caught up');
    }
    return { relaxed, startsAt };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Creates again (and validates) what prepareReplay dropped; orphans become notices, as after a migration. */
export async function restoreConstraints(client: pg.ClientBase, schema: string, relaxed: readonly TableModel[], log: Logger): Promise<Notice[]> {
  if (relaxed.length === 0) return [];
  return completeConstraints(client, schema, relaxed, log);
}

/** Names given with --tables that no schema on the schema topic has. */
export function unknownTables(targets: readonly { table: TableModel }[], names: readonly string[]): string[] {
  const known = new Set(targets.map((t) => t.table.name));
  return names.filter((n) => !known.has(n));
}

export function noSchemasError(prefix: string): LiteshiftError {
  return new LiteshiftError('SCHEMA_UNKNOWN', `nothing to replay: no table schemas on ${prefix}._schemas`, {
    hint: 'check --topic-prefix (or LITESHIFT_TOPIC_PREFIX); topics are written by `liteshift extract` or `liteshift migrate`',
  });
}

/** A replay's steps on a connected loader's PostgreSQL sessions and offsets (Loader.replaySteps). */
export class ReplaySteps {
  constructor(
    private readonly o: {
      admin: Admin;
      group: string;
      schema: string;
      log: Logger;
      tables: () => TableModel[];
      withClient: <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>;
      offsets: AppliedOffsets;
    },
  ) {}

  /** Where a replay of `targets` starts and what it must reach. */
  plan(targets: readonly { table: TableModel; topic: string }[], from: ReplayFrom): Promise<ReplayPlan> {
    return planReplay(this.o.admin, targets, from);
  }

  /** Moves the group's offsets back, dropping what re-applied history cannot pass. */
  prepare(plan: ReplayPlan, truncate: boolean): Promise<PreparedReplay> {
    const { group, schema, log } = this.o;
    return this.o.withClient((client) => prepareReplay(client, { group, schema, plan, allTables: this.o.tables(), truncate, log }));
  }

  /** Creates again (validated) what prepare dropped. */
  restore(relaxed: readonly TableModel[]): Promise<Notice[]> {
    return this.o.withClient((client) => restoreConstraints(client, this.o.schema, relaxed, this.o.log));
  }

  /** Waits until PostgreSQL's offsets reach `until`, whichever member of the group applies them. False when `signal` aborted. */
  caughtUp(until: Record<string, PartitionOffsets>, signal: AbortSignal, onWait: (lag: number) => void): Promise<boolean> {
    return this.o.offsets.waitForStored(until, signal, onWait);
  }
}
