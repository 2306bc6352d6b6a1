import type pg from 'pg';
import { sleep } from '../retry.js';
import type { PartitionOffsets } from '../kafka/topics.js';
import { META_TABLES, metaTableExists } from './meta-tables.js';

/**
 * The loader's position (DESIGN contract 5): per consumer group and topic-partition, the
 * next offset to apply, stored in PostgreSQL in the same transaction as the rows. A crash
 * anywhere loses nothing and applies nothing twice. The loader writes it; replay moves it
 * back; the verifier, status and cutover read it to measure what is still in flight.
 */

type Queryable = Pick<pg.ClientBase, 'query'>;

/** The consumer group every loader of a topic prefix joins; its positions are stored under this name. */
export const loaderGroup = (topicPrefix: string): string => `${topicPrefix}-loader`;

/** The key of one topic-partition in maps of offsets (a NUL cannot occur in a Kafka topic name). */
export function partitionId(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Locks the partition's row for the rest of the transaction and returns its next offset:
 * two loaders (or a loader and a replay) never apply the same partition at once. A
 * partition never applied starts at `initial`.
 */
export async function lockOffset(client: Queryable, group: string, topic: string, partition: number, initial = 0n): Promise<bigint> {
  await client.query(
    `INSERT INTO ${META_TABLES.offsets} (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
     ON CONFLICT (consumer_group, topic, partition) DO NOTHING`,
    [group, topic, partition, initial.toString()],
  );
  const result = await client.query<{ next_offset: string }>(
    `SELECT next_offset FROM ${META_TABLES.offsets} WHERE consumer_group = $1 AND topic = $2 AND partition = $3 FOR UPDATE`,
    [group, topic, partition],
  );
  return BigInt(result.rows[0]!.next_offset);
}

export async function storeOffset(client: Queryable, group: string, topic: string, partition: number, next: bigint): Promise<void> {
  await client.query(`UPDATE ${META_TABLES.offsets} SET next_offset = $4, updated_at = now() WHERE consumer_group = $1 AND topic = $2 AND partition = $3`, [
    group,
    topic,
    partition,
    next.toString(),
  ]);
}

/** Moves a locked position back to `to` (a replay); one already behind it keeps its place. Returns where it now is. */
export async function moveOffsetBack(client: Queryable, group: string, topic: string, partition: number, to: bigint): Promise<bigint> {
  const moved = await client.query<{ next_offset: string }>(
    `UPDATE ${META_TABLES.offsets} SET next_offset = LEAST(next_offset, $4), updated_at = now()
      WHERE consumer_group = $1 AND topic = $2 AND partition = $3 RETURNING next_offset`,
    [group, topic, partition, to.toString()],
  );
  return BigInt(moved.rows[0]!.next_offset);
}

/** The group's stored positions by partitionId; none before any loader created the table. */
export async function readOffsets(client: Queryable, group: string): Promise<Map<string, bigint>> {
  if (!(await metaTableExists(client, META_TABLES.offsets))) return new Map();
  const result = await client.query<{ topic: string; partition: number; next_offset: string }>(
    `SELECT topic, partition, next_offset FROM ${META_TABLES.offsets} WHERE consumer_group = $1`,
    [group],
  );
  return new Map(result.rows.map((r) => [partitionId(r.topic, r.partition), BigInt(r.next_offset)]));
}

export async function deleteOffsets(client: Queryable, group: string, topics: readonly string[]): Promise<void> {
  await client.query(`DELETE FROM ${META_TABLES.offsets} WHERE consumer_group = $1 AND topic = ANY($2::text[])`, [group, topics]);
}

/**
 * Where a fresh target starts reading: at the current end of each partition that has no
 * stored position, because the snapshot about to be taken re-sends every row and older
 * events could resurrect rows deleted since they were written.
 */
export async function startAtEnd(client: Queryable, group: string, ends: Record<string, PartitionOffsets>): Promise<void> {
  for (const [topic, partitions] of Object.entries(ends)) {
    for (const [partition, end] of Object.entries(partitions)) {
      await client.query(
        `INSERT INTO ${META_TABLES.offsets} (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
         ON CONFLICT (consumer_group, topic, partition) DO NOTHING`,
        [group, topic, Number(partition), end],
      );
    }
  }
}

/** Messages before `until` that `applied` (partitionId → next offset) does not cover yet. */
export function offsetsBehind(applied: ReadonlyMap<string, bigint>, until: Record<string, PartitionOffsets>): number {
  let behind = 0n;
  for (const [topic, partitions] of Object.entries(until)) {
    for (const [partition, end] of Object.entries(partitions)) {
      const gap = BigInt(end) - (applied.get(partitionId(topic, Number(partition))) ?? 0n);
      if (gap > 0n) behind += gap;
    }
  }
  return Number(behind);
}

export interface OffsetsWait {
  /** Give up at this time (ms since the epoch). */
  deadline?: number;
  signal?: AbortSignal;
  pollMs?: number;
  /** Told the lag left after every poll that did not reach the end. */
  onWait?: (lag: number) => void;
  /** Checked before every poll: a loader that failed for good ends the wait with its error. */
  failure?: () => Error | null;
  /** A read that failed: throw to end the wait, return to poll again. */
  onReadError?: (error: unknown) => void;
}

/**
 * Waits until the group's stored positions reach `until` for every partition, whichever
 * member of the group applies them. `lag` is what was left when the wait ended early
 * (deadline or signal; -1 when it could not be read).
 */
export async function waitForOffsets(
  client: Queryable,
  group: string,
  until: Record<string, PartitionOffsets>,
  o: OffsetsWait = {},
): Promise<{ ok: true } | { ok: false; lag: number }> {
  for (;;) {
    const failure = o.failure?.();
    if (failure) throw failure;
    let lag = -1;
    try {
      lag = offsetsBehind(await readOffsets(client, group), until);
    } catch (error) {
      if (!o.onReadError) throw error;
      o.onReadError(error);
    }
    if (lag === 0) return { ok: true };
    if (o.signal?.aborted || (o.deadline !== undefined && Date.now() > o.deadline)) return { ok: false, lag };
    if (lag > 0) o.onWait?.(lag);
    await sleep(o.pollMs ?? 200, o.signal);
  }
}
