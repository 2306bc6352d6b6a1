import { stackDown, stackStatus, stackUp, type Logger } from '@liteshift/shared';
import { print } from '../output.js';

export async function stackCommand(action: 'up' | 'down' | 'status', flags: { port?: string; purge?: boolean }, log: Logger): Promise<void> {
  switch (action) {
    case 'up': {
      const result = await stackUp({ log, ...(flags.port ? { port: Number(flags.port) } : {}) });
      print(result.reused ? `Kafka already running (pid ${result.pid})` : `Kafka started (pid ${result.pid}, state in ${result.stateDir})`);
      print(`KAFKA_BROKERS=${result.brokers}`);
      return;
    }
    case 'down': {
      const result = await stackDown({ log, purge: flags.purge ?? false });
      print(result.stopped ? 'Kafka stopped' : 'Kafka was not running');
      return;
    }
    case 'status': {
      const status = await stackStatus({ log });
      print(status.running ? `Kafka running (pid ${status.pid})\nKAFKA_BROKERS=${status.brokers}` : 'Kafka not running');
      return;
    }
  }
}
