import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import { createLogger, stackStatus, stackUp } from '@liteshift/shared';

const log = createLogger({ service: 'stack-test', level: process.env.LOG_LEVEL ?? 'warn' });

describe('local Kafka stack', () => {
  it('accepts a topic, a produced message and a consumer reading it back', async () => {
    const brokers = inject('kafkaBrokers').split(',');
    const kafka = new Kafka({ clientId: 'stack-test', brokers, logLevel: logLevel.NOTHING });
    const topic = `stack-test-${randomUUID()}`;
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `stack-test-${randomUUID()}` });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });

      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello from liteshift' }] });

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<string>((resolve) => {
        void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') });
      });
      await expect(received).resolves.toBe('hello from liteshift');
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  const stateDir = inject('kafkaStackDir');

  it.skipIf(stateDir === '')('reuses the running broker when started again on the same state dir', async () => {
    const first = await stackStatus({ stateDir, log });
    expect(first.running).toBe(true);

    const again = await stackUp({ stateDir, log });
    expect(again).toMatchObject({ reused: true, brokers: inject('kafkaBrokers'), pid: first.pid });
  });
});
