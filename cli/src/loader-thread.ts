import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createLogger, errorMessage, isLiteshiftError, kafkaSecurity, LiteshiftError, setKafkaSecurity, type KafkaSecurity, type PartitionOffsets } from '@liteshift/shared';
import { Loader, type LoaderOptions } from '@liteshift/loader';

/**
 * The loader of a one-shot `migrate`, in a worker thread: the extractor (SQLite reads,
 * Avro encoding, produce) and the loader (consume, decode, COPY) then each get a core
 * instead of sharing one JavaScript thread.
 */
type LoaderSettings = Omit<LoaderOptions, 'log'> & { logLevel: string; logFormat: 'json' | 'pretty' };
/** What the thread reports besides replies; its log lines go to `onLog` when given, else to stderr. */
interface LoaderEvents {
  onApplied?: (table: string, rows: number) => void;
  onLog?: (line: string) => void;
}

type Command = { op: 'connect' | 'consume' | 'stop' | 'close' } | { op: 'waitUntil'; until: Record<string, PartitionOffsets> };
type Request = Command & { id: number };
type Reply = { id: number; ok: true } | { id: number; ok: false; error: { code: string; message: string; hint?: string; retriable: boolean } };
/** Rows of a table a batch put into PostgreSQL (upserted or rejected): one message per batch, for progress. */
type Applied = { applied: { table: string; rows: number } };
type LogLine = { log: string };

export class LoaderThread {
  private readonly worker: Worker;
  private next = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(settings: LoaderSettings, events: LoaderEvents = {}) {
    // The thread has its own copy of every module: it is told the Kafka security too.
    this.worker = new Worker(new URL(import.meta.url), { workerData: { ...settings, kafkaSecurity: kafkaSecurity(), forwardLogs: Boolean(events.onLog) } });
    this.worker.on('message', (reply: Reply | Applied | LogLine) => {
      if ('applied' in reply) {
        events.onApplied?.(reply.applied.table, reply.applied.rows);
        return;
      }
      if ('log' in reply) {
        events.onLog?.(reply.log);
        return;
      }
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (!waiter) return;
      if (reply.ok) waiter.resolve();
      else {
        const { code, message, hint, retriable } = reply.error;
        waiter.reject(new LiteshiftError(code as never, message, { ...(hint ? { hint } : {}), retriable }));
      }
    });
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) => this.failAll(new Error(`loader thread exited (${code})`)));
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  private call(request: Command): Promise<void> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  connect = (): Promise<void> => this.call({ op: 'connect' });
  consume = (): Promise<void> => this.call({ op: 'consume' });
  waitUntil = (until: Record<string, PartitionOffsets>): Promise<void> => this.call({ op: 'waitUntil', until });
  stop = (): Promise<void> => this.call({ op: 'stop' });

  async close(): Promise<void> {
    await this.call({ op: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}

if (!isMainThread && parentPort) {
  const { logLevel, logFormat, kafkaSecurity: security, forwardLogs, ...options } = workerData as LoaderSettings & { kafkaSecurity: KafkaSecurity; forwardLogs: boolean };
  setKafkaSecurity(security);
  const port = parentPort;
  const loader = new Loader({
    ...options,
    log: createLogger({
      service: 'loader',
      level: logLevel,
      format: logFormat,
      ...(forwardLogs ? { write: (line: string) => port.postMessage({ log: line } satisfies LogLine) } : {}),
    }),
    batchLogLevel: 'debug',
  });
  loader.events.on('batch-applied', ({ table, stats }) => port.postMessage({ applied: { table, rows: stats.upserted + stats.rejected } } satisfies Applied));
  port.on('message', (request: Request) => {
    const run = async (): Promise<void> => {
      switch (request.op) {
        case 'connect':
          return loader.connect();
        case 'consume':
          return loader.consume();
        case 'waitUntil':
          return loader.waitUntil(request.until);
        case 'stop':
          return loader.stop();
        case 'close':
          return loader.close();
      }
    };
    run().then(
      () => port.postMessage({ id: request.id, ok: true } satisfies Reply),
      (error: unknown) =>
        port.postMessage({
          id: request.id,
          ok: false,
          error: isLiteshiftError(error)
            ? { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}), retriable: error.retriable }
            : { code: 'INTERNAL', message: errorMessage(error), retriable: false },
        } satisfies Reply),
    );
  });
}
