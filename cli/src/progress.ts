import { MultiBar, type SingleBar } from 'cli-progress';
import type { Logger } from '@liteshift/shared';
import { formatCount, formatDuration } from './output.js';

/** Where bars are drawn: stderr, or in a test any stream that says it is a terminal. */
export interface ProgressStream extends NodeJS.WritableStream {
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  log: Logger;
  /** Bars on `stream` (a terminal) instead of log lines. */
  bars: boolean;
  stream?: ProgressStream;
  /**
   * `migrate`: a row is done once the loader applied it (and "sent" shows the extractor
   * ahead of it); `extract`: once Kafka has it.
   */
  applied: boolean;
  /** Least time between two log lines of a table (log lines only). */
  logEveryMs?: number;
}

interface TableState {
  name: string;
  total: number;
  sent: number;
  applied: number;
  startedAt: number;
  loggedAt: number;
  /** Shown whole (done line, last log line) or closed by `stop`: no longer drawn or logged. */
  closed: boolean;
  bar?: SingleBar;
}

/** Whether progress is drawn as bars: only for a person at a terminal, never with JSON output or JSON logs. */
export function wantsBars(stream: ProgressStream, logFormat: 'json' | 'pretty', json: boolean): boolean {
  return stream.isTTY === true && logFormat !== 'json' && !json;
}

/**
 * Per-table progress of a snapshot (rows done / total, rows/s, ETA): a multi-bar on a
 * terminal, else throttled log lines. Fed per chunk and per applied batch, never per row,
 * and bars redraw on cli-progress's timer, so a large snapshot is not slowed by it.
 */
export class Progress {
  private readonly tables = new Map<string, TableState>();
  private readonly stream: ProgressStream;
  private readonly logEveryMs: number;
  private multibar: MultiBar | null = null;
  private totalBar: SingleBar | null = null;
  /** Tables drawn by the current bars: the total counts them and those yet to start. */
  private readonly shown = new Set<TableState>();
  private startedAt = 0;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.logEveryMs = options.logEveryMs ?? 5_000;
  }

  /** The tables a snapshot will read, so the total is known before they start. */
  expect(tables: readonly { name: string; total: number }[]): void {
    for (const { name, total } of tables) this.table(name).total = total;
  }

  /** The extractor's report: `done` of `total` rows of `table` are in Kafka. */
  sent(table: string, done: number, total: number): void {
    const state = this.table(table);
    if (state.startedAt === 0) state.startedAt = state.loggedAt = Date.now();
    state.sent = done;
    state.total = total;
    this.changed(state);
  }

  /** The loader's report: `rows` more rows of `table` are in PostgreSQL. */
  applied(table: string, rows: number): void {
    const state = this.table(table);
    state.applied += rows;
    this.changed(state);
  }

  /** A log line: above the bars while they are drawn, else straight to the stream. */
  readonly print = (line: string): void => {
    if (this.multibar) this.multibar.log(line);
    else this.stream.write(line);
  };

  /** Ends the display: bars are drawn a last time and the terminal is left on a new line. */
  stop(): void {
    const now = Date.now();
    for (const state of this.tables.values()) {
      if (state.closed || state.startedAt === 0) continue;
      state.closed = true;
      if (!this.options.bars) this.logLine(state, now);
    }
    if (this.multibar) {
      this.updateTotal(now);
      // A redraw first: it writes the log lines still waiting for one.
      this.multibar.update();
      this.multibar.stop();
      this.multibar = this.totalBar = null;
      process.off('SIGTERM', this.onSignal);
      process.off('SIGINT', this.onSignal);
    }
  }

  private table(name: string): TableState {
    let state = this.tables.get(name);
    if (!state) {
      state = { name, total: 0, sent: 0, applied: 0, startedAt: 0, loggedAt: 0, closed: false };
      this.tables.set(name, state);
    }
    return state;
  }

  private rowsDone(state: TableState): number {
    return this.options.applied ? state.applied : state.sent;
  }

  private changed(state: TableState): void {
    if (state.closed || state.startedAt === 0) return;
    const now = Date.now();
    const finished = this.rowsDone(state) >= state.total;
    if (finished) state.closed = true;
    if (this.options.bars) this.draw(state, now, finished);
    else if (finished || now - state.loggedAt >= this.logEveryMs) this.logLine(state, now);
  }

  private logLine(state: TableState, now: number): void {
    state.loggedAt = now;
    const { rowsPerSec, etaS } = pace(this.rowsDone(state), state.total, now - state.startedAt);
    const sent = this.options.applied ? { sent: state.sent } : {};
    this.options.log.info({ table: state.name, rows: this.rowsDone(state), total: state.total, ...sent, rowsPerSec, etaS }, 'progress');
  }

  private draw(state: TableState, now: number, finished: boolean): void {
    const multibar = this.start(now);
    if (finished) {
      // A finished table leaves the bars for one line above them.
      multibar.log(`✔ ${doneLine(state.name, this.rowsDone(state), now - state.startedAt)}\n`);
      // Removing a bar redraws, which writes the line; a table that never had one (empty) redraws here.
      if (state.bar) multibar.remove(state.bar);
      else multibar.update();
      state.bar = undefined;
    } else {
      const payload = this.payload(state.name, this.rowsDone(state), state.total, state.sent, now - state.startedAt);
      if (state.bar) state.bar.update(this.rowsDone(state), payload);
      else state.bar = multibar.create(state.total, this.rowsDone(state), payload);
    }
    this.shown.add(state);
    this.updateTotal(now);
    // Every table is finished: the bars give way to whatever the command prints next.
    if ([...this.tables.values()].every((t) => t.closed)) this.stop();
  }

  private start(now: number): MultiBar {
    if (this.multibar) return this.multibar;
    this.startedAt = now;
    this.shown.clear();
    this.multibar = new MultiBar({
      stream: this.stream,
      // Lines are cut at the terminal's width: what matters most comes first.
      format: '{name} [{bar}] {percentage}% {rows} | ETA {eta_text} | {rate}',
      barsize: Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 100)),
      fps: 4,
      // Log lines are written over the bars: every bar must be drawn again after them.
      forceRedraw: true,
      // Nothing to restore if the process dies before `stop`: the cursor stays visible and
      // lines wrap (they are cut to the terminal's width instead).
      hideCursor: false,
      linewrap: true,
    });
    this.totalBar = this.multibar.create(1, 0, this.payload('total', 0, 0, 0, 0));
    process.prependOnceListener('SIGTERM', this.onSignal);
    process.prependOnceListener('SIGINT', this.onSignal);
    return this.multibar;
  }

  /**
   * A signal leaves the terminal on a fresh line. Runs before the command's own handler
   * (extract finishes its batch); a command without one dies of the signal as it would
   * have without bars.
   */
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.stop();
    // The command is ending: a table it still reads while finishing its batch gets no new bars.
    for (const state of this.tables.values()) state.closed = true;
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  private updateTotal(now: number): void {
    if (!this.totalBar) return;
    let done = 0;
    let total = 0;
    let sent = 0;
    for (const state of this.tables.values()) {
      if (!this.shown.has(state) && (state.closed || state.startedAt !== 0)) continue;
      done += Math.min(this.rowsDone(state), state.total);
      total += state.total;
      sent += state.sent;
    }
    this.totalBar.setTotal(Math.max(total, 1));
    this.totalBar.update(done, this.payload('total', done, total, sent, now - this.startedAt));
  }

  private payload(name: string, done: number, total: number, sent: number, ms: number): Record<string, string> {
    const { rowsPerSec, etaS } = pace(done, total, ms);
    return {
      name: name.padEnd(20).slice(0, 20),
      rows: `${formatCount(done)}/${formatCount(total)} rows${this.options.applied ? ` (${formatCount(sent)} sent)` : ''}`,
      rate: `${formatCount(rowsPerSec)} rows/s`,
      eta_text: etaS === null ? '?' : etaS < 60 ? `${etaS} s` : formatDuration(etaS * 1000),
    };
  }
}

/** Rows per second so far, and the seconds left at that pace (null before there is a pace). */
export function pace(done: number, total: number, ms: number): { rowsPerSec: number; etaS: number | null } {
  const rowsPerSec = ms > 0 ? Math.round((done * 1000) / ms) : 0;
  const left = Math.max(0, total - done);
  return { rowsPerSec, etaS: left === 0 ? 0 : rowsPerSec > 0 ? Math.ceil(left / rowsPerSec) : null };
}

function doneLine(name: string, rows: number, ms: number): string {
  return `${name}: ${formatCount(rows)} rows in ${formatDuration(ms)} (${formatCount(pace(rows, rows, ms).rowsPerSec)} rows/s)`;
}
