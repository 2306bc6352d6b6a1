export { ensureKafkaJars, type EnsureKafkaJarsOptions } from './kafka-jars.js';
export {
  stackDown,
  stackStatus,
  stackUp,
  type StackDownOptions,
  type StackStatus,
  type StackStatusOptions,
  type StackUpOptions,
  type StackUpResult,
} from './kafka-broker.js';
export { defaultCacheDir, defaultStateDir, KAFKA_VERSION } from './paths.js';
export type { StackState } from './state.js';
