import { readFileSync, rmSync } from 'node:fs';

/** The last `n` lines of a log file, indented, for error messages. */
export function tailOf(file, n = 10) {
  try {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines
      .slice(-n)
      .map((l) => `    ${l.length > 400 ? `${l.slice(0, 400)}…` : l}`)
      .join('\n');
  } catch {
    return `    (no log at ${file})`;
  }
}

/** The first line matching `re` in a log file (or text), trimmed, or undefined. */
export function firstMatch(text, re) {
  for (const line of text.split('\n')) if (re.test(line)) return line.trim();
  return undefined;
}

/** Removes a SQLite file with its WAL, shared-memory and journal files. */
export function removeDb(path) {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(path + suffix, { force: true });
}

/**
 * How many writes a writer at `rate` per second should have made `elapsedMs` into a run
 * of `durationMs`: the schedule of the latency writers, which catch up when behind.
 */
export function writesDue(elapsedMs, rate, durationMs) {
  return Math.min(Math.floor((elapsedMs * rate) / 1000) + 1, Math.floor((durationMs * rate) / 1000));
}
