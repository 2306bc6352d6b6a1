/**
 * The apply transaction (DESIGN contract 5): one batch of one partition, in one
 * PostgreSQL transaction — lock the partition's offset → dead letters → apply (collapse
 * per key, COPY/upsert/delete) → rejects → store the next offset → commit. A crash
 * anywhere rolls all of it back together: nothing lost, nothing applied twice.
 *
 * A row PostgreSQL refuses never stops the loader (contract 6): the batch is applied under
 * a savepoint, and when PostgreSQL refuses its data, the refused rows are isolated
 * (isolate) and become rejects while the rest applies, in the same transaction.
 */
import { keyMayHoldNull, lockOffset, postgresError, storeOffset, type LiteshiftError, type PgPool, type UndecodedMessage } from '@liteshift/shared';
import type { DatabaseError, PoolClient } from 'pg';
import type { LoaderEvents } from './events.js';
import { insertRejects, refusedData, resolveRejects, type RejectRow } from './rejects.js';
import type { ApplyStats, KeyedChange, TableApplier } from './table-applier.js';

/** One partition's batch, decoded. */
export interface PartitionBatch {
  group: string;
  topic: string;
  partition: number;
  firstOffset: bigint;
  lastOffset: bigint;
  decoded: readonly (KeyedChange & { keyBytes: Buffer })[];
  undecoded: readonly UndecodedMessage[];
  applier: TableApplier;
}

export type BatchOutcome =
  /** Committed; `from` is the first offset this batch applied (PostgreSQL may have held part of it already). */
  | { applied: true; from: bigint; stats: ApplyStats; deadLettered: number }
  /** Not applied: the batch starts past PostgreSQL's offset; the partition must be read again from `next`. */
  | { applied: false; next: bigint }
  /** Not applied: a seek landed while the batch waited, so it may not come from where the partition is read now. */
  | { applied: false; next: null };

export interface ApplyContext {
  pool: PgPool;
  databaseUrl: string;
  /** Told the batch applied, each dead letter sent, and a failure. */
  events: LoaderEvents;
  /** Where this member's consumer reads the partition from, as far as it knows (asked once the offset is locked). */
  readsFrom: () => bigint | undefined;
  /** True while a seek of the partition is pending: the batch in hand was fetched before it. */
  isStale: () => boolean;
  sendDeadLetters: (topic: string, partition: number, letters: readonly UndecodedMessage[]) => Promise<void>;
}

/**
 * Collapses a batch per key: the last event of every key wins (ON CONFLICT cannot touch a
 * row twice). Events whose key holds NULL (`keyHoldsNull`, asked where keyMayHoldNull) are
 * kept apart: such a key names no one row (NULL equals nothing, in SQLite too), and each of
 * those rows is rejected on its own, never folded into one.
 */
export function collapseByKey<T extends { keyBytes: Buffer }>(changes: readonly T[], keyHoldsNull?: (change: T) => boolean): T[] {
  const last = new Map<string | number, T>();
  for (const [i, change] of changes.entries()) {
    const id = keyHoldsNull?.(change) ? i : change.keyBytes.toString('latin1');
    last.delete(id);
    last.set(id, change);
  }
  return [...last.values()];
}

/** Applies the batch, or says where to read from instead. A failure is thrown as PostgreSQL's error, wrapped (and told). */
export async function applyBatch(batch: PartitionBatch, context: ApplyContext): Promise<BatchOutcome> {
  const started = performance.now();
  const outcome = await transact(batch, context).catch((error: LiteshiftError) => {
    const { topic, partition } = batch;
    context.events.emit('batch-failed', { table: batch.applier.table.name, topic, partition, error, retriable: error.retriable });
    throw error;
  });
  if (outcome.applied) {
    const { topic, partition, firstOffset, lastOffset } = batch;
    const { from, stats, deadLettered } = outcome;
    context.events.emit('batch-applied', { table: batch.applier.table.name, topic, partition, from, firstOffset, lastOffset, stats, deadLettered, ms: performance.now() - started });
  }
  return outcome;
}

async function transact(batch: PartitionBatch, context: ApplyContext): Promise<BatchOutcome> {
  const { topic, partition, firstOffset, lastOffset } = batch;
  const doing = `apply a batch of ${batch.applier.table.name}`;
  const client = await context.pool.connect().catch((error: unknown) => {
    throw postgresError(error, context.databaseUrl, doing);
  });
  let failed = false;
  try {
    // A deferrable constraint (an application's own) would refuse only at COMMIT, past
    // where refused rows can be isolated: checked at each statement instead.
    await client.query('BEGIN; SET CONSTRAINTS ALL IMMEDIATE');
    const next = await lockOffset(client, batch.group, topic, partition);
    // Asked only now: a seek that landed while the lock was awaited (a group join seeking to
    // PostgreSQL's offsets) would otherwise vouch for a batch fetched from somewhere else.
    if (context.isStale()) {
      await client.query('ROLLBACK');
      return { applied: false, next: null };
    }
    const known = context.readsFrom();
    if (firstOffset > next && !(known !== undefined && known <= next)) {
      // Messages from PostgreSQL's offset on may never have reached this consumer (it
      // started from Kafka's commit, or a replay moved the offset back).
      await client.query('ROLLBACK');
      return { applied: false, next };
    }
    // The usual case: nothing of the batch applied yet (no offset to compare per message).
    const unseen = next <= firstOffset;
    // Dead letters of messages an earlier commit covered were sent then: at-least-once
    // into the dead-letter topic (a crash between this send and the commit resends them).
    const letters = unseen ? batch.undecoded : batch.undecoded.filter(({ message }) => BigInt(message.offset) >= next);
    if (letters.length > 0) {
      await context.sendDeadLetters(topic, partition, letters);
      for (const { message, reason } of letters) context.events.emit('dead-lettered', { topic, partition, offset: message.offset, reason });
    }
    const keyHoldsNull = keyMayHoldNull(batch.applier.table) ? (d: KeyedChange) => d.key.includes(null) : undefined;
    const fresh = collapseByKey(unseen ? batch.decoded : batch.decoded.filter((d) => BigInt(d.offset) >= next), keyHoldsNull);
    const rejects: RejectRow[] = [];
    const stats = await applyOrIsolate(client, batch.applier, fresh, rejects);
    await resolveRejects(client, batch.applier.table.name, () => (keyHoldsNull ? fresh.filter((d) => !keyHoldsNull(d)) : fresh).map((d) => d.key));
    await insertRejects(client, rejects, topic, partition);
    if (lastOffset + 1n > next) await storeOffset(client, batch.group, topic, partition, lastOffset + 1n);
    await client.query('COMMIT');
    return { applied: true, from: next > firstOffset ? next : firstOffset, stats, deadLettered: letters.length };
  } catch (error) {
    failed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw postgresError(error, context.databaseUrl, doing);
  } finally {
    // A connection that failed may be broken (a server restart): never reuse it.
    client.release(failed ? true : undefined);
  }
}

/** Applies the changes; when PostgreSQL refuses data, applies all but the refused rows, which join `rejects`. */
async function applyOrIsolate(client: PoolClient, applier: TableApplier, changes: readonly KeyedChange[], rejects: RejectRow[]): Promise<ApplyStats> {
  const whole = await underSavepoint(client, applier, changes);
  if (!('refused' in whole)) {
    rejects.push(...whole.rejects);
    return whole.stats;
  }
  if (changes.length === 1) return refuse(applier, changes[0]!, whole.refused, rejects);
  const stats: ApplyStats = { upserted: 0, deleted: 0, rejected: 0 };
  const singles: KeyedChange[] = [];
  await isolate(client, applier, changes, stats, rejects, singles);
  // Single rows are applied last, each on its own: one refused only because of another of
  // the batch (a unique value moving from a row later in it) passes once the rest is in.
  for (const change of singles) add(stats, await applyOrRefuse(client, applier, change, rejects));
  return stats;
}

/**
 * Bisects refused changes: each half is applied under a savepoint, and a half PostgreSQL
 * refuses is split again down to single rows. One bad row among n costs about 2·log2(n)
 * more applies of shrinking halves; a clean batch never comes here.
 */
async function isolate(client: PoolClient, applier: TableApplier, changes: readonly KeyedChange[], stats: ApplyStats, rejects: RejectRow[], singles: KeyedChange[]): Promise<void> {
  const half = Math.ceil(changes.length / 2);
  for (const part of [changes.slice(0, half), changes.slice(half)]) {
    if (part.length === 1) {
      singles.push(part[0]!);
      continue;
    }
    const outcome = await underSavepoint(client, applier, part);
    if ('refused' in outcome) await isolate(client, applier, part, stats, rejects, singles);
    else {
      add(stats, outcome.stats);
      rejects.push(...outcome.rejects);
    }
  }
}

async function applyOrRefuse(client: PoolClient, applier: TableApplier, change: KeyedChange, rejects: RejectRow[]): Promise<ApplyStats> {
  const outcome = await underSavepoint(client, applier, [change]);
  if ('refused' in outcome) return refuse(applier, change, outcome.refused, rejects);
  rejects.push(...outcome.rejects);
  return outcome.stats;
}

function refuse(applier: TableApplier, change: KeyedChange, error: DatabaseError, rejects: RejectRow[]): ApplyStats {
  rejects.push(applier.refusal(change, error));
  return { upserted: 0, deleted: 0, rejected: 1 };
}

/** Applies under a savepoint: what applied, or PostgreSQL's refusal (rolled back to the savepoint). Other failures are thrown. */
async function underSavepoint(
  client: PoolClient,
  applier: TableApplier,
  changes: readonly KeyedChange[],
): Promise<{ stats: ApplyStats; rejects: RejectRow[] } | { refused: DatabaseError }> {
  const rejects: RejectRow[] = [];
  await client.query('SAVEPOINT liteshift_apply');
  try {
    const stats = await applier.apply(client, changes, rejects);
    await client.query('RELEASE SAVEPOINT liteshift_apply');
    return { stats, rejects };
  } catch (error) {
    if (!refusedData(error)) throw error;
    await client.query('ROLLBACK TO SAVEPOINT liteshift_apply');
    applier.rolledBack(client);
    return { refused: error };
  }
}

function add(total: ApplyStats, more: ApplyStats): void {
  total.upserted += more.upserted;
  total.deleted += more.deleted;
  total.rejected += more.rejected;
}
