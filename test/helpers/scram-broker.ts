import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, ensureKafkaJars } from '@liteshift/shared';
import { run } from './pg-cluster.js';
import type { TestCertificates } from './certificates.js';
import { freePort } from './ports.js';

/*
 * A throwaway single-node KRaft broker whose client listeners all authenticate with
 * SCRAM-SHA-256 or SCRAM-SHA-512: SASL_PLAINTEXT, and SASL_SSL when given certificates,
 * from the jars `liteshift stack` caches. Users are created when the storage is formatted
 * (`--add-scram`), as KRaft allows before start.
 */

export interface ScramUser {
  name: string;
  password: string;
}

const STARTED_LINE = 'Kafka Server started';

export class ScramBroker {
  readonly dir = mkdtempSync(join(tmpdir(), 'liteshift-scram-'));
  brokers = '';
  /** The SASL_SSL listener, advertised as localhost; '' without certificates. */
  tlsBrokers = '';
  private child: ChildProcess | undefined;

  /** `admin` authenticates the broker to itself; `users` are for the clients. */
  async start(users: ScramUser[], certificates?: TestCertificates): Promise<void> {
    const admin: ScramUser = { name: 'broker', password: randomBytes(12).toString('hex') };
    const log = createLogger({ service: 'test-scram-broker', level: 'warn', format: 'json' });
    const libs = await ensureKafkaJars({ log });
    const port = await freePort();
    const controllerPort = await freePort();
    const tlsPort = certificates ? await freePort() : 0;
    this.brokers = `127.0.0.1:${port}`;
    this.tlsBrokers = certificates ? `localhost:${tlsPort}` : '';
    const listeners = ['sasl_plaintext', ...(certificates ? ['sasl_ssl'] : [])];
    const jaas = listeners.flatMap((listener) =>
      ['scram-sha-256', 'scram-sha-512'].map(
        (mechanism) =>
          `listener.name.${listener}.${mechanism}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${admin.name}" password="${admin.password}";`,
      ),
    );
    let tls: string[] = [];
    if (certificates) {
      // A PEM key store: the PKCS#8 key and its certificate in one file.
      const keystore = join(this.dir, 'keystore.pem');
      writeFileSync(keystore, readFileSync(certificates.key, 'utf8') + readFileSync(certificates.cert, 'utf8'));
      tls = [`ssl.keystore.type=PEM`, `ssl.keystore.location=${keystore}`];
    }
    const properties = join(this.dir, 'server.properties');
    writeFileSync(
      properties,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=SASL_PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${certificates ? `,SASL_SSL://127.0.0.1:${tlsPort}` : ''}`,
        `advertised.listeners=SASL_PLAINTEXT://127.0.0.1:${port}${certificates ? `,SASL_SSL://${this.tlsBrokers}` : ''}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=SASL_PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
        'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512',
        'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256',
        ...jaas,
        ...tls,
        `log.dirs=${join(this.dir, 'data')}`,
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=1',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        '',
      ].join('\n'),
    );
    const log4j = join(this.dir, 'log4j2.properties');
    writeFileSync(
      log4j,
      ['appender.console.type = Console', 'appender.console.name = STDOUT', 'appender.console.layout.type = PatternLayout', 'appender.console.layout.pattern = %p %m (%c)%n', 'rootLogger.level = WARN', 'rootLogger.appenderRef.stdout.ref = STDOUT', 'logger.raft.name = kafka.server.KafkaRaftServer', 'logger.raft.level = INFO', ''].join('\n'),
    );
    const java = (args: string[]) => [`-Dlog4j2.configurationFile=${log4j}`, '-cp', join(libs, '*'), ...args];
    const scram = [...users, admin].flatMap((user) =>
      ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => ['--add-scram', `${mechanism}=[name=${user.name},password=${user.password}]`]),
    );
    const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
    await run('java', ['-Xmx256m', ...java(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties, ...scram])]);

    const out = openSync(this.log, 'a');
    this.child = spawn('java', ['-Xms128m', '-Xmx384m', ...java(['kafka.Kafka', properties])], { stdio: ['ignore', out, out] });
    const deadline = Date.now() + 90_000;
    while (!this.logText().includes(STARTED_LINE)) {
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`SCRAM broker did not start:\n${this.logText().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  get log(): string {
    return join(this.dir, 'broker.log');
  }

  logText(): string {
    try {
      return readFileSync(this.log, 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
