/**
 * What a following loader does every few seconds besides applying batches: replace a
 * consumer the client gave up on, consume the topics of tables created in SQLite since,
 * create what is safe while changes stream once the snapshot is in (by any member of the
 * group), sweep a re-synchronised table once its epoch is applied (resync.ts), and apply
 * again the rows parked for a reason that may have passed (parked-rejects.ts).
 */
import type { Logger, ResyncMarker, SnapshotMarker, TableModel } from '@liteshift/shared';
import type { AppliedOffsets } from './offsets.js';
import { sweepApplied } from './resync.js';

export interface HousekeepingHost {
  topicPrefix: string;
  log: Logger;
  offsets: AppliedOffsets;
  consumerFailed: () => boolean;
  /** A new consumer in place of the one running (or given up). */
  restart: () => Promise<void>;
  listTopics: () => Promise<string[]>;
  /** Table topics the running consumer subscribed to. */
  consumedTopics: () => readonly string[];
  snapshotMarker: () => Promise<SnapshotMarker | null>;
  finalizeWhileFollowing: () => Promise<unknown>;
  resyncing: () => { table: TableModel; topic: string }[];
  resyncMarkers: () => Promise<Map<string, ResyncMarker>>;
  sweep: (table: TableModel, epoch: number) => Promise<number | null>;
  swept: (table: string, epoch: number, deleted: number | null) => void;
  retryParked: () => Promise<unknown>;
}

export class Housekeeping {
  private snapshotFinalized = false;

  constructor(private readonly host: HousekeepingHost) {}

  async tick(): Promise<void> {
    const h = this.host;
    if (h.consumerFailed()) {
      await h.restart();
      return;
    }
    const prefix = `${h.topicPrefix}.`;
    // A table created in SQLite since: its topic exists, the consumer does not read it.
    const consumed = new Set(h.consumedTopics());
    if ((await h.listTopics()).some((t) => t.startsWith(prefix) && !t.startsWith(`${prefix}_`) && !consumed.has(t))) {
      await h.restart();
      h.log.info({ topics: h.consumedTopics() }, 'consuming new table topics');
    }
    if (!this.snapshotFinalized) this.snapshotFinalized = await this.finalizeOnceSnapshotApplied();
    await sweepApplied({ pending: h.resyncing(), markers: h.resyncMarkers, offsets: h.offsets, sweep: h.sweep, swept: h.swept });
    await h.retryParked();
  }

  private async finalizeOnceSnapshotApplied(): Promise<boolean> {
    const marker = await this.host.snapshotMarker();
    if (!marker?.completedAt) return false;
    // Other members of the group applied their partitions: PostgreSQL knows.
    await this.host.offsets.refresh();
    if (!this.host.offsets.reached(marker.endOffsets)) return false;
    await this.host.finalizeWhileFollowing();
    return true;
  }
}
