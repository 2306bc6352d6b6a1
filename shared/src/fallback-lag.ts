import type { Admin } from 'kafkajs';
import { readAppliedOffsets } from './contracts/applier-offsets.js';
import { endOffsets } from './kafka/topics.js';
import { pgChangelogBacklog } from './pg/fallback.js';
import type { PgClient } from './pg/connect.js';
import type { SqliteDatabase } from './sqlite/open.js';

/** The live fallback's lag: changes captured on PostgreSQL not yet sent back, and reverse messages the SQLite file has not applied. */
export interface FallbackLag {
  changelog: number;
  applier: number;
}

export async function fallbackLag(pg: PgClient, db: SqliteDatabase, admin: Admin): Promise<FallbackLag> {
  const changelog = await pgChangelogBacklog(pg);
  let applier = 0;
  for (const [topic, positions] of Object.entries(readAppliedOffsets(db))) {
    for (const [partition, end] of Object.entries(await endOffsets(admin, topic))) {
      applier += Math.max(0, Number(BigInt(end) - BigInt(positions[Number(partition)] ?? '0')));
    }
  }
  return { changelog, applier };
}
