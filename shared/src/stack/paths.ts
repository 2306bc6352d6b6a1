import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Every Kafka artifact must share one version: Maven Central lacks some 4.4.0 neighbours. */
export const KAFKA_VERSION = '4.3.1';

export function defaultCacheDir(): string {
  const fromEnv = process.env.LITESHIFT_CACHE_DIR;
  return resolve(fromEnv && fromEnv.length > 0 ? fromEnv : join(homedir(), '.cache', 'liteshift'));
}

export function defaultStateDir(cacheDir?: string): string {
  const fromEnv = process.env.LITESHIFT_STACK_DIR;
  if (fromEnv && fromEnv.length > 0) return resolve(fromEnv);
  return join(cacheDir ?? defaultCacheDir(), 'stack');
}

export function kafkaHome(cacheDir: string): string {
  return join(cacheDir, `kafka-${KAFKA_VERSION}`);
}
