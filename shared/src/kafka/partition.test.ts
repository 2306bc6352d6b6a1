import { randomBytes } from 'node:crypto';
import { compatibilityPartitioner, murmur2 as platformaticMurmur2 } from '@platformatic/kafka';
import { expect, it } from 'vitest';
import { keyPartitionHash, murmur2 } from './partition.js';

it('gives the hashes of Kafka\'s own murmur2 test (clients UtilsTest.testMurmur2)', () => {
  const cases: [Uint8Array, number][] = [
    [Buffer.from('21'), -973932308],
    [Buffer.from('foobar'), -790332482],
    [Buffer.from('a-little-bit-long-string'), -985981536],
    [Buffer.from('a-little-bit-longer-string'), -1486304829],
    [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
    [Buffer.from([0x61, 0x62, 0x63]), 479470107],
  ];
  for (const [data, hash] of cases) expect(murmur2(data)).toBe(hash);
});

it('puts every key where platformatic\'s compatibility partitioner puts it (lengths 0 to 64, high bytes)', () => {
  for (let length = 0; length <= 64; length++) {
    for (let n = 0; n < 20; n++) {
      const key = randomBytes(length);
      expect(murmur2(key)).toBe(platformaticMurmur2(key));
      expect(keyPartitionHash(key)).toBe(compatibilityPartitioner({} as never, key, {} as never));
    }
  }
  expect(keyPartitionHash(null)).toBe(0);
});
