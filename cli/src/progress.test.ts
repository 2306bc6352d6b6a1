import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '@liteshift/shared';
import { Progress, pace } from './progress.js';

/** A stream that says it is a terminal and keeps what is written to it, escapes removed. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 160;
  raw = '';

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.raw += chunk.toString('utf8');
    done();
  }

  get text(): string {
    return this.raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  }
}

const log = createLogger({ service: 'test', level: 'silent', format: 'json' });

describe('progress bars on a terminal', () => {
  it('draws a bar per table and the total, collapses finished tables into done lines, and stops when all are in', async () => {
    const stream = new FakeTerminal();
    const sigterm = process.listenerCount('SIGTERM');
    const progress = new Progress({ log, bars: true, stream, applied: true });
    progress.expect([
      { name: 'users', total: 3 },
      { name: 'tasks', total: 5 },
    ]);

    progress.sent('users', 0, 3);
    progress.sent('users', 3, 3);
    progress.applied('users', 1);
    await vi.waitFor(() => expect(stream.text).toMatch(/users\s+\[[^\]]*\] 33% 1\/3 rows \(3 sent\) \| ETA [^|]+ \| [\d,]+ rows\/s/));
    expect(stream.text).toMatch(/total\s+\[[^\]]*\] 12% 1\/8 rows \(3 sent\)/);
    // The bars are on while a table is being worked on: a signal would end them first.
    expect(process.listenerCount('SIGTERM')).toBe(sigterm + 1);

    progress.applied('users', 2);
    expect(stream.text).toContain('✔ users: 3 rows in ');

    progress.sent('tasks', 0, 5);
    progress.sent('tasks', 5, 5);
    progress.applied('tasks', 2);
    await vi.waitFor(() => expect(stream.text).toMatch(/tasks\s+\[[^\]]*\] 40% 2\/5 rows \(5 sent\)/));
    expect(stream.text).toMatch(/total\s+\[[^\]]*\] 62% 5\/8 rows \(8 sent\)/);

    progress.applied('tasks', 3);
    expect(stream.text).toContain('✔ tasks: 5 rows in ');
    // Finished: the total is drawn a last time, the terminal left on a fresh line, no signal handler left.
    expect(stream.text).toMatch(/total\s+\[[^\]]*\] 100% 8\/8 rows \(8 sent\) \| ETA 0 s \| [\d,]+ rows\/s\n$/);
    expect(process.listenerCount('SIGTERM')).toBe(sigterm);
    const written = stream.raw.length;
    progress.stop();
    expect(stream.raw.length).toBe(written);
  });

  it('stop() mid-table draws the bars a last time, ends the line and writes nothing after', async () => {
    const stream = new FakeTerminal();
    const progress = new Progress({ log, bars: true, stream, applied: false });
    progress.expect([{ name: 'events', total: 1_000 }]);
    progress.sent('events', 0, 1_000);
    progress.sent('events', 400, 1_000);
    progress.stop();
    // The total heads the bars, the tables follow.
    expect(stream.text).toMatch(/total\s+\[[^\]]*\] 40% 400\/1,000 rows [^\n]*\nevents\s+\[[^\]]*\] 40% 400\/1,000 rows \| ETA [^|]+ \| [\d,]+ rows\/s\n$/);
    const written = stream.raw.length;
    progress.sent('events', 800, 1_000);
    progress.stop();
    expect(stream.raw.length).toBe(written);
  });

  it('prints log lines above the bars while they are drawn, straight to the stream otherwise', async () => {
    const stream = new FakeTerminal();
    const progress = new Progress({ log, bars: true, stream, applied: false });
    progress.print('before the bars\n');
    expect(stream.text).toBe('before the bars\n');
    progress.sent('events', 0, 10);
    progress.print('a log line\n');
    // The line is written at the next redraw, the bars drawn again below it.
    await vi.waitFor(() => expect(stream.text).toMatch(/a log line\ntotal\s+\[[^\]]*\] 0% 0\/10 rows[^\n]*\nevents\s+\[/));
    progress.print('waiting at stop\n');
    progress.stop();
    expect(stream.text).toMatch(/waiting at stop\n/);
    expect(stream.text.endsWith('\n')).toBe(true);
  });

  it('an empty table is done at once', () => {
    const stream = new FakeTerminal();
    const progress = new Progress({ log, bars: true, stream, applied: false });
    progress.expect([{ name: 'empty', total: 0 }]);
    progress.sent('empty', 0, 0);
    expect(stream.text).toContain('✔ empty: 0 rows in ');
    expect(stream.text).toMatch(/total\s+\[[^\]]*\] 0% 0\/0 rows[^\n]*\n$/);
  });
});

describe('progress without a terminal', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: 'test', format: 'json', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    return { lines, logger };
  };

  it('logs a table at most once per interval, and once when it is done', () => {
    const { lines, logger } = capture();
    const progress = new Progress({ log: logger, bars: false, applied: true, logEveryMs: 3_600_000 });
    progress.expect([{ name: 'tasks', total: 10 }]);
    progress.sent('tasks', 0, 10);
    progress.sent('tasks', 10, 10);
    progress.applied('tasks', 4);
    expect(lines).toEqual([]);
    progress.applied('tasks', 6);
    expect(lines).toEqual([expect.objectContaining({ msg: 'progress', table: 'tasks', rows: 10, total: 10, sent: 10, etaS: 0 })]);
    progress.stop();
    expect(lines).toHaveLength(1);
  });

  it('logs every change when the interval is 0, and a table cut short when stopped', () => {
    const { lines, logger } = capture();
    const progress = new Progress({ log: logger, bars: false, applied: false, logEveryMs: 0 });
    progress.sent('events', 0, 100);
    progress.sent('events', 40, 100);
    progress.stop();
    expect(lines.map((l) => [l.rows, l.total])).toEqual([[0, 100], [40, 100], [40, 100]]);
    expect(lines[0]).not.toHaveProperty('sent');
  });
});

describe('pace', () => {
  it('is rows per second so far and the seconds left at it', () => {
    expect(pace(500, 2_000, 1_000)).toEqual({ rowsPerSec: 500, etaS: 3 });
    expect(pace(0, 2_000, 0)).toEqual({ rowsPerSec: 0, etaS: null });
    expect(pace(2_000, 2_000, 4_000)).toEqual({ rowsPerSec: 500, etaS: 0 });
  });
});
