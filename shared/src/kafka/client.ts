import { isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type Admin, type logCreator } from 'kafkajs';
import { LiteshiftError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { certificateProblem } from '../tls-errors.js';
import { kafkaSecurity, kafkajsSecurityOptions, kafkaTlsOptions } from './security.js';
import { ignoreKafkajsTimerWarning } from './kafkajs-timer-warning.js';

/**
 * kafkajs for admin and consuming (producing is in producer.ts). Services use these
 * helpers only, so either client can be replaced when a benchmark says so.
 */
export type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, IHeaders } from 'kafkajs';

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
  ignoreKafkajsTimerWarning();
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(settings.log),
    ...kafkajsSecurityOptions(kafkaSecurity()),
  });
}

/** The SASL failure in a kafkajs error or in one it wraps (retries, non-retriable). */
function saslFailure(error: unknown): Error | undefined {
  for (let e = error; e instanceof Error; e = (e as { originalError?: unknown }).originalError ?? e.cause) {
    if (e.name === 'KafkaJSSASLAuthenticationError' || /SASL .*(authentication failed|mechanism)/i.test(e.message)) return e;
  }
  return undefined;
}

/** Why no broker could be used: unreachable, or refusing the credentials. */
function connectFailure(brokers: string[], error: unknown): LiteshiftError {
  const sasl = saslFailure(error);
  const { sasl: credentials } = kafkaSecurity();
  if (sasl) {
    const who = credentials ? ` of ${credentials.username} (${credentials.mechanism})` : '';
    const reason = sasl.message.replace(/^SASL SCRAM SHA\d+ authentication failed: /, '');
    return new LiteshiftError('KAFKA_AUTH_FAILED', `Kafka at ${brokers.join(',')} refused the credentials${who}: ${reason}`, {
      hint: 'check --kafka-sasl-username, --kafka-sasl-password and --kafka-sasl-mechanism (or KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SASL_MECHANISM)',
      cause: error,
    });
  }
  const message = errorMessage(error);
  // A broker that accepts the connection and closes it at once speaks SASL or TLS there.
  const security = /Closed connection|EPROTO|wrong version number/i.test(message)
    ? '; if the brokers require SASL or TLS, set KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_TLS'
    : '';
  return new LiteshiftError('KAFKA_UNREACHABLE', `cannot reach Kafka at ${brokers.join(',')}: ${message}`, {
    hint: `is the broker running? start a local one with \`liteshift stack up\`, or check --kafka-brokers (or KAFKA_BROKERS)${security}`,
    retriable: true,
    cause: error,
  });
}

/**
 * What a TLS handshake with `broker` says about its certificate: an error when it is
 * refused or the broker speaks no TLS, else undefined (unreachable is kafkajs's to report).
 */
function checkCertificate(broker: string, options: ConnectionOptions, timeoutMs: number): Promise<LiteshiftError | undefined> {
  const at = broker.lastIndexOf(':');
  const host = broker.slice(0, at);
  return new Promise((resolve) => {
    const socket = tlsConnect({ ...options, host, port: Number(broker.slice(at + 1)), ...(isIP(host) ? {} : { servername: host }) });
    const done = (result: LiteshiftError | undefined): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (error) => {
      const problem = certificateProblem(error);
      if (problem === 'untrusted') {
        done(new LiteshiftError('KAFKA_TLS_FAILED', `Kafka at ${broker}: its TLS certificate is not trusted (${error.message})`, {
          hint: 'give the CA that signed it: --kafka-ca-file (or KAFKA_CA_FILE)',
          cause: error,
        }));
      } else if (problem === 'other-host') {
        done(new LiteshiftError('KAFKA_TLS_FAILED', `Kafka at ${broker}: its TLS certificate is for another host (${error.message})`, {
          hint: 'name the brokers as their certificates do in --kafka-brokers (or KAFKA_BROKERS)',
          cause: error,
        }));
      } else if (/before secure TLS connection|wrong version number|EPROTO/i.test(`${(error as NodeJS.ErrnoException).code} ${error.message}`)) {
        done(new LiteshiftError('KAFKA_TLS_FAILED', `Kafka at ${broker} does not speak TLS there`, {
          hint: 'use the port of its SSL or SASL_SSL listener, or turn TLS off (--kafka-tls false, no --kafka-ca-file)',
          cause: error,
        }));
      } else {
        done(undefined);
      }
    });
  });
}

/** Fails within `timeoutMs` with one clear line when no broker answers. */
export async function connectAdmin(kafka: Kafka, brokers: string[], timeoutMs = 15_000): Promise<Admin> {
  // kafkajs retries a refused certificate as if the connection had dropped, and says no
  // more than that no broker answered: the certificate is checked first, for a clear line.
  const tls = kafkaTlsOptions(kafkaSecurity());
  const refused = tls && brokers[0] ? await checkCertificate(brokers[0], tls, 5_000) : undefined;
  if (refused) throw refused;
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
    throw connectFailure(brokers, error);
  } finally {
    clearTimeout(timer);
  }
}
