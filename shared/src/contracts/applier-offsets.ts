import { quoteIdent } from '../schema/identifiers.js';
import { INTERNAL_PREFIX } from '../sqlite/introspect.js';
import type { SqliteDatabase } from '../sqlite/open.js';
import type { PartitionOffsets } from '../kafka/topics.js';

/**
 * The SQLite applier's position per reverse topic-partition lives in the SQLite file,
 * written in the same write transaction as the rows it applied: the loader's contract 5,
 * mirrored. A crash anywhere loses nothing and applies nothing twice. The name starts
 * with liteshift's prefix, so the schema model never takes it for an application table.
 * The applier writes it (export-sqlite sets it at a snapshot's start); uninstall removes it.
 */
export const REVERSE_OFFSETS = `${INTERNAL_PREFIX}reverse_offsets`;

const table = quoteIdent(REVERSE_OFFSETS);

function ensureOffsetsTable(db: SqliteDatabase): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL, PRIMARY KEY (topic, partition)) WITHOUT ROWID`);
}

function present(db: SqliteDatabase): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(REVERSE_OFFSETS) !== undefined;
}

/** The next offset to apply, per topic and partition. */
export function readAppliedOffsets(db: SqliteDatabase): Record<string, PartitionOffsets> {
  const out: Record<string, PartitionOffsets> = {};
  if (!present(db)) return out;
  for (const row of db.prepare(`SELECT topic, partition, next_offset FROM ${table}`).all() as { topic: string; partition: bigint; next_offset: bigint }[]) {
    (out[row.topic] ??= {})[Number(row.partition)] = row.next_offset.toString();
  }
  return out;
}

/** Inside the caller's write transaction, with the rows up to `next`. */
export function storeAppliedOffset(db: SqliteDatabase, topic: string, partition: number, next: bigint): void {
  db.prepare(`INSERT INTO ${table} (topic, partition, next_offset) VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset`).run(
    topic,
    BigInt(partition),
    next,
  );
}

/**
 * Points the applier at the start of a snapshot: a snapshot carries every row PostgreSQL
 * holds and deletes every key the file holds beyond them, so whatever came before it on
 * the topics (an older export) is superseded and must not be applied after it.
 */
export function startAppliedOffsetsAt(db: SqliteDatabase, offsets: Record<string, PartitionOffsets>): void {
  db.transaction(() => {
    ensureOffsetsTable(db);
    for (const [topic, partitions] of Object.entries(offsets)) {
      for (const [partition, offset] of Object.entries(partitions)) storeAppliedOffset(db, topic, Number(partition), BigInt(offset));
    }
  }).immediate();
}
