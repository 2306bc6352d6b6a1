import { describe, expect, it } from 'vitest';
import type { SqlValue } from '@liteshift/shared';
import { collapseByKey } from './apply-transaction.js';

const change = (key: string, n: number) => ({ keyBytes: Buffer.from(key), n });

describe('collapseByKey', () => {
  it('keeps the last event of every key (ON CONFLICT cannot touch a row twice in one statement)', () => {
    const out = collapseByKey([change('a', 1), change('b', 2), change('a', 3), change('c', 4), change('b', 5)]);
    expect(out.map((c) => [c.keyBytes.toString(), c.n])).toEqual([
      ['a', 3],
      ['c', 4],
      ['b', 5],
    ]);
  });

  it('orders the survivors by where their last event was (a key deleted, then inserted again, stays last)', () => {
    const out = collapseByKey([change('x', 1), change('y', 2), change('x', 3)]);
    expect(out.map((c) => c.n)).toEqual([2, 3]);
  });

  it('compares keys byte for byte: keys that are not UTF-8 (which would both read as U+FFFD) stay apart', () => {
    const a = { keyBytes: Buffer.from([0x06, 0xff]), n: 1 };
    const b = { keyBytes: Buffer.from([0x06, 0xfe]), n: 2 };
    expect(collapseByKey([a, b]).map((c) => c.n)).toEqual([1, 2]);
  });

  it('leaves an empty batch empty', () => {
    expect(collapseByKey([])).toEqual([]);
  });

  it('never folds events whose key holds NULL into one, where asked: each such row is its own', () => {
    const keyed = (key: SqlValue[], n: number) => ({ key, keyBytes: Buffer.from(key.map(String).join('|')), n });
    const batch = [keyed([null], 0), keyed([null], 1), keyed(['a', null], 2), keyed(['a', null], 3), keyed([3n], 4), keyed([3n], 5)];
    expect(collapseByKey(batch, (c) => c.key.includes(null)).map((c) => c.n)).toEqual([0, 1, 2, 3, 5]);
    expect(collapseByKey(batch).map((c) => c.n)).toEqual([1, 3, 5]);
  });
});
