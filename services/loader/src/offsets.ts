import {
  errorMessage,
  offsetsBehind,
  partitionId,
  postgresError,
  readOffsets,
  waitForOffsets,
  type Logger,
  type PartitionOffsets,
  type PgPool,
} from '@liteshift/shared';

/**
 * The loader's knowledge of its group's offsets: what PostgreSQL stores (the shared
 * contract, contracts/loader-offsets.ts) merged with what this process has just applied,
 * and the waits on it — "reached", lag, and callers waiting for an end offset.
 */
export class AppliedOffsets {
  /** Next offset applied in PostgreSQL per partition, as far as this process knows. */
  private readonly applied = new Map<string, bigint>();
  private waiters: (() => boolean)[] = [];
  private failure: Error | null = null;

  constructor(
    private readonly group: string,
    private readonly pool: () => PgPool,
    private readonly databaseUrl: string,
    private readonly log: Logger,
  ) {}

  /**
   * PostgreSQL's offsets now, taken in (other members of the group applied them too). What
   * is stored is returned as stored: a replay may have moved it back behind what this
   * process applied, and a seek must go there.
   */
  async refresh(): Promise<ReadonlyMap<string, bigint>> {
    let stored: Map<string, bigint>;
    try {
      stored = await readOffsets(this.pool(), this.group);
    } catch (error) {
      throw postgresError(error, this.databaseUrl);
    }
    for (const [id, next] of stored) this.advance(id, next);
    return stored;
  }

  /** A batch up to `next` is committed. */
  committed(topic: string, partition: number, next: bigint): void {
    this.advance(partitionId(topic, partition), next);
  }

  private advance(id: string, next: bigint): void {
    if ((this.applied.get(id) ?? -1n) < next) this.applied.set(id, next);
  }

  reached(until: Record<string, PartitionOffsets>): boolean {
    return offsetsBehind(this.applied, until) === 0;
  }

  /** Messages of a topic not applied yet, by any member of the group (read from PostgreSQL now). */
  async behind(topic: string, ends: PartitionOffsets): Promise<number> {
    await this.refresh();
    return offsetsBehind(this.applied, { [topic]: ends });
  }

  /** Resolves once every partition in `until` is applied by this process; rejects if the loader fails. */
  waitUntil(until: Record<string, PartitionOffsets>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): boolean => {
        if (this.failure) reject(this.failure);
        else if (this.reached(until)) resolve();
        else return false;
        return true;
      };
      if (!check()) this.waiters.push(check);
    });
  }

  /** Something was applied, or the loader failed: waiters look again. */
  notify(failure?: Error): void {
    this.failure ??= failure ?? null;
    this.waiters = this.waiters.filter((check) => !check());
  }

  /**
   * Waits until PostgreSQL's offsets reach `until`, whichever member of the group applies
   * them (this process, or `load --follow` processes beside it). False when `signal` aborted.
   */
  async waitForStored(until: Record<string, PartitionOffsets>, signal: AbortSignal, onWait: (lag: number) => void): Promise<boolean> {
    const result = await waitForOffsets(this.pool(), this.group, until, {
      signal,
      pollMs: 250,
      onWait,
      failure: () => this.failure,
      onReadError: (error) => {
        const wrapped = postgresError(error, this.databaseUrl, 'read the replay progress');
        if (!wrapped.retriable) throw wrapped;
        this.log.warn({ err: errorMessage(wrapped) }, 'cannot read the replay progress yet; retrying');
      },
    });
    return result.ok;
  }
}
