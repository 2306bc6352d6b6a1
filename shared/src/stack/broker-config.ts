import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/** Clients resolving `localhost` may try ::1 first, where the broker does not listen. */
export const HOST = '127.0.0.1';

export interface BrokerPorts {
  port: number;
  controllerPort: number;
}

/**
 * 16 random bytes in base64url: the 22-character form Kafka's Uuid parser expects.
 * An id starting with '-' would be read as an option by StorageTool's argument parser;
 * Kafka's own Uuid.randomUuid() rejects those for the same reason.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ host: HOST, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * Takes the preferred port when it is free, otherwise lets the OS choose. The port is
 * released again before Kafka binds it; the gap is milliseconds, and a collision shows up
 * as a fatal startup error rather than a silent misconnection.
 */
export async function pickPort(preferred: number | undefined, taken: readonly number[] = []): Promise<number> {
  if (preferred !== undefined && !taken.includes(preferred)) {
    const bound = await tryListen(preferred);
    if (bound !== undefined) return bound;
  }
  for (;;) {
    const bound = await tryListen(0);
    if (bound !== undefined && !taken.includes(bound)) return bound;
  }
}

/**
 * Ports of the last run on this state dir, so `brokers` stays the same across down/up
 * and the controller keeps the address its quorum was formed with.
 */
export async function previousPorts(serverPropertiesPath: string): Promise<Partial<BrokerPorts>> {
  try {
    const text = await readFile(serverPropertiesPath, 'utf8');
    const listeners = /^listeners=(.*)$/m.exec(text)?.[1] ?? '';
    const port = /PLAINTEXT:\/\/[^,]*:(\d+)/.exec(listeners)?.[1];
    const controllerPort = /CONTROLLER:\/\/[^,]*:(\d+)/.exec(listeners)?.[1];
    return {
      port: port === undefined ? undefined : Number(port),
      controllerPort: controllerPort === undefined ? undefined : Number(controllerPort),
    };
  } catch {
    return {};
  }
}

function escapeValue(value: string): string {
  return value.replace(/\\/g, '\\\\');
}

export function serverProperties(opts: BrokerPorts & { dataDir: string }): string {
  const { port, controllerPort } = opts;
  const lines = [
    '# Written by liteshift on every `stack up`; edits are overwritten.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${controllerPort}`,
    `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${escapeValue(opts.dataDir)}`,
    'num.partitions=1',
    '# A single node cannot satisfy the default replication factor of 3 for internal topics.',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    '# One offsets partition makes the group coordinator ready in a fraction of the time of 50.',
    'offsets.topic.num.partitions=1',
    '# The 3 s default delays every first consumer-group join.',
    'group.initial.rebalance.delay.ms=0',
    '',
  ];
  return lines.join('\n');
}

/**
 * Root at WARN keeps broker.log small; KafkaRaftServer at INFO is what prints
 * "Kafka Server started", the line stackUp waits for.
 */
export const LOG4J2_PROPERTIES = [
  'status = warn',
  // Kafka stops logging itself on SIGTERM; log4j's own hook then only adds a warning.
  'shutdownHook = disable',
  'appender.console.type = Console',
  'appender.console.name = STDOUT',
  'appender.console.layout.type = PatternLayout',
  'appender.console.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = WARN',
  'rootLogger.appenderRef.stdout.ref = STDOUT',
  'logger.raftserver.name = kafka.server.KafkaRaftServer',
  'logger.raftserver.level = INFO',
  '',
].join('\n');
