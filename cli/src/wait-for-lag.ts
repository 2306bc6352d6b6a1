import { sleep, type Logger } from '@liteshift/shared';

/** How often `alive` is asked while waiting: liveness is read from Kafka or PostgreSQL, not at every poll of the lag. */
const LIVENESS_EVERY_MS = 5_000;

/**
 * Polls `read` until every lag it names is at most `atMost`, or the time is up (the lags
 * then say how far behind, in words). `alive` is asked now and then, and throws when the
 * services that would drain the lag are gone. Cutover and rollback wait with it.
 */
export async function waitForLag(
  read: () => Promise<Record<string, number>>,
  atMost: number,
  timeoutMs: number,
  log: Logger,
  alive?: () => Promise<void>,
): Promise<{ ok: true } | { ok: false; lag: string }> {
  const deadline = Date.now() + timeoutMs;
  let told = 0;
  let checked = Date.now();
  for (;;) {
    const lags = await read();
    if (Object.values(lags).every((n) => n <= atMost)) return { ok: true };
    const said = Object.entries(lags).map(([what, n]) => `${what} ${n}`).join(', ');
    if (Date.now() > deadline) return { ok: false, lag: said };
    if (Date.now() - told > 5_000) {
      told = Date.now();
      log.info({ lag: said, target: atMost }, 'waiting for the lag to drop');
    }
    if (alive && Date.now() - checked > LIVENESS_EVERY_MS) {
      checked = Date.now();
      await alive();
    }
    await sleep(250);
  }
}
