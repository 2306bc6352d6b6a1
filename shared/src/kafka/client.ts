import { Kafka, logLevel, type Admin, type logCreator } from 'kafkajs';
import { LiteshiftError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * kafkajs for admin and consuming (producing is in producer.ts). Services use these
 * helpers only, so either client can be replaced when a benchmark says so.
 */
export type { Admin, Consumer, EachBatchPayload, KafkaMessage, IHeaders } from 'kafkajs';

const LEVEL_NAMES: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

const UNREACHABLE = /Connection error|Failed to connect|Connection timeout|ECONNREFUSED|ECONNRESET/i;
/** One warning per this while the brokers stay unreachable: kafkajs retries far more often. */
const OUTAGE_WARN_EVERY_MS = 10_000;

/**
 * kafkajs logs reconnect attempts at ERROR; they are retried, so ours shows them at debug,
 * plus one warning now and then while no broker answers (a broker restarting), so that a
 * service waiting out an outage says so.
 */
function pinoLogCreator(log: Logger): logCreator {
  const child = log.child({ component: 'kafkajs' });
  let warnedAt = 0;
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, timestamp: _t, logger: _l, ...extra } = entry;
      const name = LEVEL_NAMES[level] ?? 'debug';
      child[name === 'error' || name === 'info' ? 'debug' : name]({ namespace, ...extra }, message);
      if (level === logLevel.ERROR && UNREACHABLE.test(message) && Date.now() - warnedAt >= OUTAGE_WARN_EVERY_MS) {
        warnedAt = Date.now();
        child.warn({ namespace, broker: (extra as { broker?: string }).broker, err: message }, 'cannot reach Kafka; retrying');
      }
    };
}

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  log: Logger;
}

export function createKafka(settings: KafkaSettings): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(settings.log),
  });
}

function unreachable(brokers: string[], error: unknown): LiteshiftError {
  return new LiteshiftError('KAFKA_UNREACHABLE', `cannot reach Kafka at ${brokers.join(',')}: ${errorMessage(error)}`, {
    hint: 'is the broker running? start a local one with `liteshift stack up`, or check --kafka-brokers (or KAFKA_BROKERS)',
    retriable: true,
    cause: error,
  });
}

/** Fails within `timeoutMs` with one clear line when no broker answers. */
export async function connectAdmin(kafka: Kafka, brokers: string[], timeoutMs = 15_000): Promise<Admin> {
  const admin = kafka.admin({ retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3_000 } });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        await admin.connect();
        await admin.describeCluster();
      })(),
      deadline,
    ]);
    return admin;
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    throw unreachable(brokers, error);
  } finally {
    clearTimeout(timer);
  }
}
