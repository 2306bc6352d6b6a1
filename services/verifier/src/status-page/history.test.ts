import { describe, expect, it } from 'vitest';
import { History, type StatusSample } from './history.js';

const sample = (at: number): StatusSample => ({ at, appliedPerSecond: at, extractorLag: 0, loaderLag: null });

describe('status page history', () => {
  it('keeps at most its capacity, oldest first', () => {
    const history = new History(1_000_000, 3);
    for (const at of [1, 2, 3, 4, 5]) history.push(sample(at));
    expect(history.samples().map((s) => s.at)).toEqual([3, 4, 5]);
  });

  it('drops samples older than the window of the newest, and answers only newer ones after `since`', () => {
    const history = new History(100, 10);
    for (const at of [0, 50, 120, 180]) history.push(sample(at));
    expect(history.samples().map((s) => s.at)).toEqual([120, 180]);
    expect(history.samples(120).map((s) => s.at)).toEqual([180]);
  });

  it('is empty before the first sample', () => {
    const history = new History(100, 2);
    expect(history.samples()).toEqual([]);
  });
});
