import type pg from 'pg';

/**
 * The loader's position per topic-partition lives in PostgreSQL, written in the same
 * transaction as the rows (DESIGN contract 5): a crash anywhere loses nothing and
 * applies nothing twice.
 */
export async function lockOffset(client: pg.ClientBase, group: string, topic: string, partition: number): Promise<bigint> {
  await client.query(
    `INSERT INTO liteshift.offsets (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, 0)
     ON CONFLICT (consumer_group, topic, partition) DO NOTHING`,
    [group, topic, partition],
  );
  const result = await client.query<{ next_offset: string }>(
    'SELECT next_offset FROM liteshift.offsets WHERE consumer_group = $1 AND topic = $2 AND partition = $3 FOR UPDATE',
    [group, topic, partition],
  );
  return BigInt(result.rows[0]!.next_offset);
}

export async function storeOffset(client: pg.ClientBase, group: string, topic: string, partition: number, next: bigint): Promise<void> {
  await client.query(
    'UPDATE liteshift.offsets SET next_offset = $4, updated_at = now() WHERE consumer_group = $1 AND topic = $2 AND partition = $3',
    [group, topic, partition, next.toString()],
  );
}

export async function readOffsets(client: pg.ClientBase, group: string): Promise<Map<string, bigint>> {
  const result = await client.query<{ topic: string; partition: number; next_offset: string }>(
    'SELECT topic, partition, next_offset FROM liteshift.offsets WHERE consumer_group = $1',
    [group],
  );
  return new Map(result.rows.map((r) => [partitionId(r.topic, r.partition), BigInt(r.next_offset)]));
}

export async function deleteOffsets(client: pg.ClientBase, group: string, topics: readonly string[]): Promise<void> {
  await client.query('DELETE FROM liteshift.offsets WHERE consumer_group = $1 AND topic = ANY($2::text[])', [group, topics]);
}

export function partitionId(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Where a fresh target starts reading: at the current end of each partition that has no
 * stored position, because the snapshot about to be taken re-sends every row and older
 * events could resurrect rows deleted since they were written.
 */
export async function startAtEnd(
  client: pg.ClientBase,
  group: string,
  ends: Record<string, Record<number, string>>,
): Promise<void> {
  for (const [topic, partitions] of Object.entries(ends)) {
    for (const [partition, end] of Object.entries(partitions)) {
      await client.query(
        `INSERT INTO liteshift.offsets (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
         ON CONFLICT (consumer_group, topic, partition) DO NOTHING`,
        [group, topic, Number(partition), end],
      );
    }
  }
}
