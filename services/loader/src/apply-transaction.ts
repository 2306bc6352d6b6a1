/**
 * The apply transaction (DESIGN contract 5): one batch of one partition, in one
 * PostgreSQL transaction — lock the partition's offset → dead letters → apply (collapse
 * per key, COPY/upsert/delete) → rejects → store the next offset → commit. A crash
 * anywhere rolls all of it back together: nothing lost, nothing applied twice.
 */
import { keyMayHoldNull, lockOffset, postgresError, storeOffset, type PgPool, type UndecodedMessage } from '@liteshift/shared';
import { insertRejects, type RejectRow } from './rejects.js';
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
  | { applied: false; next: bigint };

export interface ApplyContext {
  pool: PgPool;
  databaseUrl: string;
  /** Where this member's consumer reads the partition from, as far as it knows (asked once the offset is locked). */
  readsFrom: () => bigint | undefined;
  sendDeadLetters: (letters: readonly UndecodedMessage[]) => Promise<void>;
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

/** Applies the batch, or says where to read from instead. A failure is thrown as PostgreSQL's error, wrapped. */
export async function applyBatch(batch: PartitionBatch, context: ApplyContext): Promise<BatchOutcome> {
  const { topic, partition, firstOffset, lastOffset } = batch;
  const doing = `apply a batch of ${batch.applier.table.name}`;
  const client = await context.pool.connect().catch((error: unknown) => {
    throw postgresError(error, context.databaseUrl, doing);
  });
  let failed = false;
  try {
    await client.query('BEGIN');
    const next = await lockOffset(client, batch.group, topic, partition);
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
    if (letters.length > 0) await context.sendDeadLetters(letters);
    const keyHoldsNull = keyMayHoldNull(batch.applier.table) ? (d: KeyedChange) => d.key.includes(null) : undefined;
    const fresh = collapseByKey(unseen ? batch.decoded : batch.decoded.filter((d) => BigInt(d.offset) >= next), keyHoldsNull);
    const rejects: RejectRow[] = [];
    const stats = await batch.applier.apply(client, fresh, rejects);
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
