/** One reading of the pipeline, for the status page's chart. */
export interface StatusSample {
  /** Epoch milliseconds. */
  at: number;
  /** Messages the loader applied per second since the previous sample (null for the first one). */
  appliedPerSecond: number | null;
  /** Changes committed in SQLite and not yet in Kafka (null without change capture). */
  extractorLag: number | null;
  /** Messages on the table topics not yet applied (null without Kafka). */
  loaderLag: number | null;
}

/**
 * The last `windowMs` of samples in a fixed-size ring: a verifier watching for days keeps
 * the same memory as one watching for a minute.
 */
export class History {
  private readonly ring: (StatusSample | undefined)[];
  private next = 0;

  constructor(
    readonly windowMs: number,
    capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`history capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<StatusSample | undefined>(capacity);
  }

  push(sample: StatusSample): void {
    this.ring[this.next] = sample;
    this.next = (this.next + 1) % this.ring.length;
  }

  /** Samples within the window of the newest one, oldest first; only those after `since` when given. */
  samples(since = -Infinity): StatusSample[] {
    const ordered = [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)].filter((s): s is StatusSample => s !== undefined);
    const newest = ordered.at(-1)?.at ?? 0;
    return ordered.filter((s) => s.at > since && s.at >= newest - this.windowMs);
  }
}
