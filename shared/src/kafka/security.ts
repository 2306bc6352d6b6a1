import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { KafkaConfig } from 'kafkajs';
import type { SASLOptions } from '@platformatic/kafka';

export const SASL_MECHANISMS = ['scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** How liteshift authenticates to and encrypts for the Kafka cluster (from its settings). */
export interface KafkaSecurity {
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  /** TLS, the certificate checked against `caFile` (PEM) or Node's built-in CAs. */
  tls?: { caFile?: string };
}

export interface KafkaSecuritySettings {
  kafkaSaslMechanism?: SaslMechanism | undefined;
  kafkaSaslUsername?: string | undefined;
  kafkaSaslPassword?: string | undefined;
  kafkaTls?: boolean | undefined;
  kafkaCaFile?: string | undefined;
}

/** The settings, validated together by resolveSettings, as one description. */
export function kafkaSecurityOf(settings: KafkaSecuritySettings): KafkaSecurity {
  const { kafkaSaslMechanism: mechanism, kafkaSaslUsername: username, kafkaSaslPassword: password } = settings;
  return {
    ...(mechanism && username && password ? { sasl: { mechanism, username, password } } : {}),
    ...(settings.kafkaTls || settings.kafkaCaFile ? { tls: settings.kafkaCaFile ? { caFile: settings.kafkaCaFile } : {} } : {}),
  };
}

/*
 * A process talks to one Kafka cluster, through several clients (kafkajs admin and
 * consumers, @platformatic/kafka producers) created deep inside the services: the CLI
 * sets the cluster's security once, from the settings, and every client reads it, rather
 * than every constructor on the way passing it along. A worker thread has its own copy
 * of this module and sets it from its workerData.
 */
let current: KafkaSecurity = {};

export function setKafkaSecurity(security: KafkaSecurity): void {
  current = security;
}

export function kafkaSecurity(): KafkaSecurity {
  return current;
}

/** The TLS options of both clients, or undefined without TLS. */
export function kafkaTlsOptions(security: KafkaSecurity): ConnectionOptions | undefined {
  if (!security.tls) return undefined;
  return security.tls.caFile ? { ca: readFileSync(security.tls.caFile, 'utf8') } : {};
}

/** kafkajs types each mechanism apart: the union has to be split to satisfy them. */
function kafkajsSasl({ mechanism, username, password }: NonNullable<KafkaSecurity['sasl']>): NonNullable<KafkaConfig['sasl']> {
  return mechanism === 'scram-sha-256' ? { mechanism, username, password } : { mechanism, username, password };
}

/** The kafkajs client options for it. */
export function kafkajsSecurityOptions(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  return {
    ...(security.tls ? { ssl: security.tls.caFile ? kafkaTlsOptions(security) : true } : {}),
    ...(security.sasl ? { sasl: kafkajsSasl(security.sasl) } : {}),
  };
}

/** The @platformatic/kafka client options for it (mechanisms in upper case there). */
export function platformaticSecurityOptions(security: KafkaSecurity): { tls?: ConnectionOptions; sasl?: SASLOptions } {
  return {
    ...(security.tls ? { tls: kafkaTlsOptions(security) } : {}),
    ...(security.sasl
      ? {
          sasl: {
            mechanism: security.sasl.mechanism === 'scram-sha-256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512',
            username: security.sasl.username,
            password: security.sasl.password,
          },
        }
      : {}),
  };
}
