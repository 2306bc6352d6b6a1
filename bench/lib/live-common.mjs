// What the forward (SQLite → PostgreSQL) and the fallback (PostgreSQL → SQLite) live
// figures measure alike: a writer thread on a schedule, a poller that sees its rows arrive
// on the other side, the services' memory meanwhile, and write rates in alternating turns.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { percentile } from './format.mjs';
import { rssOf } from './proc.mjs';

/** How long after the writer ends the poller still waits for rows missing on the other side. */
const DRAIN_MS = 60_000;

/**
 * Runs a writer worker thread (the application) that posts one message, its result, when
 * done. `result` and `error` are set as they come; `done` settles with them.
 */
export function startWriter(moduleUrl, workerData) {
  const worker = new Worker(moduleUrl, { workerData });
  const writer = { result: null, error: null };
  writer.done = new Promise((resolve, reject) => {
    worker.once('message', (m) => {
      writer.result = m;
      resolve(m);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`latency writer exited with ${code}`))));
  });
  writer.done.catch((error) => (writer.error = error));
  return writer;
}

/**
 * Polls the other side every ~5 ms until the writer is done and every row it wrote without
 * error has arrived, or DRAIN_MS after it ended. `read(after)` returns the rows with an id
 * above `after` visible now (may be a promise); each id reaches `arrived(row, visibleMs)`
 * once. Rows may become visible out of id order (several partitions, one transaction each),
 * so it re-reads above the highest contiguous id seen, starting at `from`. `check()` throws
 * when a service stopped. Returns how many rows arrived and how many polls it took.
 */
export async function pollArrivals({ writer, read, arrived, from = 0, check }) {
  const seen = new Set();
  let contiguous = from;
  let arrivals = 0;
  let polls = 0;
  let drainDeadline = Infinity;
  for (;;) {
    const rows = await read(contiguous);
    const visible = Date.now();
    polls++;
    for (const row of rows) {
      const id = Number(row.id);
      if (id <= contiguous || seen.has(id)) continue;
      seen.add(id);
      arrivals++;
      arrived(row, visible);
    }
    while (seen.has(contiguous + 1)) seen.delete(++contiguous);
    if (writer.error) throw writer.error;
    if (writer.result) {
      if (drainDeadline === Infinity) drainDeadline = Date.now() + DRAIN_MS;
      if (arrivals >= writer.result.written - writer.result.errors || Date.now() > drainDeadline) break;
    }
    check();
    await sleep(5);
  }
  return { arrivals, polls };
}

/** p50, p95, p99, max and mean of a list of latencies (ms). */
export function latencySummary(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
    mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : undefined,
  };
}

/** Samples the RSS of named child processes every 100 ms; `stop()` returns each one's peak (undefined if never read). */
export function sampleRss(children) {
  const peaks = Object.fromEntries(Object.keys(children).map((name) => [name, 0]));
  const timer = setInterval(() => {
    for (const [name, child] of Object.entries(children)) peaks[name] = Math.max(peaks[name], rssOf(child.pid) ?? 0);
  }, 100);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return Object.fromEntries(Object.entries(peaks).map(([name, peak]) => [name, peak || undefined]));
    },
  };
}

const WARMUP_MS = 300;
const SLICE_MS = 250;

/**
 * Write rates of several modes (no capture, capture, …), written in turns of 250 ms until
 * each has had `durationMs`: on a shared machine, load that comes and goes then weighs on
 * every mode alike, and the ratios stay comparable. `slice(mode, ms)` writes for about `ms`
 * and returns how many writes it made (or a promise of it); a short warm-up per mode
 * (statement cache, first WAL frames) is not counted.
 */
export async function writeInTurns(modes, durationMs, slice) {
  const acc = modes.map((mode) => ({ mode, writes: 0, warmupWrites: 0, elapsedMs: 0 }));
  const turn = async (a, ms, counted) => {
    const started = performance.now();
    const n = await slice(a.mode, ms);
    if (!counted) {
      a.warmupWrites += n;
      return;
    }
    a.writes += n;
    a.elapsedMs += performance.now() - started;
  };
  for (const a of acc) await turn(a, WARMUP_MS, false);
  while (acc.some((a) => a.elapsedMs < durationMs)) for (const a of acc) await turn(a, SLICE_MS, true);
  return Object.fromEntries(acc.map(({ mode, ...a }) => [mode, { ...a, rate: a.writes / (a.elapsedMs / 1000) }]));
}
