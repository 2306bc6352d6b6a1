/**
 * The partition Kafka's Java client (and kafkajs's and platformatic's "compatibility"
 * partitioners) picks for a key: toPositive(murmur2(key)) % partitions. Contract 2 needs
 * it to stay exactly that: a key always lands on the same partition, whoever produced it.
 *
 * platformatic's murmur2 works in BigInt (an allocation per operation); 32-bit integer
 * arithmetic (Math.imul, >>>) gives the same bits at a fraction of the cost.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[whole + 2]! << 16;
    if (tail >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * What the producer sets as a message's partition: the key's hash made positive, before the
 * client takes it modulo the topic's partition count (as Java's partitioner does). A
 * message without a key goes to partition 0, as with platformatic's compatibility partitioner.
 */
export function keyPartitionHash(key: Uint8Array | null): number {
  return key ? murmur2(key) & 0x7fffffff : 0;
}
