import { describe, expect, it } from 'vitest';
import type { SqlValue } from '@liteshift/shared';
import { collapseByKey } from './apply.js';

const change = (key: SqlValue[], offset: string) => ({ key, keyBytes: Buffer.from(key.map(String).join('|')), offset });

describe('collapseByKey', () => {
  it('keeps the last event of every key, in the order of those last events', () => {
    const out = collapseByKey([change([1n], '0'), change([2n], '1'), change([1n], '2')]);
    expect(out.map((c) => c.offset)).toEqual(['1', '2']);
  });

  it('never folds events whose key holds NULL into one where the key may hold NULL: each row is its own', () => {
    const batch = [change([null], '0'), change([null], '1'), change(['a', null], '2'), change(['a', null], '3'), change([3n], '4'), change([3n], '5')];
    expect(collapseByKey(batch, true).map((c) => c.offset)).toEqual(['0', '1', '2', '3', '5']);
    expect(collapseByKey(batch).map((c) => c.offset)).toEqual(['1', '3', '5']);
  });
});
