import { Kafka, logLevel, type logCreator } from 'kafkajs';
import { LiteshiftError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { ignoreKafkajsTimerWarning } from '../kafka/kafkajs-timer-warning.js';

export interface ClusterDescription {
  clusterId: string;
  brokerCount: number;
}

/**
 * kafkajs logs every refused connection at ERROR; while a broker is still starting those
 * are expected, so they go to our logger at debug instead of the console.
 */
function quietLogCreator(log: Logger): logCreator {
  const child = log.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, label, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry;
      child.debug({ namespace, kafkajsLevel: label, ...extra }, message);
    };
}

/**
 * One admin round trip. No kafkajs retries: callers that want to wait for a starting
 * broker loop around this with their own deadline.
 */
export async function describeBroker(brokers: string, log: Logger, timeoutMs = 3_000): Promise<ClusterDescription> {
  ignoreKafkajsTimerWarning();
  const kafka = new Kafka({
    clientId: 'liteshift-stack-probe',
    brokers: brokers.split(',').map((broker) => broker.trim()),
    connectionTimeout: Math.min(timeoutMs, 1_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.WARN,
    logCreator: quietLogCreator(log),
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { clusterId: cluster.clusterId, brokerCount: cluster.brokers.length };
  } catch (error) {
    throw new LiteshiftError('KAFKA_UNREACHABLE', `Kafka at ${brokers} did not answer: ${errorMessage(error)}`, {
      retriable: true,
      cause: error,
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
